"""Presenting and following in two real pages (docs/together.md): the follower shows the
presenter's zoom, pan, frame, levels, stretch and colormap, its address shows that view, its
own zoom stops following, f follows again, and the presenter leaving ends it.

With ``FRAMECAST_SCREENSHOTS=DIR`` set, the test also photographs both pages for the docs
(docs/img/together-*.png)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from framecast import ImageServer
from tests.browser.conftest import Viewer, new_viewer, start_server

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


def _open(chromium: Any, server: ImageServer) -> tuple[Any, Viewer]:
    context, viewer = new_viewer(chromium, f"http://127.0.0.1:{server.port}/")
    viewer.open()
    return context, viewer


def _until(viewer: Viewer, predicate: str, *, within: float) -> float:
    """Seconds until ``predicate`` (a JS function of SHOWN's object) holds on the page."""
    started = time.monotonic()
    viewer.page.wait_for_function(f"() => ({predicate})(({SHOWN})())", timeout=10_000)
    took = time.monotonic() - started
    assert took < within, f"took {took:.2f} s"
    return took


def test_a_follower_shows_the_presenters_view_until_it_moves(
    chromium: Any, served: ImageServer
) -> None:
    """Both pages of one stream: Present in one, f in the other; each change of the presenter's
    (zoom and pan, an earlier frame, levels with a stretch and a colormap) is the follower's
    within 0.5 s (a margin for the loaded test machine on top), in its address too; the
    follower's wheel stops following and f follows again; the presenter leaving ends it. An
    alert rule the third frame crossed shows its banner in both pages."""
    p_context, presenter = _open(chromium, served)
    f_context, follower = _open(chromium, served)
    try:
        for step in range(3):
            served.publish(frame(step), metadata={"step": step})
            presenter.wait_seq(step + 1)
        follower.wait_seq(3)
        # The third frame crossed the server's alert rule: both pages say so.
        for page in (presenter, follower):
            page.page.wait_for_selector("#server-alert:not([hidden])")
            assert page.page.inner_text("#server-alert") == "Alert step>1: step = 2 at frame #3"
        presenter.page.click("#btn-present")
        presenter.page.wait_for_function(
            "document.getElementById('together-note').textContent.includes('You are presenting')"
        )
        follower.page.wait_for_selector("#btn-follow:not([hidden])")
        assert "Someone is presenting" in follower.page.inner_text("#together-note")
        follower.page.keyboard.press("f")

        presenter.page.evaluate("framecast.view.setView({zoom: 3, x: 0.3, y: 0.25})")
        _until(follower, "s => s.view && Math.abs(s.view.zoom - 3) < 0.01", within=1.5)
        shown = follower.page.evaluate(SHOWN)
        assert "zoom=3.000" in shown["hash"] and shown["following"] == "true"
        assert abs(shown["view"]["x"] - 0.3) < 0.01 and abs(shown["view"]["y"] - 0.25) < 0.01

        presenter.page.keyboard.press(",")  # an earlier frame
        _until(follower, "s => s.seq === 2 && s.hash.includes('frame=2')", within=1.5)
        follower.wait_seq(2)

        presenter.page.keyboard.press("c")  # levels on the raw data
        presenter.page.select_option("#tools-stretch", "log")
        presenter.page.select_option("#tools-cmap", "viridis")
        _until(follower, "s => s.colormap === 'viridis' && s.stretch === 'log'", within=1.5)
        assert "cm=viridis" in follower.page.evaluate("location.hash")
        if os.environ.get("FRAMECAST_SCREENSHOTS"):
            _photograph(Path(os.environ["FRAMECAST_SCREENSHOTS"]), presenter, follower)

        box = follower.page.locator("#osd").bounding_box()
        follower.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        follower.page.mouse.wheel(0, -300)  # the follower zooms: no longer following
        _until(follower, "s => s.following === 'false' && s.note.includes('no longer')", within=5)
        presenter.page.evaluate("framecast.view.setView({zoom: 2, x: 0.5, y: 0.35})")
        presenter.page.wait_for_function("location.hash.includes('zoom=2.000')")
        follower.page.keyboard.press("f")  # follows again: the presenter's view now
        _until(follower, "s => s.view && Math.abs(s.view.zoom - 2) < 0.01", within=5)

        p_context.close()  # the presenter leaves
        _until(follower, "s => s.note.includes('stopped presenting')", within=5)
        assert follower.page.locator("#btn-follow").is_hidden()
        assert follower.errors == [] and follower.console_errors() == []
    finally:
        f_context.close()
        p_context.close()


def _photograph(folder: Path, presenter: Viewer, follower: Viewer) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    presenter.settle()
    follower.settle()
    presenter.page.screenshot(path=str(folder / "together-presenter.png"))
    follower.page.screenshot(path=str(folder / "together-follower.png"))
