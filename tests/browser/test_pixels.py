"""Native pixels are square and tiles meet without seams (docs/viewer.md, "Native pixels"):
on the JPEG path, on the deep-zoom pyramid and on raw tiles with levels on, measured on
the screen's own pixels."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer
from tests.imaging.samples import chart, png_bytes

from .conftest import Viewer, new_viewer, start_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

VIEWPORT = {"width": 800, "height": 600}
#: Where the image pixels' squares are, in CSS pixels of #osd: image pixel (0, 0)'s top left
#: corner and the side of one image pixel on screen.
GEOMETRY = """() => {
  const item = framecast.view.current.item;
  const o = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
  const e = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(1000, 0));
  return [o.x, o.y, (e.x - o.x) / 1000];
}"""


@pytest.fixture
def tiling(chromium: Any, tmp_path: Path) -> Iterator[tuple[ImageServer, Viewer]]:
    """A server cutting a pyramid for any frame over 256 pixels, and a page on it."""
    server = start_server(tmp_path / "work", max_web_size=256)
    context, viewer = new_viewer(chromium, f"http://127.0.0.1:{server.port}/", VIEWPORT)
    try:
        yield server, viewer
        assert viewer.errors == [] and viewer.console_errors() == []
    finally:
        context.close()
        server.stop()


def zoom_to(viewer: Viewer, scale: float, x: float, y: float) -> None:
    """Show `scale` screen pixels per image pixel, centred on image pixel (x, y), and wait
    until its tiles are drawn."""
    viewer.page.evaluate(
        """([scale, x, y]) => {
          const { osd, current } = framecast.view;
          osd.viewport.zoomTo(current.item.imageToViewportZoom(scale), null, true);
          osd.viewport.panTo(current.item.imageToViewportCoordinates(x, y), true);
        }""",
        [scale, x, y],
    )
    viewer.page.wait_for_function("framecast.view.current.item.getFullyLoaded()", timeout=20_000)
    viewer.settle()


def screen(viewer: Viewer) -> np.ndarray:
    """The #osd element's pixels as packed 24-bit integers (rows, columns)."""
    shot = Image.open(io.BytesIO(viewer.page.locator("#osd").screenshot())).convert("RGB")
    rgb = np.asarray(shot, dtype=np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def squares(
    shot: np.ndarray, origin_x: float, origin_y: float, scale: float, margin: float = 0.2
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Check that every image pixel in the middle of the screen (away from the buttons) is a
    flat square. Returns each whole square's colour (at its centre) with its image column and
    row, and the share of screen pixels that are neither the colour of their own square nor,
    within one screen pixel of a square's edge, that of the square next to them (a blurred
    pixel, a seam, a square out of place)."""
    height, width = shot.shape
    x0, x1 = round(width * margin), round(width * (1 - margin))
    y0, y1 = round(height * margin), round(height * (1 - margin))
    xs = np.arange(x0, x1) + 0.5
    ys = np.arange(y0, y1) + 0.5
    u = (xs - origin_x) / scale
    v = (ys - origin_y) / scale
    # the whole squares in view, and each one's colour at its centre pixel
    cols = np.arange(int(np.ceil(u[0])), int(np.floor(u[-1])))
    rows = np.arange(int(np.ceil(v[0])), int(np.floor(v[-1])))
    cx = np.floor(origin_x + (cols + 0.5) * scale).astype(int)
    cy = np.floor(origin_y + (rows + 0.5) * scale).astype(int)
    colour = shot[np.ix_(cy, cx)]

    def at(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """The colour of square (i, j) (-1 outside the whole squares)."""
        ii, jj = i - cols[0], j - rows[0]
        inside = (ii >= 0) & (ii < len(cols)) & (jj >= 0) & (jj < len(rows))
        out = np.full(inside.shape, -1)
        out[inside] = colour[jj[inside], ii[inside]]
        return out

    region = shot[y0:y1, x0:x1]
    ok = np.zeros(region.shape, bool)
    known = np.zeros(region.shape, bool)
    d = 1 / scale
    for du in (-d, 0.0, d):
        for dv in (-d, 0.0, d):
            i = np.floor(u + du).astype(int)[None, :]
            j = np.floor(v + dv).astype(int)[:, None]
            expected = at(np.broadcast_to(i, region.shape), np.broadcast_to(j, region.shape))
            if du == 0 and dv == 0:
                known = expected >= 0
            ok |= region == expected
    bad = float((~ok & known).sum() / max(1, known.sum()))
    return colour, cols, rows, bad


def assert_square_pixels(viewer: Viewer, frame: np.ndarray, what: str) -> None:
    """The screen shows `frame`'s pixels (grey values, any monotonic mapping) as flat
    squares, each where its image pixel is, with no seam between them."""
    ox, oy, scale = viewer.page.evaluate(GEOMETRY)
    colour, cols, rows, bad = squares(screen(viewer), ox, oy, scale)
    assert len(cols) > 20 and len(rows) > 10, (what, ox, oy, scale)
    assert bad == 0, f"{what}: {bad:.1%} of screen pixels are not their square's colour"
    shown = (colour & 0xFF).astype(float)
    source = frame[np.ix_(rows, cols)].astype(float)
    agreement = np.corrcoef(shown.ravel(), source.ravel())[0, 1]
    assert agreement > 0.95, f"{what}: the squares are not the image's pixels ({agreement:.3f})"


def test_native_pixels_are_flat_squares_without_seams_and_line_art_exact(
    tiling: tuple[ImageServer, Viewer],
) -> None:
    """Zoomed to 8.3 screen pixels per image pixel on a 1-pixel noise frame, every image
    pixel is one flat square at its place with no seam where tiles meet: a small frame's
    JPEG, a pyramid's JPEG tiles (at a corner where four tiles meet), and its raw tiles with
    levels on; zoomed out below 1:1, a ramp shows no line where tiles meet (with levels,
    painted over the noise frame's tiles, none of which is seen again). A chart PNG is
    shown from its PNG (docs/imaging.md, "Line art"): at 1:1 the screen holds exactly its
    pixels."""
    server, viewer = tiling
    viewer.open()
    # The loopback notice sits over the top of this small image area: dismissed, as a user would.
    viewer.page.locator("#access-warning").wait_for(state="visible")
    viewer.page.click("#access-dismiss")
    rng = np.random.default_rng(7)
    small = rng.integers(0, 256, (150, 200), dtype=np.uint8)
    server.publish(small)
    viewer.wait_seq(1)
    zoom_to(viewer, 8.3, 100.3, 75.6)
    assert viewer.page.evaluate("framecast.view.current.tiles") is None
    assert_square_pixels(viewer, small, "a small frame's JPEG")

    large = rng.integers(0, 256, (600, 640), dtype=np.uint8)
    server.publish(large)
    viewer.wait_seq(2)
    zoom_to(viewer, 8.3, 254.4, 254.3)  # four tiles meet at (254, 254)
    assert "/tiles/2.dzi" in viewer.page.evaluate("framecast.view.current.tiles")
    assert_square_pixels(viewer, large, "the pyramid's JPEG tiles")

    viewer.page.keyboard.press("c")  # levels on: raw tiles, auto levels, grey
    viewer.page.keyboard.press("t")  # the tools' panel closed (it lies over the image)
    viewer.page.wait_for_function(
        "framecast.view.current.key.endsWith('|raw') && framecast.tools.histogramData"
        " && framecast.view.current.item.getFullyLoaded()",
        timeout=20_000,
    )
    viewer.settle()
    assert_square_pixels(viewer, large, "raw tiles with levels")

    # Below 1:1 (smoothed) a horizontal ramp stays a ramp: every column one value from top
    # to bottom, and no column out of line with its neighbours where tiles meet.
    ramp = np.repeat(np.linspace(20, 230, 640)[None, :], 600, axis=0).astype(np.uint8)
    for levels in (True, False):
        if not levels:
            viewer.page.keyboard.press("c")
        viewer.page.evaluate("window.before = framecast.view.current.item")
        server.publish(ramp)
        seq = 3 if levels else 4
        viewer.wait_seq(seq)
        if levels:  # a newer frame is painted over the raw tiles on screen (docs/viewer.md)
            assert viewer.page.evaluate("framecast.view.current.item === window.before")
        zoom_to(viewer, 0.77, 320, 300)
        full = screen(viewer)
        ox, _, scale = viewer.page.evaluate(GEOMETRY)
        shot = full[150:450, round(ox) + 4 : round(ox + 640 * scale) - 4] & 0xFF
        assert np.ptp(shot, axis=0).max() <= 2, f"a horizontal seam (levels {levels})"
        steps = np.diff(shot[150].astype(int))
        assert steps.min() >= -1 and steps.max() <= 4, f"a vertical seam (levels {levels})"

    # Line art: a chart published as a PNG is loaded from its own PNG, pixels exact at 1:1.
    drawn = chart(240, 150)
    server.publish(png_bytes(drawn))
    viewer.wait_seq(5)
    assert any("/image/5.png" in url for url in viewer.requests), viewer.requests[-5:]
    zoom_to(viewer, 1.0, 120.25, 75.25)  # image pixels' edges a quarter off the screen's
    ox, oy, scale = viewer.page.evaluate(GEOMETRY)
    assert abs(scale - 1) < 1e-6
    rgb = np.stack([(screen(viewer) >> s) & 0xFF for s in (16, 8, 0)], axis=-1)
    x0, y0 = int(np.ceil(ox - 0.5)), int(np.ceil(oy - 0.5))  # screen pixel of image pixel 0
    shown = rgb[y0 + 20 : y0 + 130, x0 + 20 : x0 + 220]
    assert np.array_equal(shown, drawn[20:130, 20:220]), "the chart on screen is not exact"
