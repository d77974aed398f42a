"""The pixel limit: every decoder reads width x height from the header, refuses before decoding."""

from __future__ import annotations

import io
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
import simplejpeg
from PIL import Image

from framecast.config.settings import Settings
from framecast.errors import ImageError, ImageTooLargeError
from framecast.imaging import DisplayOptions, check, encode, load
from framecast.imaging.formats import DEFAULT_MAX_PIXELS, header_size, sniff
from tests.imaging.samples import (
    fits_card,
    fits_claiming,
    fits_header,
    jpeg_claiming,
    png_claiming,
    tiff_claiming,
)

#: Most memory a refusal may cost (traced allocations or resident set growth).
MAX_GROWTH = 200 * 1024 * 1024
#: Longest a refusal may take.
MAX_SECONDS = 2.0

BOMBS: dict[str, Callable[[int, int], bytes]] = {
    "jpeg": jpeg_claiming,
    "png": png_claiming,
    "png-16-bit-rgb": lambda width, height: png_claiming(width, height, deep=True),
    "tiff": tiff_claiming,
    "fits": fits_claiming,
}


def refusal(call: Callable[[], object]) -> tuple[ImageTooLargeError, float, int]:
    """Run ``call``, which must raise ImageTooLargeError: the error, seconds, peak bytes grown.

    The peak is the larger of what tracemalloc saw allocated (numpy buffers included) and
    how far the resident set grew, sampled every 2 ms (allocations tracemalloc cannot see).
    """
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak_rss = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_rss
        while not done.is_set():
            peak_rss = max(peak_rss, process.memory_info().rss)
            done.wait(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ImageTooLargeError) as caught:
            call()
    finally:
        seconds = time.perf_counter() - started
        _now, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        done.set()
        sampler.join()
    return caught.value, seconds, max(traced, peak_rss - baseline)


def _entry(name: str, data: bytes, tmp_path: Path) -> Callable[[], object]:
    path = tmp_path / "bomb.img"
    path.write_bytes(data)
    return {
        "load bytes": lambda: load(data),
        "encode bytes": lambda: encode(data),
        "check bytes": lambda: check(data),
        "load path": lambda: load(path),
        "encode path": lambda: encode(str(path)),
        "check path": lambda: check(path),
    }[name]


@pytest.mark.parametrize(
    "entry", ["load bytes", "encode bytes", "check bytes", "load path", "encode path", "check path"]
)
@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_header_claiming_40000_square_is_refused_without_decoding(
    kind: str, entry: str, tmp_path: Path
) -> None:
    """A tiny file claiming 40000x40000 is refused by the default limit in < 2 s and < 200 MB."""
    data = BOMBS[kind](40000, 40000)
    assert sniff(data) == kind.partition("-")[0]  # png-16-bit-rgb is a png
    assert len(data) < 2 * 1024 * 1024
    error, seconds, grown = refusal(_entry(entry, data, tmp_path))
    assert (error.width, error.height, error.limit) == (40000, 40000, DEFAULT_MAX_PIXELS)
    assert "max_image_pixels" in str(error)
    assert seconds < MAX_SECONDS
    assert grown < MAX_GROWTH, f"{grown / 2**20:.0f} MB allocated"


def test_the_jpeg_bomb_is_600_bytes() -> None:
    """The JPEG bomb of the issue: a few hundred bytes claiming 1.6 gigapixels."""
    data = jpeg_claiming(40000, 40000)
    assert len(data) < 700
    assert simplejpeg.decode_jpeg_header(data)[:2] == (40000, 40000)


def small_image(kind: str, width: int = 20, height: int = 10) -> Any:
    """A real ``width`` x ``height`` image of ``kind`` (encoded bytes, array or PIL image)."""
    ramp = (np.arange(width * height, dtype=np.uint16).reshape(height, width) * 97) % 65535
    buffer = io.BytesIO()
    if kind == "array":
        return ramp
    if kind == "pil":
        return Image.fromarray((ramp >> 8).astype(np.uint8))
    if kind == "jpeg":
        return simplejpeg.encode_jpeg((ramp >> 8).astype(np.uint8)[:, :, None], colorspace="GRAY")
    if kind == "tiff":
        import tifffile

        tifffile.imwrite(buffer, ramp)
    elif kind == "fits":
        from astropy.io import fits

        fits.PrimaryHDU(ramp).writeto(buffer)
    elif kind == "fits-compressed":
        from astropy.io import fits

        fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(ramp)]).writeto(buffer)
    else:  # png, bmp, webp, gif: through Pillow
        Image.fromarray((ramp >> 8).astype(np.uint8)).save(buffer, format=kind.upper())
    return buffer.getvalue()


KINDS = ["array", "pil", "jpeg", "png", "tiff", "fits", "fits-compressed", "bmp", "webp", "gif"]


@pytest.mark.parametrize("kind", KINDS)
def test_images_at_the_limit_pass_and_one_pixel_less_refuses(kind: str) -> None:
    """20x10 decodes with max_pixels=200; with 199 every entry point refuses before decoding."""
    image = small_image(kind)
    assert load(image, max_pixels=200).shape[:2] == (10, 20)
    check(image, max_pixels=200)
    assert encode(image, DisplayOptions(max_pixels=200)).source_width == 20
    for call in (
        lambda: load(image, max_pixels=199),
        lambda: check(image, max_pixels=199),
        lambda: encode(image, DisplayOptions(max_pixels=199)),
    ):
        with pytest.raises(ImageTooLargeError) as caught:
            call()
        assert (caught.value.width, caught.value.height, caught.value.limit) == (20, 10, 199)


def test_no_limit_means_none() -> None:
    """max_pixels=None disables the limit (for callers that bound size themselves)."""
    image = small_image("png")
    assert load(image, max_pixels=None).shape == (10, 20)
    check(image, max_pixels=None)


def test_pillows_global_limit_is_not_the_mechanism(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow's process-wide MAX_IMAGE_PIXELS neither refuses nor warns: max_pixels decides."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # 200 px is 4x Pillow's limit
    for kind in ("png", "bmp", "gif"):  # (Pillow's WebP plugin checks the global itself)
        image = small_image(kind)
        assert load(image, max_pixels=200).shape[:2] == (10, 20), kind
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ImageTooLargeError):
        load(small_image("png"), max_pixels=199)


def test_display_options_carry_the_setting(tmp_path: Path) -> None:
    """DisplayOptions.from_settings takes max_image_pixels; the default matches the setting's."""
    settings = Settings(work_folder=tmp_path, max_image_pixels=1234)
    assert DisplayOptions.from_settings(settings).max_pixels == 1234
    assert DisplayOptions().max_pixels == Settings(work_folder=tmp_path).max_image_pixels


def test_arrays_and_pil_images_over_the_limit_are_refused() -> None:
    """An array or PIL image above the limit is refused at check() (publish) and in encode()."""
    frame = np.zeros((100, 300), np.uint16)
    for image in (frame, np.zeros((100, 300, 3), np.uint8), Image.new("L", (300, 100))):
        with pytest.raises(ImageTooLargeError, match="300x100"):
            check(image, max_pixels=29_999)
        with pytest.raises(ImageTooLargeError):
            encode(image, DisplayOptions(max_pixels=29_999))
        check(image, max_pixels=30_000)


def jpeg_with_exif(progressive: bool) -> bytes:
    """A JPEG whose frame header comes after a large EXIF segment."""
    buffer = io.BytesIO()
    picture = Image.new("RGB", (37, 23), (10, 20, 30))
    exif = Image.Exif()
    exif[0x010E] = "x" * 60_000  # ImageDescription: a ~60 kB APP1 segment first
    picture.save(buffer, format="JPEG", exif=exif, progressive=progressive)
    return buffer.getvalue()


@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_header_walk_agrees_with_libjpeg(progressive: bool) -> None:
    """The size read by walking segments (files, check()) is the size libjpeg decodes."""
    data = jpeg_with_exif(progressive)
    height, width, _colour, _sub = simplejpeg.decode_jpeg_header(data)
    assert header_size(io.BytesIO(data), "jpeg") == (width, height) == (37, 23)


def test_unreadable_headers_pass_check_and_fail_at_decoding() -> None:
    """check() refuses only what it can measure; a cut header is reported by the decoder."""
    cut = jpeg_claiming(40000, 40000)[:40]
    check(cut, max_pixels=10)
    with pytest.raises(ImageError):
        load(cut, max_pixels=10)


def _fits(*cards: bytes, data_blocks: int = 0) -> bytes:
    return fits_header(*cards) + b"\0" * 2880 * data_blocks


TRUNCATED_FITS = {
    "header without END": fits_header(fits_card("SIMPLE", True), end=False),
    "header cut mid-block": fits_header(fits_card("SIMPLE", True))[:1000],
    "no data": _fits(
        fits_card("SIMPLE", True),
        fits_card("BITPIX", 16),
        fits_card("NAXIS", 2),
        fits_card("NAXIS1", 100),
        fits_card("NAXIS2", 100),
    ),
    "half the data": _fits(
        fits_card("SIMPLE", True),
        fits_card("BITPIX", 16),
        fits_card("NAXIS", 2),
        fits_card("NAXIS1", 100),
        fits_card("NAXIS2", 100),
        data_blocks=3,
    ),
    "NAXIS not a number": _fits(
        fits_card("SIMPLE", True), fits_card("BITPIX", 16), fits_card("NAXIS", "'abc'")
    ),
    "BITPIX 7": _fits(
        fits_card("SIMPLE", True),
        fits_card("BITPIX", 7),
        fits_card("NAXIS", 2),
        fits_card("NAXIS1", 10),
        fits_card("NAXIS2", 10),
        data_blocks=1,
    ),
    "extension cut short": _fits(
        fits_card("SIMPLE", True), fits_card("NAXIS", 0), fits_card("EXTEND", True)
    )
    + _fits(
        fits_card("XTENSION", "'IMAGE   '"),
        fits_card("BITPIX", 16),
        fits_card("NAXIS", 2),
        fits_card("NAXIS1", 100),
        fits_card("NAXIS2", 100),
    ),
}


@pytest.mark.parametrize("name", sorted(TRUNCATED_FITS))
def test_truncated_or_invalid_fits_is_an_image_error(name: str) -> None:
    """Cut or invalid FITS headers raise ImageError (never TypeError, KeyError or a warning)."""
    with pytest.raises(ImageError) as caught:
        load(TRUNCATED_FITS[name])
    assert not isinstance(caught.value, ImageTooLargeError)
