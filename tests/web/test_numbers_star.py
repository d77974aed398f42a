"""Stars, shapes and sky coordinates over real sockets (docs/science.md): /api/star measures
the star nearest to a point or says there is none, /api/stats takes a circle or a polygon,
and /api/pixel gives RA and Dec for a FITS file whose header has a celestial WCS."""

from __future__ import annotations

import io
import tempfile
from collections.abc import AsyncIterator

import aiohttp
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from framecast import ImageServer
from tests.conftest import LOCAL, base, until
from tests.web.test_numbers import get

HEADER = {
    "CTYPE1": "RA---TAN",
    "CTYPE2": "DEC--TAN",
    "CRVAL1": 10.6847,
    "CRVAL2": 41.2690,
    "CRPIX1": 16.0,
    "CRPIX2": 8.0,
    "CDELT1": -5e-4,
    "CDELT2": 5e-4,
}


def star_frame() -> np.ndarray:
    """A 64 × 80 uint16 sky of 1000 with a σ = 2 star at (40.3, 30.6) and noise."""
    rows, columns = np.indices((64, 80), dtype=np.float64)
    star = 12000 * np.exp(-0.5 * (((columns - 40.3) / 2) ** 2 + ((rows - 30.6) / 2) ** 2))
    return np.random.default_rng(4).poisson(1000 + star).astype(np.uint16)


def fits_bytes(data: np.ndarray) -> bytes:
    hdu = fits.PrimaryHDU(data)
    hdu.header.update(HEADER)
    out = io.BytesIO()
    hdu.writeto(out)
    return out.getvalue()


@pytest.fixture
async def served() -> AsyncIterator[ImageServer]:
    """Stream "sky": the star frame (seq 1); stream "fits": a FITS file with a WCS."""
    with tempfile.TemporaryDirectory() as work:
        srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_star_radius=20)
        await srv.astart()
        try:
            srv.publish(star_frame(), stream="sky")
            srv.publish(
                fits_bytes(np.arange(30 * 20, dtype=np.float32).reshape(20, 30)), stream="fits"
            )
            for name in ("sky", "fits"):
                await until(
                    lambda n=name: srv.status()["streams"].get(n, {}).get("frames_published"),
                    timeout=15,
                    what=f"{name} published",
                )
            yield srv
        finally:
            await srv.astop()


async def test_a_star_is_measured_and_no_star_is_a_404(
    served: ImageServer, http: aiohttp.ClientSession
) -> None:
    """GET /s/sky/api/star gives the centroid, FWHM 4.71 ± 0.15 and the other figures
    (immutable with seq); off the star a 404 says there is none; r beyond max_star_radius is
    a 400 naming the setting; a missing y is a 400 naming it."""
    url = base(served) + "/s/sky/api/star"
    status, body, headers = await get(http, url + "?seq=1&x=41&y=31")
    assert status == 200, body
    assert {"seq", "x", "y", "peak", "background", "fwhm_x", "fwhm_y", "fwhm", "hfd", "snr"} <= set(
        body
    )
    assert body["seq"] == 1
    assert body["x"] == pytest.approx(40.3, abs=0.05) and body["y"] == pytest.approx(30.6, abs=0.05)
    assert body["fwhm"] == pytest.approx(4.71, abs=0.15)
    assert "immutable" in headers["Cache-Control"]
    status, text, _ = await get(http, url + "?seq=1&x=8&y=8&r=5")
    assert status == 404 and text.startswith("no star within r=5 of x=8, y=8")
    status, text, _ = await get(http, url + "?seq=1&x=41&y=31&r=21")
    assert status == 400 and text.startswith("r=21 is more than max_star_radius (20)")
    status, text, _ = await get(http, url + "?x=41")
    assert status == 400 and text.startswith("y is missing")


async def test_stats_of_a_circle_and_a_polygon(
    served: ImageServer, http: aiohttp.ClientSession
) -> None:
    """/api/stats?circle=cx,cy,r and ?polygon=… count the pixels whose centres are inside."""
    frame = star_frame()
    rows, columns = np.indices(frame.shape)
    url = base(served) + "/s/sky/api/stats?seq=1"
    status, body, _ = await get(http, url + "&circle=40.3,30.6,6")
    assert status == 200, body
    mask = (columns - 40.3) ** 2 + (rows - 30.6) ** 2 <= 36
    assert body["count"] == int(mask.sum()) and body["sum"] == int(frame[mask].sum())
    assert body["circle"] == [40.3, 30.6, 6.0]
    status, body, _ = await get(http, url + "&polygon=10,10,20,10,20,20,10,20")
    assert status == 200 and body["count"] == 100
    assert body["sum"] == int(frame[10:20, 10:20].astype(np.int64).sum())


async def test_a_fits_files_wcs_gives_ra_and_dec(
    served: ImageServer, http: aiohttp.ClientSession
) -> None:
    """A FITS file's WCS cards join its frame's metadata (data.json), and /api/pixel at
    the top-left and bottom-right pixels answers astropy's RA/Dec of FITS pixels (0, 19)
    and (29, 0): rows counted bottom-up."""
    reference = WCS(HEADER, naxis=2)
    status, data, _ = await get(http, base(served) + "/s/fits/data.json")
    assert status == 200 and data["CTYPE1"] == "RA---TAN" and data["CRPIX2"] == 8.0
    for x, y in ((0, 0), (29, 19)):
        status, body, _ = await get(http, base(served) + f"/s/fits/api/pixel?x={x}&y={y}")
        assert status == 200, body
        ra, dec = reference.pixel_to_world_values(x, 19 - y)
        assert body["world"] == {"ra": pytest.approx(float(ra)), "dec": pytest.approx(float(dec))}
        assert body["value"] == float((19 - y) * 30 + x)
    status, body, _ = await get(http, base(served) + "/s/sky/api/pixel?x=0&y=0")
    assert status == 200 and "world" not in body
