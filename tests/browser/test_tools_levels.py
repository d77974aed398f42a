"""Levels per viewer on raw tiles, the saturation highlight and the readout of raw values
(docs/viewer.md), in real headless Chromium against the real ImageServer and its raw tiles
(docs/science.md)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer
from tests.browser.conftest import Viewer, close_to, new_viewer
from tests.browser.test_history import require_history, wait_text

pytestmark = pytest.mark.browser


def record_raw(viewer: Viewer) -> list[str]:
    """The raw-tile requests the page makes, as they happen."""
    requests: list[str] = []
    viewer.page.on("request", lambda r: requests.append(r.url) if "/raw/" in r.url else None)
    return requests


def shot(viewer: Viewer) -> Image.Image:
    """The image area with the tools' panel out of the way for the photograph."""
    tools = viewer.page.locator(".tools")
    tools.evaluate("e => { e.style.visibility = 'hidden'; }")
    viewer.settle()
    try:
        data = viewer.page.locator("#osd").screenshot()
    finally:
        tools.evaluate("e => { e.style.visibility = ''; }")
    return Image.open(io.BytesIO(data)).convert("RGB")


def screen(viewer: Viewer, x: float, y: float) -> tuple[int, int]:
    p = viewer.page.evaluate("([x, y]) => framecast.tools.overlay.toScreen(x, y)", [x, y])
    return round(p["x"]), round(p["y"])


def expect_readout(viewer: Viewer, x: int, y: int, value: str) -> None:
    """Point at pixel (x, y) and wait until the readout says ``x X, y Y: value``."""
    box = viewer.page.locator("#osd").bounding_box()
    assert box is not None
    x_s, y_s = screen(viewer, x + 0.5, y + 0.5)
    viewer.page.mouse.move(box["x"] + x_s, box["y"] + y_s)
    viewer.page.wait_for_function(
        "t => document.getElementById('status-line').textContent === t",
        arg=f"x {x}, y {y}: {value}",
    )


def wait_raw_on_screen(viewer: Viewer) -> None:
    viewer.page.wait_for_function(
        "framecast.view.current && framecast.view.current.key.endsWith('|raw')"
        " && framecast.view.current.item.getFullyLoaded()"
    )
    viewer.page.wait_for_function("framecast.tools.histogramData !== null")
    viewer.settle()


def gradient(width: int = 600, height: int = 400) -> np.ndarray:
    """uint16 from 1000 (left) to 40000 (right): far beyond 8 bits."""
    row = np.linspace(1000, 40000, width).round().astype(np.uint16)
    return np.tile(row, (height, 1))


def levels_on(
    image_server: ImageServer, viewer: Viewer, *frames: np.ndarray, path: str = ""
) -> None:
    """Open the page (at ``path``, e.g. ``#ro=1``), publish ``frames`` (seq 1, 2, …) and
    turn levels on: C, then wait until the raw tiles are on screen."""
    viewer.open(path)
    for seq, frame in enumerate(frames, 1):
        image_server.publish(frame)
        viewer.wait_seq(seq)
    viewer.page.evaluate("document.activeElement && document.activeElement.blur()")
    viewer.page.keyboard.press("c")
    wait_raw_on_screen(viewer)


def test_levels_recolour_raw_tiles_without_a_request(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """C shows the frame's raw tiles with auto levels (dark left, bright right); a colormap,
    a stretch and typed black/white points repaint it with no request at all."""
    raw = gradient()
    requests = record_raw(viewer)
    levels_on(image_server, viewer, raw)
    assert requests, "levels did not switch to the raw tiles"
    left, mid_y = screen(viewer, 20, 200)
    right, _ = screen(viewer, 580, 200)
    image = shot(viewer)
    assert sum(image.getpixel((left, mid_y))) < 60
    assert min(image.getpixel((right, mid_y))) > 200

    loaded = len(requests)
    viewer.page.select_option("#tools-cmap", "viridis")
    viewer.page.wait_for_function("location.hash.includes('cm=viridis')")
    image = shot(viewer)
    assert close_to(image.getpixel((right, mid_y)), (0xFD, 0xE7, 0x25), 30)
    assert close_to(image.getpixel((left, mid_y)), (0x44, 0x01, 0x54), 30)

    viewer.page.select_option("#tools-cmap", "grey")
    viewer.page.fill("#tools-black", "20000")
    viewer.page.fill("#tools-white", "20001")
    viewer.page.press("#tools-white", "Enter")
    viewer.page.wait_for_function("location.hash.includes('lv=20000,20001')")
    image = shot(viewer)
    x_below, _ = screen(viewer, 290, 200)  # 1000 + 290/599·39000 ≈ 19881
    x_above, _ = screen(viewer, 310, 200)  # ≈ 21184
    assert image.getpixel((x_below, mid_y)) == (0, 0, 0)
    assert image.getpixel((x_above, mid_y)) == (255, 255, 255)
    assert len(requests) == loaded, "a change of levels sent requests"
    assert viewer.page.get_attribute("#tools-auto", "aria-pressed") == "false"  # held


def test_readout_gives_raw_values_from_tiles_in_memory(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """With levels on, the readout shows the raw value exactly as published (a whole float
    as an integer: 40000, -12; 3.25e-05, NaN), read from the tiles in memory."""
    raw = np.zeros((300, 400), np.float32)
    raw[10, 20] = 3.25e-05
    raw[11, 20] = -12
    raw[12, 20] = 40000
    raw[13, 20] = np.nan
    levels_on(image_server, viewer, raw, path="#ro=1")
    viewer.page.evaluate("framecast.view.setView({zoom: 4, x: 20.5 / 400, y: 11.5 / 400})")
    viewer.page.wait_for_function(
        "framecast.view.current.item.getFullyLoaded() && framecast.view.view().zoom > 3.9"
    )
    for y, text in ((10, "3.25e-05"), (11, "-12"), (12, "40000"), (13, "NaN")):
        expect_readout(viewer, 20, y, text)


def test_readout_of_a_64_bit_frame_is_exact(image_server: ImageServer, viewer: Viewer) -> None:
    """An int64 frame (numpy's default integers) is shown with levels on, and the readout
    gives a value beyond 2^53 exactly as published, from the tiles in memory; the pixel
    table too, from the server's JSON."""
    raw = np.tile(np.arange(400, dtype=np.int64) * 1000, (300, 1))
    raw[150, 200] = 2**60 + 3
    levels_on(image_server, viewer, raw, path="#ro=1")
    in_memory = "String(framecast.view.current.item.source.valueAt(200, 150).value)"
    assert viewer.page.evaluate(in_memory) == str(2**60 + 3)
    expect_readout(viewer, 200, 150, str(2**60 + 3))
    viewer.page.wait_for_function(  # the pixel table too (asked of /api/pixel?r=)
        "t => { const c = document.querySelector('#tools-pixels td.centre');"
        " return c !== null && c.textContent === t; }",
        arg=str(2**60 + 3),
    )


def test_levels_belong_to_one_viewer(image_server: ImageServer, viewer: Viewer) -> None:
    """Levels in one page change nothing for another: it stays on the JPEG, asking no raw
    tile."""
    raw = gradient()
    record_raw(viewer)
    levels_on(image_server, viewer, raw)
    context, other = new_viewer(viewer.page.context.browser, viewer.base)
    try:
        other.open()
        other.wait_seq(1)
        assert not any("/raw/" in url for url in other.requests)
        assert other.page.locator("#tools-levels").is_hidden()
    finally:
        context.close()


def test_saturation_highlight_paints_saturated_pixels_red(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """H paints the pixels at the dtype's maximum (uint16: 65535) red, and only those."""
    raw = np.full((300, 400), 30000, np.uint16)
    raw[100:200, 50:150] = 65535
    record_raw(viewer)
    viewer.open()
    image_server.publish(raw)
    viewer.wait_seq(1)
    viewer.page.evaluate("document.activeElement && document.activeElement.blur()")
    viewer.page.keyboard.press("h")
    wait_raw_on_screen(viewer)
    viewer.page.wait_for_function("location.hash.includes('sat=1')")
    image = shot(viewer)
    inside = screen(viewer, 100, 150)
    outside = screen(viewer, 300, 150)
    assert close_to(image.getpixel(inside), (255, 0, 0), 10)
    assert not close_to(image.getpixel(outside), (255, 0, 0), 60)
    viewer.page.keyboard.press("h")
    viewer.page.wait_for_function("!location.hash.includes('sat=1')")
    assert not close_to(shot(viewer).getpixel(inside), (255, 0, 0), 60)


def test_a_large_frame_takes_its_histogram_from_the_server(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """A frame too large to read whole (over 4 MP) is shown from its raw tiles, with the
    histogram of every pixel from /api/histogram: the auto levels see its true extremes."""
    raw = np.full((2100, 2100), 500, np.uint16)
    raw[:, 1050:] = 60000
    requests = record_raw(viewer)
    asked: list[str] = []
    viewer.page.on("request", lambda r: asked.append(r.url) if "api/histogram" in r.url else None)
    levels_on(image_server, viewer, raw)
    assert asked and not any(url.endswith("/raw/1.npy") or "/1.npy?" in url for url in requests)
    hist = viewer.page.evaluate("framecast.tools.histogramData.hist")
    assert (hist["min"], hist["max"]) == (500, 60000)
    assert sum(hist["counts"]) == 2100 * 2100


@pytest.mark.parametrize(
    ("height", "width", "asked"),
    [
        (400, 600, [[10, 0, 0], [10, 2, 1], [9, 1, 0], [8, 0, 0], [3, 0, 0]]),
        (401, 603, [[10, 2, 1], [9, 1, 0], [9, 0, 0], [8, 0, 0], [1, 0, 0]]),
    ],
    ids=["even", "odd"],
)
def test_tiles_cut_in_the_browser_equal_the_servers(
    image_server: ImageServer, viewer: Viewer, height: int, width: int, asked: list[list[int]]
) -> None:
    """A frame read whole, of even or odd size, is cut into the very tiles the server serves
    at every level (raw values at the top, float32 means below, overlaps and the blocks cut
    at its edges included), and its histogram counts every pixel."""
    raw = np.random.default_rng(width).integers(0, 65535, (height, width), dtype=np.uint16)
    viewer.open()
    image_server.publish(raw)
    viewer.wait_seq(1)
    same = viewer.page.evaluate(
        """async (asked) => {
          const r = await import('./js/tools/rawframe.js');
          const n = await import('./js/tools/npy.js');
          const get = async (u) => n.parseNpy(await (await fetch(u)).arrayBuffer());
          const npy = await get('raw/1.npy');
          const frame = r.pyramid(npy, 10);
          const out = [];
          for (const [level, col, row] of asked) {
            const mine = r.cutTile(frame, level, col, row);
            const theirs = await get(`raw/1_files/${level}/${col}_${row}.npy`);
            out.push(mine.dtype === theirs.dtype && mine.shape.join() === theirs.shape.join()
              && mine.data.every((v, i) => v === theirs.data[i]));
          }
          const hist = r.histogram(npy.data);
          return [out, hist.min, hist.max, hist.counts.reduce((s, c) => s + c, 0)];
        }""",
        asked,
    )
    assert same == [[True] * len(asked), int(raw.min()), int(raw.max()), height * width]


def test_a_newer_frame_abandons_the_read_of_the_one_waiting(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """With levels on, a frame's raw data is read as soon as it is asked for; when a newer
    frame is asked for before it is shown, the older read is given up (never finished) and
    only the newest frame is read."""
    finished: list[str] = []
    viewer.page.on("requestfinished", lambda r: finished.append(r.url))
    levels_on(image_server, viewer, *(gradient() + seq for seq in (1, 2, 3)))
    started = viewer.page.evaluate(
        """() => {
          const t = framecast.tools;
          const info = (seq) => ({ own: { seq, raw: `raw/${seq}.dzi`, width: 600, height: 400 } });
          window.older = t.tilesFor(info(1));
          window.newer = t.tilesFor(info(2));
          return [older.whole === null, newer.whole !== null];
        }"""
    )
    assert started == [True, True]
    value = viewer.page.evaluate("newer.frame().then(() => newer.valueAt(0, 0).value)")
    assert value == 1000 + 2
    assert any("/raw/2.npy" in url for url in finished)
    assert not any("/raw/1.npy" in url for url in finished)


def test_a_frame_at_fit_is_painted_from_the_level_on_screen(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """A frame larger than the screen, with levels on and the whole frame in view, is
    painted from the means of the level the screen shows, not from every full-resolution
    pixel; zoomed in, its full-resolution tiles come; a colormap chosen there shows on the
    part of a tile panned into view and on the coarser tiles kept when the view goes back to
    the fit."""
    viewer.open()
    image_server.publish(gradient(1400, 1400))
    viewer.wait_seq(1)
    viewer.page.evaluate("document.activeElement && document.activeElement.blur()")
    viewer.page.keyboard.press("c")
    wait_raw_on_screen(viewer)
    levels = (
        "[...framecast.view.current.item.source.tiles.keys()]"
        ".map(u => u.split('_files/')[1].split('/')[0])"
    )
    at_fit = viewer.page.evaluate(levels)
    assert "10" in at_fit and "11" not in at_fit
    viewer.page.evaluate("framecast.view.setView({zoom: 4, x: 0.5, y: 0.5})")
    viewer.page.wait_for_function(
        "framecast.view.current.item.getFullyLoaded() && framecast.view.view().zoom > 3.9"
    )
    assert "11" in viewer.page.evaluate(levels)
    # A change of levels zoomed in paints the tiles on screen; the coarser ones kept from
    # the fit show it too when they are drawn again, with no request.
    requests = record_raw(viewer)
    viewer.page.select_option("#tools-cmap", "viridis")
    # Panned right: the part of the tile over x 762…1015 that was off screen (x > 875) is
    # painted with viridis too (only what was on screen was, at the change).
    viewer.page.evaluate("framecast.view.setView({zoom: 4, x: 0.6, y: 0.5})")
    viewer.page.wait_for_function(
        "framecast.view.current.item.getFullyLoaded() && framecast.view.view().x > 0.59"
    )
    r, g, b = shot(viewer).getpixel(screen(viewer, 950, 700))
    assert max(r, g, b) - min(r, g, b) > 40, (r, g, b)  # a viridis green, not a grey
    viewer.page.evaluate("framecast.view.setView({zoom: 1, x: 0.5, y: 0.5})")
    viewer.page.wait_for_function(
        "framecast.view.current.item.getFullyLoaded() && framecast.view.view() === null"
    )
    image = shot(viewer)
    left, mid_y = screen(viewer, 20, 700)
    right, _ = screen(viewer, 1380, 700)
    assert close_to(image.getpixel((right, mid_y)), (0xFD, 0xE7, 0x25), 30)
    assert close_to(image.getpixel((left, mid_y)), (0x44, 0x01, 0x54), 30)
    assert requests == []


def test_whole_frames_are_read_one_at_a_time(image_server: ImageServer, viewer: Viewer) -> None:
    """With levels on, a frame's whole read starts only once the read before it is in, and a
    frame abandoned while it waits its turn is never asked for: the newest is read next."""
    levels_on(image_server, viewer, *(gradient() + seq for seq in (1, 2, 3)))
    events = viewer.page.evaluate(
        """async () => {
          const t = framecast.tools;
          const events = [];
          const fetchBefore = window.fetch;
          window.fetch = (url, options) => {
            const name = String(url).split('/').pop().split('?')[0];
            events.push(`start ${name}`);
            return fetchBefore(url, options).then(async (response) => {
              const body = await response.arrayBuffer();
              events.push(`end ${name}`);
              return new Response(body, { status: response.status });
            });
          };
          try {
            const info = (seq) =>
              ({ own: { seq, raw: `raw/${seq}.dzi`, width: 600, height: 400 } });
            const first = t.tilesFor(info(1));
            t.view.loading = { tiles: first };  // as if the view were loading it
            const second = t.tilesFor(info(2));
            const third = t.tilesFor(info(3));  // the second, waiting, is abandoned
            t.view.loading = null;
            await Promise.all([first.frame(), third.frame()]);
            return events;
          } finally {
            window.fetch = fetchBefore;
          }
        }"""
    )
    reads = [event for event in events if event.endswith(".npy")]  # not api/levels
    assert reads == ["start 1.npy", "end 1.npy", "start 3.npy", "end 3.npy"]


ON_SCREEN = """([seq, x, y, value]) => {
  const current = framecast.view.current;
  const read = current && current.key.endsWith('|raw') && current.item.getFullyLoaded()
    ? current.item.source.valueAt(x, y) : null;
  return document.getElementById('meta-seq').textContent === '#' + seq
    && read !== null && read.value === value;
}"""


def test_a_live_frame_is_read_only_where_the_view_looks(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """Zoomed in with levels on, the next live frame is read in one request for the
    rectangle of the level on screen (not the whole frame, not tile by tile); its pixels
    there are the new frame's raw values, and its histogram is still every pixel's."""
    requests = record_raw(viewer)
    levels_on(image_server, viewer, gradient(1400, 1400))
    viewer.page.evaluate("framecast.view.setView({zoom: 4, x: 0.25, y: 0.25})")
    viewer.page.wait_for_function(
        "framecast.view.current.item.getFullyLoaded() && framecast.view.view().zoom > 3.9"
    )
    viewer.settle()
    before = len(requests)
    second = gradient(1400, 1400) + 7
    image_server.publish(second)
    viewer.page.wait_for_function(ON_SCREEN, arg=[2, 350, 350, int(second[350, 350])])
    viewer.page.wait_for_function("framecast.tools.histogramData.seq === 2")
    asked = [url for url in requests[before:] if "/raw/2" in url]
    assert len(asked) == 1 and "/raw/2.npy?level=11&" in asked[0], asked
    query = dict(part.split("=") for part in asked[0].split("?")[1].split("&"))
    assert int(query["w"]) * int(query["h"]) < 1400 * 1400 / 2, query  # the tiles in view
    hist = viewer.page.evaluate("framecast.tools.histogramData.hist")
    assert (hist["min"], hist["max"]) == (int(second.min()), int(second.max()))
    assert sum(hist["counts"]) == 1400 * 1400


def test_levels_follow_the_frame_looked_back_at_and_the_blink(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """With levels on, ← shows the earlier frame's own raw values (its readout too), and a
    blink between it and the live frame shows each with its own numbers."""
    require_history(image_server)
    frames = [gradient() + 1000 * seq for seq in (1, 2, 3)]
    levels_on(image_server, viewer, *frames)
    viewer.page.locator("#timeline").wait_for(state="visible")
    viewer.page.wait_for_function(ON_SCREEN, arg=[3, 300, 200, int(frames[2][200, 300])])
    viewer.page.keyboard.press("ArrowLeft")
    viewer.page.wait_for_function(ON_SCREEN, arg=[2, 300, 200, int(frames[1][200, 300])])
    viewer.page.keyboard.press("v")  # the readout, on the frame looked back at
    expect_readout(viewer, 300, 200, str(int(frames[1][200, 300])))
    viewer.page.keyboard.press("b")
    wait_text(viewer, "#timeline-where", "blink #2")
    for seq in (3, 2, 3):
        value = int(frames[seq - 1][200, 300])
        viewer.page.wait_for_function(ON_SCREEN, arg=[seq, 300, 200, value])


def test_with_levels_held_a_live_frame_does_not_wait_for_its_histogram(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """With black and white points typed (held), a live frame read as an area is shown as
    soon as it is read, while /api/histogram is still unanswered; the panel then draws the
    histogram that comes, every pixel's."""
    levels_on(image_server, viewer, gradient(1400, 1400))
    viewer.page.evaluate("framecast.view.setView({zoom: 4, x: 0.25, y: 0.25})")
    viewer.page.wait_for_function(
        "framecast.view.current.item.getFullyLoaded() && framecast.view.view().zoom > 3.9"
    )
    viewer.page.fill("#tools-black", "1000")
    viewer.page.fill("#tools-white", "40000")
    viewer.page.press("#tools-white", "Enter")
    viewer.page.wait_for_function("location.hash.includes('lv=1000,40000')")
    held: list[Any] = []
    viewer.page.route("**/api/histogram?seq=2*", lambda route: held.append(route))
    second = gradient(1400, 1400) + 7
    image_server.publish(second)
    viewer.page.wait_for_function(ON_SCREEN, arg=[2, 350, 350, int(second[350, 350])])
    assert len(held) == 1, "the histogram was not asked, or was answered"
    held[0].continue_()
    viewer.page.wait_for_function("framecast.tools.histogramData.seq === 2")
    hist = viewer.page.evaluate("framecast.tools.histogramData.hist")
    assert (hist["min"], hist["max"]) == (int(second.min()), int(second.max()))
    assert sum(hist["counts"]) == 1400 * 1400


def test_a_failed_area_read_falls_back_to_tiles(image_server: ImageServer, viewer: Viewer) -> None:
    """When the one read of a live frame's area fails (a network error), the frame still
    comes, read tile by tile, with its own raw values."""
    requests = record_raw(viewer)
    levels_on(image_server, viewer, gradient(1400, 1400))
    viewer.page.evaluate("framecast.view.setView({zoom: 4, x: 0.25, y: 0.25})")
    viewer.page.wait_for_function(
        "framecast.view.current.item.getFullyLoaded() && framecast.view.view().zoom > 3.9"
    )
    viewer.expect_network_errors = True  # the aborted read is logged by the browser
    viewer.page.route("**/raw/2.npy?level=*", lambda route: route.abort())
    second = gradient(1400, 1400) + 7
    image_server.publish(second)
    viewer.page.wait_for_function(ON_SCREEN, arg=[2, 350, 350, int(second[350, 350])])
    assert any("/raw/2.npy?level=" in url for url in requests)
    assert any("/raw/2_files/11/" in url for url in requests)


def test_readout_of_a_float16_frame_is_as_numpy_prints_it(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """A float16 frame is shown with levels on, and the readout prints its value as NumPy
    prints a float16 (35.125 as 35.12: the shortest digits, ties to even)."""
    raw = np.tile(np.linspace(0, 100, 400, dtype=np.float16), (300, 1))
    raw[150, 200] = np.float16(35.125)
    levels_on(image_server, viewer, raw, path="#ro=1")
    in_memory = "framecast.view.current.item.source.valueAt(200, 150)"
    assert viewer.page.evaluate(in_memory) == {"value": 35.125, "dtype": "float16"}
    expect_readout(viewer, 200, 150, str(np.float16(35.125)))


def starry_sky(size: int = 320) -> np.ndarray:
    """A uint16 sky of 1000 ± 30 counts with stars and a saturated block over 1 % of it."""
    rng = np.random.default_rng(12)
    sky = rng.normal(1000, 30, (size, size))
    ys, xs = np.mgrid[:size, :size]
    for cx, cy in rng.uniform(20, size - 20, (12, 2)):
        sky += 15000 * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / 6)
    sky[:32, -32:] = 65535  # 1024 pixels: 1 % of the frame
    return np.clip(sky, 0, 65535).astype(np.uint16)


def test_auto_levels_survive_saturation_with_presets_stretches_and_colormaps(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """C on a 1000 ± 30 sky with stars and 1 % saturated shows the sky mid-grey (zscale,
    astropy's ZScaleInterval on the same frame, typed fields in integers); min/max darkens
    it; invert, histogram equalisation and the 12 colormaps repaint it with no request."""
    from astropy.visualization import ZScaleInterval

    raw = starry_sky()
    sky = np.argwhere(np.abs(raw.astype(int) - 1000) < 5)
    sy, sx = (int(v) for v in sky[len(sky) // 2])  # a sky pixel near the frame's middle
    requests = record_raw(viewer)
    levels_on(image_server, viewer, raw)
    x, y = screen(viewer, sx + 0.5, sy + 0.5)

    def grey() -> int:
        return int(np.mean(shot(viewer).getpixel((x, y))))

    low, high = ZScaleInterval().get_limits(raw)
    viewer.page.wait_for_function(
        "b => document.getElementById('tools-black').value === b", arg=str(int(low))
    )
    assert viewer.page.input_value("#tools-white") == str(int(np.ceil(high)))
    assert 60 <= grey() <= 200, "the sky is not mid-grey with Auto"
    loaded = len(requests)

    viewer.page.select_option("#tools-preset", "minmax")
    viewer.page.wait_for_function("location.hash.includes('pre=minmax')")
    assert viewer.page.input_value("#tools-white") == "65535"
    assert grey() < 20  # what Auto did before: white at the saturation, the sky black
    viewer.page.select_option("#tools-preset", "zscale")
    viewer.page.wait_for_function("!location.hash.includes('pre=')")
    mid = grey()
    viewer.page.click("#tools-invert")
    viewer.page.wait_for_function("location.hash.includes('inv=1')")
    assert abs(grey() - (255 - mid)) <= 3
    viewer.page.click("#tools-invert")
    viewer.page.select_option("#tools-stretch", "histeq")
    viewer.page.wait_for_function("location.hash.includes('st=histeq')")
    assert 60 <= grey() <= 200  # the sky's median sits mid-way in its own share
    options = viewer.page.eval_on_selector_all("#tools-cmap option", "os => os.map(o => o.value)")
    assert len(options) >= 12 and {"turbo", "cividis", "heat", "grey-r"} <= set(options)
    viewer.page.select_option("#tools-stretch", "linear")
    viewer.page.select_option("#tools-cmap", "heat")
    viewer.page.wait_for_function("location.hash.includes('cm=heat')")
    r, g, b = shot(viewer).getpixel((x, y))
    assert r > g > b  # matplotlib's hot: red first
    assert len(requests) == loaded, "a change of levels sent requests"


def test_loupe_and_pixel_table_show_the_raw_pixels_around_the_pointer(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """V shows the 5 × 5 raw values around the pointer in a table, O a loupe of the native
    pixels magnified at the pointer (a hot pixel white among black; red in night mode),
    from one /api/pixel request per pointer position."""
    raw = (np.arange(300 * 400, dtype=np.uint32).reshape(300, 400) % 97).astype(np.uint16)
    raw[150, 200] = 40000  # a hot pixel
    viewer.open()
    image_server.publish(raw)
    viewer.wait_seq(1)
    viewer.page.keyboard.press("v")
    viewer.page.keyboard.press("o")
    viewer.page.wait_for_function("['ro=1', 'lp=1'].every(p => location.hash.includes(p))")
    asked: list[str] = []
    viewer.page.on("request", lambda r: asked.append(r.url) if "api/pixel" in r.url else None)
    box = viewer.page.locator("#osd").bounding_box()
    assert box is not None
    px, py = screen(viewer, 200.5, 150.5)
    viewer.page.mouse.move(box["x"] + px, box["y"] + py)
    viewer.page.wait_for_function(
        "document.querySelectorAll('#tools-pixels td').length === 25"
        " && document.getElementById('status-line').textContent === 'x 200, y 150: 40000'"
    )
    cells = viewer.page.eval_on_selector_all("#tools-pixels td", "ts => ts.map(t => t.textContent)")
    assert cells == [str(v) for v in raw[148:153, 198:203].ravel()]
    centre = viewer.page.inner_text("#tools-pixels td.centre")
    assert centre == "40000"
    assert [u for u in asked if "r=8" in u] and all("x=200&y=150" in u for u in asked[-1:])
    loupe = viewer.page.locator("#tools-loupe")
    loupe.wait_for(state="visible")
    image = Image.open(io.BytesIO(loupe.screenshot())).convert("RGB")
    w, h = image.size
    assert min(image.getpixel((w // 2, h // 2))) > 240  # the hot pixel, white
    assert max(image.getpixel((w // 2 + 16, h // 2))) < 20  # its neighbours, 0…96: black
    loupe_box = loupe.bounding_box()
    assert loupe_box is not None and loupe_box["width"] >= 17 * 8 - 1
    viewer.page.keyboard.press("n")  # night mode: the loupe's pixels in red too
    viewer.page.wait_for_function("document.documentElement.classList.contains('night')")
    image = Image.open(io.BytesIO(loupe.screenshot())).convert("RGB")
    r, g, b = image.getpixel((w // 2, h // 2))
    assert r > 200 and g < 60 and b < 60
    viewer.page.mouse.move(1, 1)  # off the image
    loupe.wait_for(state="hidden")
