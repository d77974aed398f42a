"""Presenting and following in two real pages (docs/together.md): the follower shows the
presenter's zoom, pan, frame, levels, stretch and colormap within 0.5 s, its address shows
that view, its own zoom stops following, f follows again, and the presenter leaving ends it.
The follower is behind a proxy that blocks WebSockets: it follows over ``/events``.

With ``FRAMECAST_SCREENSHOTS=DIR`` set, the test also photographs both pages for the docs
(docs/img/together-*.png)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from framecast import ImageServer
from tests.browser.conftest import Viewer, new_viewer, start_server
from tests.browser.test_viewer import BLOCK_WS

pytestmark = pytest.mark.browser

#: What the follower's page says of the presenter's view, in one evaluation.
SHOWN = """() => ({
  hash: location.hash,
  view: framecast.view.view(),
  seq: framecast.timeline.seq,
  colormap: framecast.tools.state.colormap,
  stretch: framecast.tools.state.stretch,
  levels: framecast.tools.state.levels,
  following: document.getElementById('btn-follow').getAttribute('aria-pressed'),
  note: document.getElementById('together-note').textContent,
})"""


def frame(step: int) -> np.ndarray:
    """A small 12-bit frame: a bright spot that moves with ``step``."""
    y, x = np.mgrid[0:300, 0:400]
    spot = 3000 * np.exp(-(((x - 120 - 30 * step) / 30) ** 2 + ((y - 150) / 25) ** 2))
    return (spot + 200).astype(np.uint16)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ImageServer]:
    server = start_server(tmp_path / "work", alerts=["step>1"])
    try:
        yield server
    finally:
        server.stop()


def _open(chromium: Any, server: ImageServer, *, blocked: bool = False) -> tuple[Any, Viewer]:
    """A page of ``server``; ``blocked``: behind a proxy that refuses WebSockets."""
    context, viewer = new_viewer(chromium, f"http://127.0.0.1:{server.port}/")
    if blocked:
        viewer.expect_network_errors = True  # the refused WebSocket attempts are logged
        context.add_init_script(BLOCK_WS)
    viewer.open()
    return context, viewer


#: Now, in epoch ms, by a page's own clock (both pages run on this machine).
NOW = "performance.timeOrigin + performance.now()"

#: In the follower: note when (epoch ms) PREDICATE first holds of SHOWN, looked at every 5 ms
#: in the page itself (the test's own round trips to the browser are not counted).
WATCH = """() => {
  window.shownAt = null;
  const shown = SHOWN, holds = PREDICATE;
  const timer = setInterval(() => {
    if (!holds(shown())) return;
    window.shownAt = NOW;
    clearInterval(timer);
  }, 5);
}"""


#: In the presenter: note when (epoch ms) its page gets each key or change of a control,
#: before any of its own handlers (a busy page may take a while to get the event at all).
CHANGES = """() => {
  for (const type of ["keydown", "change"]) {
    document.addEventListener(type, () => { window.changedAt = NOW; }, { capture: true });
  }
}""".replace("NOW", NOW)


def _until(viewer: Viewer, predicate: str, *, within: float) -> float:
    """Seconds until ``predicate`` (a JS function of SHOWN's object) holds on the page."""
    started = time.monotonic()
    viewer.page.wait_for_function(f"() => ({predicate})(({SHOWN})())", timeout=10_000)
    took = time.monotonic() - started
    assert took < within, f"took {took:.2f} s"
    return took


def _followed(
    presenter: Viewer, follower: Viewer, predicate: str, change: Callable[[], Any]
) -> float:
    """Seconds from the presenter's page getting ``change`` until the follower's page shows
    what ``predicate`` says, by the pages' own clocks: the contract's 0.5 s."""
    watch = WATCH.replace("SHOWN", SHOWN).replace("PREDICATE", predicate).replace("NOW", NOW)
    follower.page.evaluate(watch)
    presenter.page.evaluate("window.changedAt = null")
    change()
    follower.page.wait_for_function("window.shownAt !== null", timeout=10_000)
    took = (follower.page.evaluate("window.shownAt") - presenter.page.evaluate("changedAt")) / 1000
    assert took < 0.5, f"the follower showed it {took:.2f} s after the presenter's change"
    return took


def test_a_follower_shows_the_presenters_view_until_it_moves(
    chromium: Any, served: ImageServer
) -> None:
    """Both pages of one stream, the follower on /events: Present in one, f in the other; each
    change of the presenter's (zoom and pan, an earlier frame, levels with a stretch and a
    colormap) is on the follower's screen within 0.5 s by the pages' own clocks, in its address
    too; the follower's wheel stops following and f follows again; the presenter leaving ends
    it. An alert rule the third frame crossed shows its banner in both pages."""
    p_context, presenter = _open(chromium, served)
    f_context, follower = _open(chromium, served, blocked=True)
    try:
        assert follower.page.inner_text("#status-text") == "live (event stream)"
        follower.page.click("#btn-present")  # a page on /events only listens: it says so
        assert "Cannot present: this page's connection only listens" in follower.page.inner_text(
            "#together-note"
        )
        assert follower.page.inner_text("#btn-present") == "Present"
        for step in range(3):
            served.publish(frame(step), metadata={"step": step})
            presenter.wait_seq(step + 1)
        follower.wait_seq(3)
        # The third frame crossed the server's alert rule: both pages say so.
        for page in (presenter, follower):
            page.page.wait_for_selector("#server-alert:not([hidden])")
            assert page.page.inner_text("#server-alert") == "Alert step>1: step = 2 at frame #3"
        presenter.page.evaluate(CHANGES)
        presenter.page.click("#btn-present")
        presenter.page.wait_for_function(
            "document.getElementById('together-note').textContent.includes('You are presenting')"
        )
        follower.page.wait_for_selector("#btn-follow:not([hidden])")
        assert "Someone is presenting" in follower.page.inner_text("#together-note")
        follower.page.keyboard.press("f")

        zoom = f"window.changedAt = {NOW}, framecast.view.setView({{zoom: 3, x: 0.3, y: 0.25}})"
        _followed(
            presenter,
            follower,
            "s => s.view && Math.abs(s.view.zoom - 3) < 0.01",
            lambda: presenter.page.evaluate(zoom),
        )
        shown = follower.page.evaluate(SHOWN)
        assert "zoom=3.000" in shown["hash"] and shown["following"] == "true"
        assert abs(shown["view"]["x"] - 0.3) < 0.01 and abs(shown["view"]["y"] - 0.25) < 0.01

        # An earlier frame: its number is followed at once; the frame's pixels then load.
        _followed(
            presenter,
            follower,
            "s => s.seq === 2 && s.hash.includes('frame=2')",
            lambda: presenter.page.keyboard.press(","),
        )
        follower.wait_seq(2)

        presenter.page.keyboard.press("c")  # levels on the raw data
        presenter.page.select_option("#tools-stretch", "log")
        _followed(
            presenter,
            follower,
            "s => s.colormap === 'viridis' && s.stretch === 'log'",
            lambda: presenter.page.select_option("#tools-cmap", "viridis"),
        )
        assert "cm=viridis" in follower.page.evaluate("location.hash")
        if os.environ.get("FRAMECAST_SCREENSHOTS"):
            _photograph(Path(os.environ["FRAMECAST_SCREENSHOTS"]), presenter, follower)

        box = follower.page.locator("#osd").bounding_box()
        follower.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        follower.page.mouse.wheel(0, -300)  # the follower zooms: no longer following
        _until(follower, "s => s.following === 'false' && s.note.includes('no longer')", within=5)
        presenter.page.evaluate("framecast.view.setView({zoom: 2, x: 0.5, y: 0.35})")
        presenter.page.wait_for_function("location.hash.includes('zoom=2.000')")
        # The presenter's next view is heard, not shown, and the note still says why.
        follower.page.wait_for_function("framecast.follow.theirs.view.includes('zoom=2.000')")
        shown = follower.page.evaluate(SHOWN)
        assert shown["following"] == "false" and "no longer" in shown["note"], shown
        follower.page.keyboard.press("f")  # follows again: the presenter's view now
        _until(follower, "s => s.view && Math.abs(s.view.zoom - 2) < 0.01", within=5)

        p_context.close()  # the presenter leaves
        _until(follower, "s => s.note.includes('stopped presenting')", within=5)
        assert follower.page.locator("#btn-follow").is_hidden()
        assert follower.errors == [] and follower.console_errors() == []
        assert presenter.errors == [] and presenter.console_errors() == []
    finally:
        f_context.close()
        p_context.close()


def _photograph(folder: Path, presenter: Viewer, follower: Viewer) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    presenter.settle()
    follower.settle()
    presenter.page.screenshot(path=str(folder / "together-presenter.png"))
    follower.page.screenshot(path=str(folder / "together-follower.png"))
