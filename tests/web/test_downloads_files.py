"""Files keep their depth (docs/science.md–11.2): 16-bit PNG and TIFF, FITS with BZERO/BSCALE, as
bytes and as paths, fetched back as .npy and .fits; the FITS header carries the metadata."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import tifffile
from astropy.io import fits
from PIL import Image

from framecast import ImageServer
from framecast.science import rawfiles
from tests.conftest import base
from tests.web.test_downloads import get, load, publish, raw_http, same

__all__ = ["raw_http"]  # the fixture: a client that leaves gzip bodies compressed

DEEP = np.array([[0, 1, 2, 40000], [65535, 300, 12, 9], [7, 8, 60000, 5]], dtype=np.uint16)


def png16(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG")
    return out.getvalue()


def tiff16(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    tifffile.imwrite(out, array)
    return out.getvalue()


def fits_file(data: np.ndarray, scale: tuple[float, float] | None = None) -> bytes:
    """A FITS file as astropy writes it (uint16 gets BZERO 32768; ``scale`` stores the
    floats as int16 with that BSCALE and BZERO)."""
    hdu = fits.PrimaryHDU(data)
    if scale is not None:
        hdu.scale("int16", bscale=scale[0], bzero=scale[1])
    out = io.BytesIO()
    hdu.writeto(out)
    return out.getvalue()


def read_fits(body: bytes) -> tuple[np.ndarray, Any]:
    """The data and header (as stored: read before astropy rescales the data) of a FITS file."""
    with fits.open(io.BytesIO(body)) as hdus:
        header = hdus[0].header.copy()
        data = np.array(hdus[0].data)
    return data.astype(data.dtype.newbyteorder("=")), header  # FITS is big-endian on disk


@pytest.mark.parametrize("as_path", [False, True], ids=["bytes", "path"])
async def test_16_bit_png_and_tiff_keep_their_depth(
    server: ImageServer, raw_http: aiohttp.ClientSession, tmp_path: Path, as_path: bool
) -> None:
    """A 16-bit PNG and a 16-bit TIFF, published as bytes or as a path, come back from
    /raw/<seq>.npy as the very uint16 array they hold."""
    for name, data in (("png", png16(DEEP)), ("tiff", tiff16(DEEP))):
        image: Any = data
        if as_path:
            image = tmp_path / f"deep.{name}"
            image.write_bytes(data)
            image = str(image)
        seq = await publish(server, raw_http, image, stream=name)
        status, body, headers = await get(raw_http, f"{base(server)}/s/{name}/raw/{seq}.npy")
        assert status == 200 and same(load(body, headers), DEEP), name


FITS_CASES = {
    # astropy writes uint16 as int16 with BZERO 32768 and reads it back as uint16
    "uint16": (fits_file(np.flipud(DEEP)), DEEP),
    # floats stored as int16 with BSCALE 0.5 and BZERO 100: astropy reads float32
    "bscale": (
        fits_file(np.array([[100.5, 90.0], [-50.0, 1000.5]]), scale=(0.5, 100.0)),
        np.flipud(np.array([[100.5, 90.0], [-50.0, 1000.5]], dtype=np.float32)),
    ),
}


@pytest.mark.parametrize("as_path", [False, True], ids=["bytes", "path"])
@pytest.mark.parametrize("case", sorted(FITS_CASES))
async def test_fits_with_bzero_and_bscale_round_trips(
    server: ImageServer, raw_http: aiohttp.ClientSession, tmp_path: Path, as_path: bool, case: str
) -> None:
    """A FITS file with BZERO (uint16) or BSCALE (float), published as bytes or a path:
    .npy gives the values top row first, and .fits gives astropy the same data as the
    original file (rows bottom-up, same dtype), with the metadata as header cards."""
    data, expected = FITS_CASES[case]
    original, original_header = read_fits(data)
    assert "BZERO" in original_header
    image: Any = data
    if as_path:
        image = tmp_path / "frame.fits"
        image.write_bytes(data)
        image = str(image)
    metadata = {"EXPTIME": 2.5, "observer": "Ada", "exposure_time_in_seconds": 30}
    seq = await publish(server, raw_http, image, stream=case, metadata=metadata)
    url = f"{base(server)}/s/{case}/raw/{seq}"
    status, body, headers = await get(raw_http, url + ".npy")
    assert status == 200 and same(load(body, headers), expected)
    status, body, headers = await get(raw_http, url + ".fits")
    assert status == 200
    assert headers["Content-Disposition"] == f'attachment; filename="{case}-{seq}.fits"'
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    fetched, header = read_fits(body)
    assert same(fetched, original)
    assert (header["EXPTIME"], header["observer"], header["exposure_time_in_seconds"]) == (
        2.5,
        "Ada",
        30,
    )


async def test_fits_of_a_colour_array_is_planes_bottom_up(
    server: ImageServer, raw_http: aiohttp.ClientSession
) -> None:
    """An RGB uint16 frame becomes a 3×H×W FITS cube whose rows run bottom-up, read back by
    astropy as uint16 (BZERO 32768)."""
    rgb = np.random.default_rng(11).integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    seq = await publish(server, raw_http, rgb)
    status, body, _ = await get(raw_http, f"{base(server)}/raw/{seq}.fits")
    assert status == 200
    fetched, header = read_fits(body)
    assert header["BZERO"] == 32768
    assert same(fetched, np.moveaxis(rgb[::-1], -1, 0))


async def test_fits_drops_what_a_header_cannot_hold(
    server: ImageServer, raw_http: aiohttp.ClientSession
) -> None:
    """Nested values, NaN, non-ASCII text, structural keywords and over-long cards are left
    out of the header; the file is still served, with the other cards."""
    metadata = {
        "GAIN": 4,
        "nested": {"a": 1},
        "list": [1, 2],
        "nan": float("nan"),
        "name": "Zoë",
        "BITPIX": 8,
        "NAXIS1": 3,
        "a_rather_long_key_name_" * 3: "x" * 70,
        "flag": True,
        "numpy": np.float32(1.5),
    }
    seq = await publish(server, raw_http, np.zeros((3, 4), np.int16), metadata=metadata)
    status, body, _ = await get(raw_http, f"{base(server)}/raw/{seq}.fits")
    assert status == 200
    fetched, header = read_fits(body)
    assert fetched.shape == (3, 4) and header["BITPIX"] == 16 and header["NAXIS1"] == 4
    assert (header["GAIN"], header["flag"], header["numpy"]) == (4, True, 1.5)
    for dropped in ("nested", "list", "nan", "name"):
        assert dropped not in header, dropped


def test_fits_cards_of_the_pure_writer() -> None:
    """rawfiles.fits: short upper-case keys are plain cards, others HIERARCH keeping their
    case; integers beyond 64 bits are dropped."""
    body = rawfiles.fits(np.zeros((2, 2), np.uint8), {"EXPO": 1.0, "Temp": -3, "big": 2**70})
    header = fits.Header.fromstring(body[:2880].decode("ascii"))
    cards = {card.keyword: card.value for card in header.cards}
    assert cards["EXPO"] == 1.0 and cards["Temp"] == -3 and "big" not in cards
    assert "HIERARCH Temp" in body[:2880].decode("ascii")


async def test_fits_without_astropy_is_a_501_saying_what_to_install(
    server: ImageServer, raw_http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server without astropy answers .fits with 501 and one line naming the extra to
    install; .npy still works."""
    seq = await publish(server, raw_http, DEEP)
    monkeypatch.setitem(sys.modules, "astropy.io.fits", None)  # import fails as if missing
    status, body, _ = await get(raw_http, f"{base(server)}/raw/{seq}.fits")
    assert status == 501
    text = body.decode()
    assert text.count("\n") == 1 and "pip install 'framecast[fits]'" in text
    status, _, _ = await get(raw_http, f"{base(server)}/raw/{seq}.npy")
    assert status == 200


def test_gzip_npy_is_standard_gzip_with_either_deflater(monkeypatch: pytest.MonkeyPatch) -> None:
    """npy_gzip gives a gzip file that Python's gzip module opens into the same .npy, with
    zlib and (when the isal package is installed) with ISA-L's deflate."""
    import gzip
    import importlib.util
    import zlib

    array = np.random.default_rng(14).integers(0, 65536, (300, 700), dtype=np.uint16)
    choices = [(zlib, rawfiles.GZIP_LEVEL)]
    if importlib.util.find_spec("isal") is not None:
        isal = importlib.import_module("isal.isal_zlib")
        choices += [(isal, rawfiles.ISAL_LEVEL), (isal, rawfiles.ISAL_TILE_LEVEL)]
    for choice in choices:
        monkeypatch.setattr(rawfiles, "deflater", lambda tile=False, choice=choice: choice)
        for tile in (False, True):
            body = rawfiles.npy_gzip(array, tile=tile)
            assert body[:2] == b"\x1f\x8b"
            assert gzip.decompress(body) == rawfiles.npy(array), choice
