"""Regions, stars, focus and sky coordinates in the real page (docs/science.md), in headless
Chromium against the real ImageServer: boxes, circles and polygons drawn at once with their
figures, saved to and opened from DS9 region files; a clicked star's FWHM; the focus aid's
best frame; RA and Dec under the pointer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.wcs import WCS

from framecast import ImageServer
from tests.browser.conftest import Viewer
from tests.browser.test_tools import drag, key, page_point, wait_hash
from tests.browser.test_tools_figures import require_analysis

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 160, 120


def ramp(offset: int) -> np.ndarray:
    """uint16: value = offset + 3·x + 7·y (every pixel different)."""
    rows, columns = np.indices((HEIGHT, WIDTH))
    return (offset + 3 * columns + 7 * rows).astype(np.uint16)


def figures(viewer: Viewer, index: int) -> dict[str, str]:
    got: dict[str, str] = viewer.page.evaluate(
        "i => { const out = {}; const li = document.querySelectorAll('#tools-region-list li')[i];"
        " for (const dt of li ? li.querySelectorAll('dt') : []) out[dt.textContent] ="
        " dt.nextElementSibling.textContent; return out; }",
        index,
    )
    return got


def wait_count(viewer: Viewer, index: int, count: int) -> None:
    viewer.page.wait_for_function(
        "([i, c]) => { const li = document.querySelectorAll('#tools-region-list li')[i];"
        " const dd = li && li.querySelector('dd'); return dd && dd.textContent === String(c); }",
        arg=[index, count],
    )


def click(viewer: Viewer, x: float, y: float) -> None:
    viewer.page.mouse.click(*page_point(viewer, x, y))


@pytest.mark.parametrize("image_server", [{"max_polygon_corners": 3}], indirect=True)
def test_regions_several_at_once_live_and_in_ds9_files(
    image_server: ImageServer, viewer: Viewer, tmp_path: object
) -> None:
    """A circle, a polygon and a box drawn at once each show the figures of the pixels whose
    centres are inside (as numpy counts them), again for a new frame; Save .reg writes
    them in DS9's image pixels (1-based, rows bottom-up); a region file written by hand
    opens as a region of the same pixels, measured. The server's max_polygon_corners (3
    here) caps a polygon: a fourth corner is refused, saying so, drawn or in a file."""
    viewer.open()
    image_server.publish(ramp(1000))
    viewer.wait_seq(1)
    require_analysis(viewer)
    rows, columns = np.indices((HEIGHT, WIDTH))
    frame = ramp(1000)
    # a circle: press at pixel (60, 50), drag to (70, 50): r = 10
    key(viewer, "u")
    drag(viewer, page_point(viewer, 60.5, 50.5), page_point(viewer, 70.5, 50.5))
    circle = (columns - 60) ** 2 + (rows - 50) ** 2 <= 100
    wait_count(viewer, 0, int(circle.sum()))
    assert figures(viewer, 0)["sum"] == str(int(frame[circle].sum()))
    # a triangle: three corners (a fourth is refused), then the first again closes it
    viewer.page.wait_for_function("framecast.tools.astro.regions.maxCorners === 3")
    key(viewer, "q")
    for x, y in ((10, 70), (40, 70), (10, 100), (30, 110)):
        click(viewer, x + 0.5, y + 0.5)
    assert viewer.page.inner_text("#tools-regions-note") == (
        "a polygon has at most 3 corners (the server's max_polygon_corners):"
        " close it with Enter or on its first corner"
    )
    click(viewer, 10.5, 70.5)
    triangle = (columns >= 10) & (rows >= 70) & (columns + rows < 110)
    wait_count(viewer, 1, int(triangle.sum()))
    assert figures(viewer, 1)["max"] == str(int(frame[triangle].max()))
    # a box over pixels 100..119 × 80..89
    key(viewer, "e")
    drag(viewer, page_point(viewer, 100.5, 80.5), page_point(viewer, 119.5, 89.5))
    wait_count(viewer, 2, 200)
    wait_hash(viewer, "rg=c:60,50,10;p:10,70,40,70,10,100;b:100,80,20,10")
    # live: a new frame, new figures for every region
    image_server.publish(ramp(2000))
    viewer.wait_seq(2)
    viewer.page.wait_for_function(
        "document.querySelectorAll('#tools-region-list li')[2].querySelectorAll('dd')[3]"
        ".textContent === String(2000 + 3 * 100 + 7 * 80)"
    )
    # save: DS9's own pixels
    with viewer.page.expect_download() as download:
        viewer.page.click("#tools-ds9-save")
    saved = download.value
    assert saved.suggested_filename == "default-2.reg"
    text = Path(saved.path()).read_text(encoding="ascii")
    lines = text.splitlines()
    assert lines[0] == "# Region file format: DS9 version 4.1" and "image" in lines
    assert "circle(61,70,10)" in lines  # pixel (60, 50) of 120 rows: x + 1, 120 - y
    assert "polygon(11,50,41,50,11,20)" in lines
    assert "box(110.5,35.5,20,10,0)" in lines
    # open: a region file written by hand, in DS9's syntax
    handmade = "# Region file format: DS9 version 4.1\nglobal color=green\nimage\n"
    handmade += "circle 21 101 5.5 # text={by hand}\nellipse(5,5,3,2,0)\n"
    handmade += "polygon(1,1,9,1,9,9,1,9)\n"
    viewer.page.set_input_files(
        "#tools-ds9-open",
        files=[{"name": "hand.reg", "mimeType": "text/plain", "buffer": handmade.encode()}],
    )
    small = (columns - 20) ** 2 + (rows - 19) ** 2 <= 5.5**2
    wait_count(viewer, 3, int(small.sum()))
    assert figures(viewer, 3)["min"] == str(int(ramp(2000)[small].min()))
    note = viewer.page.inner_text("#tools-regions-note")
    assert note.startswith("opened 1 region; left out 2: ellipse(5,5,3,2,0): ellipse is not")
    assert note.endswith(
        "polygon(1,1,9,1,9,9,1,9): 4 corners, more than the server's max_polygon_corners (3)"
    )


def star(sigma: float, cx: float = 80.3, cy: float = 60.6) -> np.ndarray:
    rows, columns = np.indices((HEIGHT, WIDTH), dtype=np.float64)
    light = 15000 * np.exp(-0.5 * (((columns - cx) / sigma) ** 2 + ((rows - cy) / sigma) ** 2))
    return np.random.default_rng(int(sigma * 10)).poisson(1000 + light).astype(np.uint16)


SKY = {
    "CTYPE1": "RA---TAN",
    "CTYPE2": "DEC--TAN",
    "CRVAL1": 83.8221,
    "CRVAL2": -5.3911,
    "CRPIX1": 80.0,
    "CRPIX2": 60.0,
    "CDELT1": -2.8e-4,
    "CDELT2": 2.8e-4,
}


def test_a_star_its_focus_curve_and_the_sky_under_the_pointer(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """A click with the star tool shows FWHM 4.71 ± 0.15 for a σ = 2 star and its radial
    profile; the focus aid, following the star in a region over live frames of σ 2, 3, 1.5
    and 2.5, marks the σ = 1.5 frame as the best; hovering a frame with a WCS shows RA and
    Dec as astropy gives them, rows counted bottom-up, with the value from the same one
    /api/pixel request per pointer position."""
    viewer.open()
    image_server.publish(star(2.0), SKY)
    viewer.wait_seq(1)
    require_analysis(viewer)
    key(viewer, "j")
    click(viewer, 80.5, 60.5)
    fwhm = viewer.page.locator("#tools-star-figures dd[data-figure='fwhm']")
    fwhm.wait_for()
    assert float(fwhm.inner_text()) == pytest.approx(4.71, abs=0.15)
    assert float(viewer.page.inner_text("#tools-star-figures dd[data-figure='x']")) == (
        pytest.approx(80.3, abs=0.05)
    )
    assert viewer.page.evaluate("framecast.tools.astro.star.profile.points.length") >= 10
    # the sky under the pointer, from the readout's one request per pointer position
    sky = viewer.page.locator("#tools-sky")
    shown = (
        "([x, y]) => { const d = document.getElementById('tools-sky').dataset;"
        " return !document.getElementById('tools-sky').hidden && d.pixel === `${x},${y}`"
        " && document.getElementById('status-line').textContent.startsWith(`x ${x}, y ${y}: `)"
        " && !document.getElementById('status-line').textContent.endsWith('…'); }"
    )
    viewer.page.mouse.move(*page_point(viewer, 70.5, 50.5))
    viewer.page.wait_for_function(shown, arg=[70, 50])
    asked = len(viewer.requests)
    for x, y in ((10, 20), (30, 40)):
        viewer.page.mouse.move(*page_point(viewer, x + 0.5, y + 0.5))
        viewer.page.wait_for_function(shown, arg=[x, y])
        ra, dec = WCS(SKY, naxis=2).pixel_to_world_values(x, HEIGHT - 1 - y)
        assert float(sky.get_attribute("data-ra") or "nan") == pytest.approx(float(ra), abs=1e-9)
        assert float(sky.get_attribute("data-dec") or "nan") == pytest.approx(float(dec), abs=1e-9)
        assert sky.inner_text().startswith("RA 05h35m")
    pixel_asks = [u for u in viewer.requests[asked:] if "api/pixel" in u]
    assert len(pixel_asks) == 2, pixel_asks  # value and RA/Dec in one answer
    # focus: a region around the star, then live frames
    key(viewer, "Escape")
    key(viewer, "r")
    drag(viewer, page_point(viewer, 65.5, 45.5), page_point(viewer, 95.5, 75.5))
    wait_hash(viewer, "roi=65,45,31,31")
    key(viewer, "z")
    note = "document.getElementById('tools-focus-note').textContent"
    viewer.page.wait_for_function(f"{note}.includes('1 frame')")
    for seq, sigma in ((2, 3.0), (3, 1.5), (4, 2.5)):
        image_server.publish(star(sigma, 80.3 + seq / 10, 60.6))
        viewer.wait_seq(seq)
        viewer.page.wait_for_function(f"{note}.includes('{seq} frames')")
    assert viewer.page.evaluate(note).startswith("best #3: HFD 3.")
    assert viewer.page.evaluate("framecast.tools.astro.star.best.seq") == 3
