"""Room for the image (docs/viewer.md, "Layout") in real headless Chromium against the real
ImageServer, at 1280 × 800 and 390 × 844: the panels leave the image its width, no visible
control overlaps or covers another, every notice can be dismissed and none covers the zoom
buttons, and the tab title says whether the frame on screen is live or looked back at."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer
from tests.browser.conftest import DESKTOP, PHONE, Viewer, new_viewer, start_server
from tests.browser.esmodules import evaluate, needs_node
from tests.browser.test_tools import drag, key, page_point, wait_hash

pytestmark = pytest.mark.browser

#: Every visible control (buttons, fields, menus, link buttons, OpenSeadragon's zoom buttons),
#: the part of it in sight (clipped by its scrolling panels and the window), and whether
#: another one overlaps it or something covers its centre (elementFromPoint is not it).
CONTROLS = """() => {
  const cut = (a, b) => ({l: Math.max(a.l, b.left ?? b.l), t: Math.max(a.t, b.top ?? b.t),
                          r: Math.min(a.r, b.right ?? b.r), b: Math.min(a.b, b.bottom ?? b.b)});
  const name = (e) => e.id || e.getAttribute('aria-label') || e.title || e.textContent.trim();
  const seen = [];
  const selector = 'button, input, select, a.button, .openseadragon-container div[title]';
  for (const e of document.querySelectorAll(selector)) {
    if (!e.checkVisibility({visibilityProperty: true})) continue;
    const r = e.getBoundingClientRect();
    let box = {l: r.left, t: r.top, r: r.right, b: r.bottom};
    for (let p = e.parentElement; p; p = p.parentElement) {
      const style = getComputedStyle(p);
      const clips = /auto|scroll|hidden/.test(style.overflowX + style.overflowY);
      if (clips) box = cut(box, p.getBoundingClientRect());
    }
    box = cut(box, {l: 0, t: 0, r: innerWidth, b: innerHeight});
    if (box.r - box.l < 2 || box.b - box.t < 2) continue;  // scrolled out of sight
    seen.push({e, box, name: name(e)});
  }
  const overlaps = [];
  for (let i = 0; i < seen.length; i += 1) {
    for (let j = i + 1; j < seen.length; j += 1) {
      const c = cut(seen[i].box, seen[j].box);
      if (c.r - c.l > 0.5 && c.b - c.t > 0.5) overlaps.push([seen[i].name, seen[j].name]);
    }
  }
  const covered = [];
  for (const {e, box, name: n} of seen) {
    const hit = document.elementFromPoint((box.l + box.r) / 2, (box.t + box.b) / 2);
    if (!hit || !(hit === e || e.contains(hit))) {
      covered.push([n, hit ? (hit.id || hit.className || hit.tagName) : null]);
    }
  }
  return {names: seen.map((s) => s.name), overlaps, covered};
}"""

#: How much of the window's width the image keeps, and the panels that lie over it.
ROOM = """() => {
  const image = document.getElementById('osd').getBoundingClientRect();
  const over = [];
  for (const p of document.querySelectorAll('.tools-panel, #panel')) {
    if (!p.checkVisibility()) continue;
    const r = p.getBoundingClientRect();
    if (r.left < image.right - 0.5 && r.right > image.left + 0.5
        && r.top < image.bottom - 0.5 && r.bottom > image.top + 0.5) over.push(p.id);
  }
  return {share: image.width / innerWidth, over};
}"""

#: The banners on screen, by id.
BANNERS = "[...document.querySelectorAll('.banner')].filter(b => !b.hidden).map(b => b.id)"


def sky(level: int) -> np.ndarray:
    """A small uint16 frame: `level` everywhere and a bright block."""
    raw = np.full((300, 400), level, np.uint16)
    raw[50:60, 100:120] = 40000
    return raw


def no_clash(viewer: Viewer, *must_see: str) -> list[str]:
    """Assert that no visible control overlaps another or is covered; returns their names
    (which include `must_see`)."""
    found: dict[str, Any] = viewer.page.evaluate(CONTROLS)
    assert found["overlaps"] == [], f"controls overlap: {found['overlaps']}"
    assert found["covered"] == [], f"controls covered (by what): {found['covered']}"
    for name in must_see:
        assert name in found["names"], f"{name} is not in sight: {found['names']}"
    names: list[str] = found["names"]
    return names


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ImageServer]:
    """The real server (history, raw data, control channel), shown on a loopback address:
    the loopback notice shows."""
    srv = start_server(tmp_path / "work")
    try:
        yield srv
    finally:
        srv.stop()


def open_page(chromium: Any, server: ImageServer, viewport: dict[str, int]) -> tuple[Any, Viewer]:
    context, viewer = new_viewer(chromium, f"http://127.0.0.1:{server.port}/", viewport)
    viewer.open()
    for seq, level in enumerate((1000, 1100, 1200), start=1):
        server.publish(sky(level), metadata={"exposure_s": 0.5, "temp": 20 + seq})
        viewer.wait_seq(seq)
    viewer.page.wait_for_function("framecast.operatorDecided === true")
    viewer.page.locator("#access-warning").wait_for(state="visible")
    viewer.page.locator("#timeline").wait_for(state="visible")
    return context, viewer


def look_back_and_return(viewer: Viewer) -> None:
    """◀ shows frame #2 and the title says it is history; Live says live again."""
    page = viewer.page
    page.wait_for_function("document.title === 'Live #3 · framecast'")
    page.click("#btn-back")
    viewer.wait_seq(2)
    page.wait_for_function("document.title === '#2 (history) · framecast'")
    page.click("#btn-live")
    viewer.wait_seq(3)
    page.wait_for_function("document.title === 'Live #3 · framecast'")


def test_desktop_keeps_the_image_wide_with_every_panel_open(
    chromium: Any, server: ImageServer
) -> None:
    """1280 × 800: no control overlaps or covers another, the notices (loopback, the
    operator's reply) among them; each notice is dismissed by its × and stays dismissed; with
    metadata, tools, levels and a region open the image keeps at least 65 % of the width with
    no panel over it, and still no control is covered; the title says `#2 (history)` looking
    back and `Live #3` live."""
    context, viewer = open_page(chromium, server, DESKTOP)
    page = viewer.page
    try:
        assert page.get_attribute("#btn-info", "aria-pressed") == "true"
        page.click("#btn-operator-snapshot")
        page.locator("#operator-reply").wait_for(state="visible")
        no_clash(viewer, "Zoom in", "Toggle full page", "access-dismiss", "btn-tools", "btn-blink")
        shown = page.evaluate(BANNERS)
        assert {"access-warning", "operator-reply"} <= set(shown), shown
        for banner in shown:
            page.locator(f"#{banner} .dismiss").click()
            page.locator(f"#{banner}").wait_for(state="hidden")
        reads = (
            "performance.getEntriesByType('resource')"
            ".filter(e => /api\\/status$/.test(e.name)).length"
        )
        before = page.evaluate(reads)

        page.click("#btn-tools")
        key(viewer, "c")
        page.wait_for_function("framecast.tools.levelsOn && framecast.tools.histogramData !== null")
        key(viewer, "r")
        drag(viewer, page_point(viewer, 90.5, 45.5), page_point(viewer, 129.5, 64.5))
        wait_hash(viewer, "roi=90,45,40,20")
        page.wait_for_function("document.querySelectorAll('#tools-stats dt').length > 5")
        key(viewer, "Escape")
        room: dict[str, Any] = page.evaluate(ROOM)
        assert room["over"] == [], f"panels over the image: {room['over']}"
        assert room["share"] >= 0.65, room
        assert page.locator("#tools-strip").is_visible()
        no_clash(viewer, "Zoom in", "btn-tools", "btn-blink", "tools-strip-clear")

        look_back_and_return(viewer)

        # The page reads the server's status again after a frame once the last read is 5 s
        # old (docs/viewer.md): frames until it has; the warning stays dismissed.
        deadline = time.monotonic() + 30
        seq = 3
        while page.evaluate(reads) == before:
            assert time.monotonic() < deadline, "the page did not read api/status again"
            seq += 1
            server.publish(sky(1000 + seq))
            viewer.wait_seq(seq)
            page.wait_for_timeout(500)  # frames at 2/s: the pace of the poll, not a readiness wait
        viewer.settle()
        assert page.evaluate(BANNERS) == []
        assert viewer.errors == [] and viewer.console_errors() == []
    finally:
        context.close()


def test_phone_controls_never_overlap_and_notices_can_be_dismissed(
    chromium: Any, server: ImageServer
) -> None:
    """390 × 844: at first sight (loopback notice, operator buttons, timeline) and with the
    tools open, no control overlaps or covers another — the notice stays off the zoom
    buttons, the tools off the timeline; Present, in the tools on a phone, presents with
    nothing moving or overlapping; looking back on the phone titles the tab
    `#2 (history)`; the server's "stopped" notice is dismissed by its ×, and stays so."""
    context, viewer = open_page(chromium, server, PHONE)
    page = viewer.page
    try:
        no_clash(viewer, "Zoom in", "Toggle full page", "access-dismiss", "btn-tools", "btn-back")
        page.click("#btn-tools")
        page.locator("#tools-panel").wait_for(state="visible")
        viewer.settle()
        no_clash(viewer, "Zoom in", "access-dismiss", "btn-back", "btn-blink", "btn-live")
        room: dict[str, Any] = page.evaluate(ROOM)
        assert room["over"] == [], f"panels over the image: {room['over']}"
        # A phone presents from its tools (its bar has no room): nothing moves or overlaps.
        image, bar = page.locator("#osd").bounding_box(), page.locator(".bar").bounding_box()
        assert page.locator("#btn-present").is_hidden()
        page.click("#btn-present-sheet")
        page.wait_for_function(
            "document.getElementById('together-note').textContent.includes('You are presenting')"
        )
        assert page.inner_text("#btn-present-sheet") == "Presenting"
        assert page.locator("#osd").bounding_box() == image
        assert page.locator(".bar").bounding_box() == bar
        no_clash(viewer, "Zoom in", "btn-present-sheet", "btn-back", "btn-live")
        page.click("#btn-present-sheet")  # stops presenting
        look_back_and_return(viewer)

        viewer.expect_network_errors = True  # the page's attempts to reconnect
        server.stop()
        notice = page.locator("#notice")
        notice.wait_for(state="visible")
        assert "Server stopped" in notice.inner_text()
        no_clash(viewer, "Zoom in", "notice-dismiss")
        page.click("#notice-dismiss")
        notice.wait_for(state="hidden")
        # Reconnection attempts go on (the status says so); the notice stays dismissed.
        page.wait_for_function(
            "document.getElementById('status-text').textContent.includes('waiting for it')"
        )
        assert notice.is_hidden()
        assert viewer.errors == [] and viewer.console_errors() == []
    finally:
        context.close()


def line_height_at(viewer: Viewer) -> tuple[list[float], dict[str, Any]]:
    """Where the strip chart's line is drawn, as a share of its plot's height (0 bottom, 1
    top), at 0 %, 25 %, 50 %, 75 % and 100 % of the plot's width; and what the chart drew
    (its axes' labels and its plot area, in canvas pixels)."""
    canvas = viewer.page.locator("#tools-strip")
    canvas.scroll_into_view_if_needed()
    viewer.settle()
    shot = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB"), np.int16)
    # the line's blue, also where it is anti-aliased against the dark background
    line = (shot[..., 2] - shot[..., 0] > 40) & (shot[..., 2] > 80)
    axes: dict[str, Any] = viewer.page.evaluate("framecast.tools.figures.strip.axes")
    area = axes["area"]
    heights = []
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = round(area["left"] + share * (area["right"] - area["left"]))
        rows = np.flatnonzero(line[:, max(0, x - 1) : x + 2].any(axis=1))
        assert rows.size, f"no line at {share:.0%} of the width"
        middle = (rows[0] + rows[-1]) / 2
        heights.append((area["bottom"] - middle) / (area["bottom"] - area["top"]))
    return heights, axes


def test_strip_chart_has_axes_and_spans_its_height(chromium: Any, server: ImageServer) -> None:
    """A region drawn on a frame whose mean is 6813, then 20 frames with means 1…20: the
    strip chart leaves out the 6813 (drawn before), its y axis reads within 1…20 and its x
    axis frame numbers #2…#21, and the line climbs the plot's whole height, at 1280 × 800 and
    390 × 844; Clear empties it until the next frame."""
    context, viewer = new_viewer(chromium, f"http://127.0.0.1:{server.port}/")
    page = viewer.page
    try:
        viewer.open()
        server.publish(np.full((300, 400), 6813, np.uint16))
        viewer.wait_seq(1)
        key(viewer, "r")
        drag(viewer, page_point(viewer, 200.5, 150.5), page_point(viewer, 239.5, 169.5))
        wait_hash(viewer, "roi=200,150,40,20")
        note = "document.getElementById('tools-strip-note').textContent"
        page.wait_for_function(f"{note} === 'mean: the chart starts with the next frame'")
        for mean in range(1, 21):
            server.publish(np.full((300, 400), mean, np.uint16))
            page.wait_for_function(
                f"{note}.startsWith('mean = {mean} at #{mean + 1} ')", timeout=20_000
            )
        for size in (DESKTOP, PHONE):
            page.set_viewport_size(size)
            heights, axes = line_height_at(viewer)
            # a ramp: the line climbs from the bottom to the top, through the middle
            expected = [0.0, 0.25, 0.5, 0.75, 1.0]
            assert all(abs(h - e) <= 0.1 for h, e in zip(heights, expected, strict=True)), heights
            assert axes["x"] and all(label.startswith("#") for label in axes["x"]), axes
            assert all(2 <= int(label[1:]) <= 21 for label in axes["x"]), axes
            assert axes["y"] and all(1 <= float(label) <= 20 for label in axes["y"]), axes
        page.click("#tools-strip-clear")
        page.wait_for_function(f"{note} === 'mean: the chart starts with the next frame'")
        assert page.evaluate("framecast.tools.figures.strip.axes") is None
        assert viewer.errors == [] and viewer.console_errors() == []
    finally:
        context.close()


@needs_node
def test_chart_ticks_are_round_and_read_as_written() -> None:
    """A chart's ticks are 1, 2 or 5 × 10ⁿ apart inside the values' range, frame numbers
    never fall between two frames, and tick labels carry the digits their step needs."""
    got = evaluate(
        "tools/chart.js",
        """
      const t = (lo, hi, n, o) => m.niceTicks(lo, hi, n, o).ticks;
      return {ramp: t(1, 20, 4), profile: t(128, 3180, 5), frames: t(2, 4, 6, {integers: true}),
              one: t(7, 7, 4, {integers: true}), small: t(0.1, 0.35, 4),
              texts: [m.tickText(1200, 200), m.tickText(2.5, 0.5), m.tickText(0.25, 0.05),
                      m.tickText(1e-7, 1e-7), m.tickText(3e-17, 0.5)]};
    """,
    )
    assert got["ramp"] == [5, 10, 15, 20]
    assert got["profile"] == [1000, 2000, 3000]
    assert got["frames"] == [2, 3, 4]
    assert got["one"] == [7]
    assert got["small"] == pytest.approx([0.1, 0.2, 0.3])
    assert got["texts"] == ["1200", "2.5", "0.25", "1e-7", "0"]
