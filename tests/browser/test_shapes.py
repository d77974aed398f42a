"""Overlays and shared marks drawn in real headless Chromium (docs/together.md): two pages see
the same mark within 0.5 s, the Mark tool makes one, and the producer's overlays are drawn
with their frame only — live and looking back — and hidden by the toggle (the SVG elements
over the image)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import numpy as np
import pytest

from framecast import ImageServer
from tests.browser.conftest import Viewer, new_viewer, start_server

pytestmark = pytest.mark.browser

CIRCLE = {"shape": "circle", "x": 100, "y": 80, "r": 20, "text": "beam", "colour": "#0f0"}
SHARED = "#image svg.shape-layer [data-group=shared]"
OVERLAYS = "#image svg.shape-layer [data-group=overlays]"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ImageServer]:
    srv = start_server(tmp_path / "work")
    try:
        yield srv
    finally:
        srv.stop()


def pages(chromium: Any, server: ImageServer, count: int) -> Iterator[list[Viewer]]:
    contexts, viewers = [], []
    for _ in range(count):
        context, viewer = new_viewer(chromium, server.url)
        contexts.append(context)
        viewers.append(viewer)
    try:
        yield viewers
        for viewer in viewers:
            assert viewer.errors == [] and viewer.console_errors() == []
            assert viewer.foreign_requests() == []
    finally:
        for context in contexts:
            context.close()


def post_mark(server: ImageServer, mark: dict[str, Any]) -> dict[str, Any]:
    request = Request(f"{server.url}api/marks", data=json.dumps(mark).encode(), method="POST")
    with urlopen(request, timeout=5) as response:
        assert response.status == 201
        return dict(json.load(response))


def drawn(viewer: Viewer, group: str) -> list[dict[str, str | None]]:
    """The shapes drawn in ``group`` of the page's shape layer (kind, id, text), a shape's
    text as a "label" after it."""
    return list(
        viewer.page.evaluate(
            """group => [...document.querySelectorAll(
                   `svg.shape-layer [data-group=${group}] :is([data-shape], [data-label])`)]
                 .map(e => ({shape: e.dataset.shape || 'label', id: e.dataset.id || null,
                 text: e.tagName === 'text' ? e.textContent : null}))""",
            group,
        )
    )


def test_two_pages_see_the_same_mark_within_half_a_second(
    chromium: Any, server: ImageServer
) -> None:
    """A mark posted for the stream appears over the image of two open pages within 0.5 s
    (timed by the page's own clock); one made with the Mark tool (k, a click, a text) is
    drawn in both; deleting it from the list removes it from both; a drag draws a rectangle;
    a page opened afterwards draws the marks left."""
    server.publish(np.full((160, 200), 90, np.uint8))
    for viewers in pages(chromium, server, 2):
        for viewer in viewers:
            viewer.open()
            viewer.wait_seq(1)
        first, second = viewers
        second.page.evaluate(
            """() => { window.markSeen = new Promise(done => {
                 const layer = document.querySelector('svg.shape-layer');
                 const seen = () => layer.querySelector('[data-group=shared] circle');
                 new MutationObserver(() => { if (seen()) done(Date.now()); })
                   .observe(layer, {childList: true, subtree: true});
               }); }"""
        )
        start = second.page.evaluate("Date.now()")
        mark = post_mark(server, CIRCLE)
        seen = second.page.evaluate("window.markSeen")
        assert seen - start < 500, f"the mark took {seen - start} ms to appear"
        first.page.wait_for_selector(f"{SHARED} [data-id='{mark['id']}']")

        first.page.once("dialog", lambda dialog: dialog.accept("comet?"))
        first.page.keyboard.press("k")
        first.page.locator("#osd").click(position={"x": 300, "y": 200})
        for viewer in viewers:
            viewer.page.wait_for_function(
                "s => document.querySelectorAll(s).length === 2", arg=f"{SHARED} [data-shape]"
            )
        made = [s for s in drawn(second, "shared") if s["shape"] == "point"]
        assert len(made) == 1 and made[0]["id"]
        assert {"shape": "label", "id": None, "text": "comet?"} in drawn(second, "shared")

        # The Mark tool opened the tools panel, with the marks' list.
        first.page.click(f"[data-mark-id='{made[0]['id']}']")
        for viewer in viewers:
            viewer.page.wait_for_function(
                "s => !document.querySelector(s)", arg=f"[data-id='{made[0]['id']}']"
            )

        first.page.select_option("#tools-mark-shape", "rectangle")  # a drag draws one
        first.page.once("dialog", lambda dialog: dialog.accept(""))
        box = first.page.locator("#osd").bounding_box()
        assert box is not None
        # Below the banners at the top of the image (the "marked … for everyone" reply).
        first.page.mouse.move(box["x"] + 200, box["y"] + 420)
        first.page.mouse.down()
        first.page.mouse.move(box["x"] + 260, box["y"] + 470, steps=5)
        first.page.mouse.up()
        second.page.wait_for_selector(f"{SHARED} rect[data-shape=rectangle]")
    for (late,) in pages(chromium, server, 1):
        late.open()
        late.page.wait_for_selector(f"{SHARED} [data-id='{mark['id']}']")
        assert [s["shape"] for s in drawn(late, "shared")] == ["circle", "label", "rectangle"]


def test_overlays_are_drawn_with_their_frame_only_and_hidden_by_the_toggle(
    chromium: Any, server: ImageServer
) -> None:
    """A frame's overlays are drawn while it is live and gone with the next frame (which has
    none); looking back at it draws them again; y hides them (ov=0 in the URL) and shows
    them again; blinking draws them with their frame's turns only. A mark made on frame 1
    is drawn with frame 1 only."""
    polygon = {"shape": "polygon", "points": [[10, 10], [60, 10], [30, 50]]}
    for (viewer,) in pages(chromium, server, 1):
        viewer.open()
        server.publish(np.full((160, 200), 60, np.uint8), overlays=[CIRCLE, polygon])
        viewer.wait_seq(1)
        viewer.page.wait_for_selector(f"{OVERLAYS} circle")
        assert [s["shape"] for s in drawn(viewer, "overlays")] == ["circle", "label", "polygon"]
        server.publish(np.full((160, 200), 200, np.uint8))
        viewer.wait_seq(2)
        viewer.page.wait_for_function("s => !document.querySelector(s)", arg=f"{OVERLAYS} circle")
        # A mark made on frame 1 (seq 1) belongs to it: not drawn over frame 2.
        mark = post_mark(server, {"shape": "point", "x": 5, "y": 5, "seq": 1})
        on_frame_one = f"{SHARED} [data-id='{mark['id']}']"
        viewer.page.wait_for_function("framecast.tools.marks.marks.length === 1")  # it is known
        viewer.settle()
        assert drawn(viewer, "shared") == []
        viewer.page.click("#btn-back")
        viewer.wait_seq(1)
        viewer.page.wait_for_selector(f"{OVERLAYS} circle")
        viewer.page.wait_for_selector(on_frame_one)
        viewer.page.keyboard.press("y")
        viewer.page.wait_for_function("s => !document.querySelector(s)", arg=f"{OVERLAYS} circle")
        assert "ov=0" in viewer.page.evaluate("location.hash")
        assert viewer.page.get_attribute("[data-tool=overlays]", "aria-pressed") == "false"
        viewer.page.keyboard.press("y")
        viewer.page.wait_for_selector(f"{OVERLAYS} circle")
        assert "ov=0" not in viewer.page.evaluate("location.hash")
        viewer.page.keyboard.press("b")  # blink: frame 1 with its circle, frame 2 without
        for present in (False, True, False):
            viewer.page.wait_for_function(
                "([s, p]) => Boolean(document.querySelector(s)) === p",
                arg=[f"{OVERLAYS} circle", present],
            )
