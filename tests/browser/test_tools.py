"""The viewer's scientific tools (docs/viewer.md) in real headless Chromium against the real
ImageServer: overlays fixed to image pixels, the readout, region and line, metadata over
time with a threshold, the point tool, the shareable view and the shortcuts. What a user
sees is checked from screenshots (pixel colours) and page text."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer
from tests.browser.conftest import (
    PHONE,
    Viewer,
    close_to,
    new_viewer,
    refuse_foreign,
    start_server,
)

pytestmark = pytest.mark.browser

GREY = 90
CYAN = (0, 229, 255)  # the reticle (day)
YELLOW = (255, 213, 79)  # the region (day)
GREEN = (105, 240, 174)  # the line (day)
NIGHT = (255, 77, 77)  # every mark at night
WHITE = (255, 255, 255)  # the scale bar (day)


@pytest.fixture
def image_server(tmp_path: Path) -> Iterator[ImageServer]:
    """The marks, the charts and the point tool need no raw data: a server that keeps none
    (the region's figures and the line's profile, which do, are in test_tools_figures.py)."""
    server = start_server(tmp_path / "work", keep_raw=False)
    try:
        yield server
    finally:
        server.stop()


def grey(width: int = 400, height: int = 300) -> np.ndarray:
    return np.full((height, width, 3), GREY, np.uint8)


def shot(viewer: Viewer) -> Image.Image:
    """The image area as the user sees it (overlay included), with the controls that float
    over it (the tools' panel, the timeline, banners, zoom buttons) masked in magenta."""
    viewer.settle()
    page = viewer.page
    masks = [page.locator(".tools"), page.locator("#timeline"), page.locator(".banners")]
    data = page.locator("#osd").screenshot(mask=masks, mask_color="#FF00FF")
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.paste((255, 0, 255), (0, 0, 160, 40))  # OpenSeadragon's zoom buttons
    return image


def screen(viewer: Viewer, x: float, y: float) -> tuple[float, float]:
    """Where image position (x, y) is on screen, relative to the image area."""
    p = viewer.page.evaluate(
        "([x, y]) => { const v = framecast.view.osd.viewport;"
        " const w = framecast.tools.overlay.size.width;"
        " const p = v.pixelFromPoint(new OpenSeadragon.Point(x / w, y / w), true);"
        " return [p.x, p.y]; }",
        [x, y],
    )
    return p[0], p[1]


def page_point(viewer: Viewer, x: float, y: float) -> tuple[float, float]:
    """Image position (x, y) in page coordinates (for the mouse)."""
    box = viewer.page.locator("#osd").bounding_box()
    assert box is not None
    sx, sy = screen(viewer, x, y)
    return box["x"] + sx, box["y"] + sy


def near(image: Image.Image, x: float, y: float, colour: tuple[int, int, int], r: int = 2) -> bool:
    """True when a pixel within ``r`` of (x, y) has ``colour``."""
    for dx in range(-r, r + 1):
        for dy in range(-r, r + 1):
            px, py = round(x) + dx, round(y) + dy
            inside = 0 <= px < image.width and 0 <= py < image.height
            if inside and close_to(image.getpixel((px, py)), colour, tolerance=45):
                return True
    return False


def share(image: Image.Image, colour: tuple[int, int, int]) -> float:
    pixels = np.asarray(image, dtype=np.int16)
    return float(np.all(np.abs(pixels - np.array(colour)) <= 45, axis=-1).mean())


def key(viewer: Viewer, name: str) -> None:
    """Press a key on the page (outside the image and any field)."""
    viewer.page.evaluate("document.activeElement && document.activeElement.blur()")
    viewer.page.keyboard.press(name)


def wait_hash(viewer: Viewer, text: str, present: bool = True) -> None:
    viewer.page.wait_for_function(
        "([t, p]) => location.hash.includes(t) === p", arg=[text, present], timeout=10_000
    )


def set_view(viewer: Viewer, zoom: float, x: float, y: float) -> None:
    """Zoom to ``zoom`` × the whole image, centred on image pixel (x, y), and wait for it."""
    viewer.page.evaluate(
        "([z, x, y]) => { const w = framecast.tools.overlay.size.width;"
        " framecast.view.setView({zoom: z, x: x / w, y: y / w}); }",
        [zoom, x, y],
    )
    viewer.page.wait_for_function(
        "z => { const v = framecast.view.view(); return v && Math.abs(v.zoom - z) < 1e-3; }",
        arg=zoom,
    )
    viewer.settle()


def drag(viewer: Viewer, start: tuple[float, float], end: tuple[float, float]) -> None:
    mouse = viewer.page.mouse
    mouse.move(*start)
    mouse.down()
    for i in range(1, 9):
        mouse.move(start[0] + (end[0] - start[0]) * i / 8, start[1] + (end[1] - start[1]) * i / 8)
    mouse.up()


def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


# ---- overlays -----------------------------------------------------------------------------


def test_reticle_marks_the_centre_pixel_and_follows_zoom(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """X puts a reticle on the centre pixel; zoomed 4× elsewhere, it stays on that pixel."""
    viewer.open()
    image_server.publish(grey())
    viewer.wait_seq(1)
    assert share(shot(viewer), CYAN) == 0
    key(viewer, "x")
    wait_hash(viewer, "ret=200,150")
    cx, cy = screen(viewer, 200.5, 150.5)
    image = shot(viewer)
    assert near(image, cx, cy + 60, CYAN) and near(image, cx + 60, cy, CYAN)
    assert not near(image, cx + 60, cy + 60, CYAN)

    set_view(viewer, 4, 190, 142)
    zx, zy = screen(viewer, 200.5, 150.5)
    assert abs(zx - cx) > 50 and abs(zy - cy) > 50  # the pixel moved on screen...
    image = shot(viewer)
    assert near(image, zx, zy + 40, CYAN) and near(image, zx + 40, zy, CYAN)  # ...so did the mark
    assert not near(image, cx, zy + 40, CYAN)

    key(viewer, "x")
    wait_hash(viewer, "ret=", present=False)
    assert share(shot(viewer), CYAN) == 0


def test_reticle_can_be_dragged_to_another_pixel(image_server: ImageServer, viewer: Viewer) -> None:
    """Dragging the reticle's centre moves it by as many image pixels, without panning."""
    viewer.open()
    image_server.publish(grey())
    viewer.wait_seq(1)
    key(viewer, "x")
    wait_hash(viewer, "ret=200,150")
    scale = viewer.page.evaluate("framecast.tools.overlay.scale()")
    start = page_point(viewer, 200.5, 150.5)
    drag(viewer, start, (start[0] + 60, start[1] - 30))
    expected = (200 + round(60 / scale), 150 - round(30 / scale))
    wait_hash(viewer, f"ret={expected[0]},{expected[1]}")
    assert viewer.page.evaluate("framecast.view.view()") is None  # the image did not move
    image = shot(viewer)
    rx, ry = screen(viewer, expected[0] + 0.5, expected[1] + 0.5)
    assert near(image, rx, ry + 50, CYAN)


def test_night_mode_draws_the_marks_in_red(image_server: ImageServer, viewer: Viewer) -> None:
    """At night the reticle is red on black: no cyan left on screen."""
    viewer.open()
    image_server.publish(grey())
    viewer.wait_seq(1)
    key(viewer, "x")
    wait_hash(viewer, "ret=")
    cx, cy = screen(viewer, 200.5, 150.5)
    assert share(shot(viewer), CYAN) > 0
    key(viewer, "n")
    viewer.page.wait_for_function("document.documentElement.classList.contains('night')")
    image = shot(viewer)
    assert share(image, CYAN) == 0
    assert near(image, cx, cy + 60, NIGHT)


def test_scale_bar_from_pixel_size(image_server: ImageServer, viewer: Viewer) -> None:
    """With pixel_size and pixel_unit, M draws a bar of a round length that grows with zoom;
    without them there is none."""
    viewer.open()
    image_server.publish(np.zeros((300, 400, 3), np.uint8), metadata={"pixel_size": 0.5})
    viewer.wait_seq(1)
    key(viewer, "m")
    wait_hash(viewer, "bar=1")
    assert share(shot(viewer), WHITE) == 0  # a size without a unit: no bar
    image_server.publish(
        np.zeros((300, 400, 3), np.uint8), metadata={"pixel_size": 0.5, "pixel_unit": "µm"}
    )
    viewer.wait_seq(2)

    def bar_length() -> int:
        pixels = np.asarray(shot(viewer), dtype=np.int16)
        white = np.all(np.abs(pixels - np.array(WHITE)) <= 45, axis=-1)
        rows = white.sum(axis=1)
        return int(rows.max())

    def expected() -> dict[str, Any]:
        scale = viewer.page.evaluate("framecast.tools.overlay.scale()")
        bar: dict[str, Any] = viewer.page.evaluate(
            "s => import('./js/tools/scalebar.js').then(m => m.scaleBar(0.5, 'µm', s))", scale
        )
        label = viewer.page.get_attribute("canvas.tools-overlay", "data-scale-bar")
        assert label == bar["label"]
        return bar

    home = expected()
    assert abs(bar_length() - home["screen"]) <= 4
    set_view(viewer, 4, 200, 150)
    zoomed = expected()
    assert zoomed["units"] < home["units"]  # a shorter length fits at 4×
    assert abs(bar_length() - zoomed["screen"]) <= 4
    image_server.publish(np.zeros((300, 400, 3), np.uint8), metadata={"note": "no size"})
    viewer.wait_seq(3)
    assert bar_length() < 5


# ---- region and line ---------------------------------------------------------------------


def test_region_is_drawn_moved_shared_and_removed(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """R then a drag draws a region in image pixels; dragging inside moves it; a reload
    reopens it; × removes it."""
    viewer.open()
    image_server.publish(grey())
    viewer.wait_seq(1)
    key(viewer, "r")
    drag(viewer, page_point(viewer, 50.5, 60.5), page_point(viewer, 150.5, 120.5))
    text = viewer.page.locator("#tools-region")
    text.wait_for(state="visible")
    assert text.inner_text().startswith("Region x 50, y 60, 101 × 61 px")
    wait_hash(viewer, "roi=50,60,101,61")
    assert viewer.page.evaluate("framecast.view.view()") is None  # drawing did not pan
    left, top = screen(viewer, 50, 60)
    right, bottom = screen(viewer, 151, 121)
    image = shot(viewer)
    assert near(image, left, (top + bottom) / 2, YELLOW)
    assert near(image, (left + right) / 2, bottom, YELLOW)

    scale = viewer.page.evaluate("framecast.tools.overlay.scale()")
    start = page_point(viewer, 100, 90)
    drag(viewer, start, (start[0] + 40, start[1]))
    moved = 50 + round(40 / scale)
    wait_hash(viewer, f"roi={moved},60,101,61")

    viewer.page.reload()
    viewer.wait_live()
    viewer.wait_seq(1)
    text.wait_for(state="visible")
    assert text.inner_text().startswith(f"Region x {moved}, y 60, 101 × 61 px")
    left, top = screen(viewer, moved, 60)
    right, bottom = screen(viewer, moved + 101, 121)
    assert near(shot(viewer), left, (top + bottom) / 2, YELLOW)

    viewer.page.click("[data-remove=region]")
    text.wait_for(state="hidden")
    wait_hash(viewer, "roi=", present=False)
    assert share(shot(viewer), YELLOW) == 0


def test_line_is_drawn_and_removed_with_the_delete_key(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """/ then a drag draws a line between two pixels; Delete removes it."""
    viewer.open()
    image_server.publish(grey())
    viewer.wait_seq(1)
    key(viewer, "/")
    drag(viewer, page_point(viewer, 20.5, 30.5), page_point(viewer, 300.5, 250.5))
    text = viewer.page.locator("#tools-line")
    text.wait_for(state="visible")
    assert text.inner_text().startswith("Line (20, 30) → (300, 250)")
    wait_hash(viewer, "line=20,30,300,250")
    mx, my = screen(viewer, 160.5, 140.5)
    assert near(shot(viewer), mx, my, GREEN)
    key(viewer, "Delete")
    text.wait_for(state="hidden")
    wait_hash(viewer, "line=", present=False)
    assert share(shot(viewer), GREEN) == 0


# ---- readout ---------------------------------------------------------------------------------


def test_readout_shows_the_pixel_under_the_pointer(chromium: Any, tmp_path: Path) -> None:
    """On a fresh visit, with no tool opened, hovering shows the pointer's image pixel in
    the status line, also when zoomed 4×; it goes when the pointer leaves the image."""
    server = start_server(tmp_path / "work", keep_raw=False)
    context, viewer = new_viewer(chromium, f"http://127.0.0.1:{server.port}/")
    try:
        viewer.open()
        server.publish(grey())
        viewer.wait_seq(1)
        readout = viewer.page.locator("#status-line")
        viewer.page.mouse.move(*page_point(viewer, 123.5, 45.6))
        viewer.page.wait_for_function(
            "document.getElementById('status-line').textContent === 'x 123, y 45'"
        )
        set_view(viewer, 4, 300, 200)
        viewer.page.mouse.move(*page_point(viewer, 310.5, 201.5))
        viewer.page.wait_for_function(
            "document.getElementById('status-line').textContent === 'x 310, y 201'"
        )
        assert viewer.page.locator("#tools-panel").is_hidden()  # no tool was opened
        viewer.page.mouse.move(1, 1)  # off the image
        readout.wait_for(state="hidden")
        assert viewer.errors == [] and viewer.console_errors() == []
    finally:
        context.close()
        server.stop()


def test_touch_and_hold_reads_a_pixel_on_a_phone(chromium: Any, tmp_path: Path) -> None:
    """On a phone, holding a finger still on the image shows that pixel in the status line
    with no tool opened first; the tools fit."""
    server = start_server(tmp_path / "work", keep_raw=False)
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    context.set_default_timeout(10_000)
    refuse_foreign(context)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        viewer = Viewer(page=page, base=f"http://127.0.0.1:{server.port}/")
        viewer.open()  # a fresh visit: no tool opened
        server.publish(grey())
        viewer.wait_seq(1)
        x, y = page_point(viewer, 210.5, 140.5)
        cdp = context.new_cdp_session(page)
        touch = {"x": x, "y": y, "id": 1}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [touch]})
        page.wait_for_function(
            "document.getElementById('status-line').textContent === 'x 210, y 140'"
        )
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        toggle = page.locator("#btn-tools")
        toggle.click()
        panel = page.locator("#tools-panel")
        panel.wait_for(state="visible")
        box = panel.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert errors == []
    finally:
        context.close()
        server.stop()


# ---- metadata over time ---------------------------------------------------------------------

FAKE_NOTIFICATION = """
window.__notifications = [];
window.Notification = class {
  constructor(title, options) { window.__notifications.push([title, options && options.body]); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""


def test_metadata_key_over_time_with_a_threshold(image_server: ImageServer, viewer: Viewer) -> None:
    """A numeric key is plotted over the kept history and live; a frame above the threshold
    shows a banner and, when allowed, a notification; one below does not."""
    viewer.page.context.add_init_script(FAKE_NOTIFICATION)
    viewer.open()
    image_server.publish(grey(), metadata={"temp": 10, "name": "a"})
    viewer.wait_seq(1)
    image_server.publish(grey(), metadata={"temp": 20.25, "name": "b"})
    viewer.wait_seq(2)
    viewer.page.reload()  # what came before is now only in the server's history
    viewer.wait_live()
    viewer.wait_seq(2)
    key(viewer, "g")
    viewer.page.locator("#tools-panel").wait_for(state="visible")
    viewer.page.select_option("#tools-plot-key", "temp")
    last = viewer.page.locator("#tools-plot-last")
    viewer.page.wait_for_function(
        "document.getElementById('tools-plot-last').textContent === 'temp = 20.25 at #2 · 2 frames'"
    )
    assert "name" not in viewer.page.inner_text("#tools-plot-key")  # numbers only
    chart = Image.open(io.BytesIO(viewer.page.locator("#tools-chart").screenshot()))
    assert share(chart.convert("RGB"), (0x8A, 0xB4, 0xF8)) > 0.001

    viewer.page.fill("#tools-th-value", "30")
    viewer.page.press("#tools-th-value", "Enter")
    wait_hash(viewer, "th=above:30")
    viewer.page.check("#tools-notify")
    alert = viewer.page.locator("#tools-alert")
    assert alert.is_hidden()
    image_server.publish(grey(), metadata={"temp": 35.5})
    viewer.wait_seq(3)
    alert.wait_for(state="visible")
    assert alert.inner_text() == "temp = 35.5 is above 30 (frame #3)"
    assert last.inner_text() == "temp = 35.5 at #3 · 3 frames"
    notes = viewer.page.evaluate("window.__notifications")
    assert notes == [["framecast: temp above 30", "temp = 35.5 (frame #3)"]]
    image_server.publish(grey(), metadata={"temp": 29})
    viewer.wait_seq(4)
    alert.wait_for(state="hidden")
    assert len(viewer.page.evaluate("window.__notifications")) == 1


# ---- point to the producer ------------------------------------------------------------------


def test_point_sends_the_exact_pixel_after_zooming(chromium: Any, tmp_path: Path) -> None:
    """With the operator token, P then a click at 4× zoom asks before sending; Send sends
    that image pixel to an on_command("point") handler and the page says what was sent. On
    a phone, × forgets a pixel and a second tap on the same pixel sends it. Without the
    token there is no point tool."""
    server = start_server(tmp_path / "work", token="s3cret")
    received: list[dict[str, Any]] = []
    got = threading.Event()

    def on_point(fields: dict[str, Any]) -> None:
        received.append(dict(fields))
        got.set()

    server.on_command("point", on_point)
    base = f"http://127.0.0.1:{server.port}/"
    try:
        server.publish(grey())
        context, viewer = new_viewer(chromium, base)
        try:
            viewer.open()
            viewer.wait_seq(1)
            viewer.page.wait_for_function("framecast.operatorDecided === true")
            viewer.page.wait_for_function("framecast.tools.control === null")
            assert viewer.page.locator("[data-tool=point]").is_hidden()
            key(viewer, "p")
            assert viewer.page.evaluate("framecast.tools.mode") is None
        finally:
            context.close()

        context, viewer = new_viewer(chromium, base)
        try:
            viewer.open("?token=s3cret")
            viewer.wait_seq(1)
            viewer.page.wait_for_function("framecast.tools.control !== null")
            set_view(viewer, 4, 123.5, 45.5)
            key(viewer, "p")
            assert viewer.page.get_attribute("[data-tool=point]", "aria-pressed") == "true"
            viewer.page.mouse.click(*page_point(viewer, 123.5, 45.5))
            ask = viewer.page.locator("#point-ask")
            ask.wait_for(state="visible")
            assert ask.inner_text().startswith("Send x 123, y 45 to the producer?")
            assert received == []  # asked, not sent
            viewer.page.click("#point-send")
            assert got.wait(10)
            assert received == [{"x": 123, "y": 45, "stream": "default"}]
            reply = viewer.page.locator("#tools-reply")
            reply.wait_for(state="visible")
            assert reply.inner_text() == "sent point x 123, y 45 to the producer"
            assert ask.is_hidden()
            assert viewer.page.evaluate("framecast.view.view().zoom") == pytest.approx(4, 1e-3)

            viewer.page.set_viewport_size(PHONE)
            for banner in ("#access-warning", "#tools-reply"):  # little room on a phone
                viewer.page.click(f"{banner} .dismiss")
            viewer.settle()
            got.clear()
            viewer.page.mouse.click(*page_point(viewer, 118.5, 40.5))
            ask.wait_for(state="visible")
            viewer.page.click("#point-ask .dismiss")  # forgotten, nothing sent
            ask.wait_for(state="hidden")
            viewer.page.mouse.click(*page_point(viewer, 128.5, 50.5))
            viewer.page.wait_for_function(
                "document.querySelector('#point-ask span').textContent"
                ".startsWith('Send x 128, y 50')"
            )
            viewer.page.mouse.click(*page_point(viewer, 128.5, 50.5))
            assert got.wait(10)
            viewer.page.wait_for_function(
                "document.querySelector('#tools-reply span').textContent"
                " === 'sent point x 128, y 50 to the producer'"
            )
            assert received[1:] == [{"x": 128, "y": 50, "stream": "default"}]
            assert viewer.errors == [] and viewer.console_errors() == []
        finally:
            context.close()
    finally:
        server.stop()


# ---- shareable view and shortcuts -----------------------------------------------------------


def test_a_copied_link_reopens_the_same_view_and_tools(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """Zoom, pan, reticle, scale bar, region, line and the plotted key are in the link: a
    new tab opened on it shows them all."""
    image_server.publish(grey(), metadata={"temp": 1, "pixel_size": 2, "pixel_unit": "mm"})
    viewer.open()
    viewer.wait_seq(1)
    set_view(viewer, 2, 180, 140)
    for name in ("x", "m", "t"):
        key(viewer, name)
    key(viewer, "r")
    drag(viewer, page_point(viewer, 170.5, 130.5), page_point(viewer, 190.5, 150.5))
    key(viewer, "/")
    drag(viewer, page_point(viewer, 100.5, 100.5), page_point(viewer, 110.5, 200.5))
    viewer.page.select_option("#tools-plot-key", "temp")
    wait_hash(viewer, "plot=temp")
    link = viewer.page.url
    for part in ("zoom=2.000", "ret=200,150", "bar=1", "roi=170,130,21,21", "line=100,100,110,200"):
        assert part in link

    context, other = new_viewer(viewer.page.context.browser, viewer.base)
    try:
        other.page.goto(link)
        other.wait_live()
        other.wait_seq(1)
        other.page.wait_for_function("framecast.view.view() !== null")
        assert other.page.evaluate("framecast.view.view().zoom") == pytest.approx(2, rel=1e-3)
        assert other.page.locator("#tools-panel").is_visible()
        assert other.page.inner_text("#tools-region").startswith("Region x 170, y 130, 21 × 21")
        assert other.page.inner_text("#tools-line").startswith("Line (100, 100) → (110, 200)")
        assert other.page.input_value("#tools-plot-key") == "temp"
        cx, cy = screen(other, 200.5, 150.5)
        image = shot(other)
        assert near(image, cx, cy + 30, CYAN)
        assert share(image, WHITE) > 0  # the scale bar
        assert other.errors == []
    finally:
        context.close()


def test_every_tool_key_is_listed_and_none_clashes(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """The tools' shortcuts are listed in the page; the history and page keys (L B N , .)
    still do their own thing and open no tool."""
    viewer.open()
    image_server.publish(grey())
    viewer.wait_seq(1)
    listed = viewer.page.evaluate(
        "[...document.querySelectorAll('tr[data-tools] kbd')].map(k => k.textContent)"
    )
    assert listed == [
        *("T", "V", "O", "X", "M", "R", "/", "E", "U", "Q", "Enter", "J", "Z"),
        *("Del", "C", "H", "G", "P", "Y", "K", "Esc"),
    ]
    assert len(set(listed)) == len(listed)  # no key twice
    page_keys = {"l", "b", "n", "i", ",", ".", "?", "w", "a", "s", "d", "0", "+", "-"}
    assert not page_keys & {k.lower() for k in listed}
    for name in ("l", "b", "n"):
        key(viewer, name)
    assert viewer.page.evaluate("location.hash") == ""
    assert viewer.page.locator("#tools-panel").is_hidden()
    key(viewer, "t")
    viewer.page.locator("#tools-panel").wait_for(state="visible")
