"""framecast.imaging.decode: the cheap check and decoding of every format. Pure, no server."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from framecast.errors import ImageError
from framecast.imaging import check, encode, load
from tests.imaging.samples import (
    assert_visible_contrast,
    beam,
    gray,
    png16_bytes,
    png16_colour_bytes,
)

# -- check -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((4, 5), np.uint16),
        np.zeros((4, 5, 1), np.float32),
        np.zeros((4, 5, 3), np.uint8),
        np.zeros((4, 5, 4), np.int32),
        np.zeros((4, 5), bool),
        Image.new("L", (3, 2)),
        b"\xff\xd8\xff\xe0rest",
        b"\x89PNG\r\n\x1a\nrest",
        b"II*\x00rest",
        b"SIMPLE  =                    T",
        bytearray(b"GIF89a..."),
        memoryview(b"\xff\xd8\xff\xdb"),
    ],
)
def test_check_accepts_images(image: object) -> None:
    """Arrays of the documented shapes, PIL images and known encodings pass the cheap check."""
    check(image)


@pytest.mark.parametrize(
    ("image", "words"),
    [
        (np.zeros((4, 5, 2)), "channels"),
        (np.zeros(10), "not an image"),
        (np.zeros((2, 3, 4, 3)), "not an image"),
        (np.zeros((0, 5)), "empty"),
        (np.array([["a"]]), "dtype"),
        (np.zeros((2, 2), complex), "dtype"),
        (b"", "empty"),
        (b"hello world, not an image", "not a known image format"),
        (42, "cannot publish a int"),
        (None, "cannot publish a NoneType"),
    ],
)
def test_check_rejects_with_a_message_saying_what_to_do(image: object, words: str) -> None:
    """Wrong types, shapes, dtypes and unknown bytes raise ImageError naming the problem."""
    with pytest.raises(ImageError, match=words):
        check(image)


def test_check_rejects_missing_path_and_directory(tmp_path: Path) -> None:
    """A path must name an existing file."""
    with pytest.raises(ImageError, match="does not exist"):
        check(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="is not a file"):
        check(str(tmp_path))


# -- files and bytes -------------------------------------------------------------------------


def test_16bit_png_is_decoded_at_full_depth_and_shown_with_contrast(tmp_path: Path) -> None:
    """A 16-bit PNG keeps its 16-bit values and displays with visible contrast."""
    frame = beam()
    data = png16_bytes(frame)
    assert np.array_equal(load(data), frame)
    path = tmp_path / "frame.png"
    path.write_bytes(data)
    assert_visible_contrast(encode(path).jpeg)
    assert_visible_contrast(encode(str(path)).jpeg)


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_png_keeps_its_16_bits(channels: int) -> None:
    """A 16-bit RGB or RGBA PNG (Pillow would read 8 bits) gives back every 16-bit value and
    displays with visible contrast."""
    colour = [beam(peak=40000.0)] * 3 + [np.full(beam().shape, 65535)]
    frame = np.dstack(colour[:channels]).astype(np.uint16)
    frame[0, 0, 0] = 40001  # a value 8 bits cannot hold, in one channel only
    data = png16_colour_bytes(frame)
    got = load(data)
    assert got.dtype == np.uint16 and np.array_equal(got, frame)
    assert_visible_contrast(encode(data).jpeg)


def test_16bit_colour_png_without_imagecodecs_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without imagecodecs a 16-bit colour PNG is still shown (Pillow's 8 bits), and the log
    says once which extra keeps its 16 bits."""
    import sys

    from framecast.imaging import decode

    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    decode._deep_png_without_codecs.cache_clear()
    data = png16_colour_bytes(np.full((4, 5, 3), 40000, np.uint16))
    with caplog.at_level("WARNING", logger="framecast.imaging"):
        assert load(data).dtype == np.uint8
        assert load(data).shape == (4, 5, 3)
    said = [r.getMessage() for r in caplog.records if "framecast[codecs]" in r.getMessage()]
    assert len(said) == 1
    decode._deep_png_without_codecs.cache_clear()


def test_truncated_16bit_colour_png_is_an_image_error() -> None:
    """Half a 16-bit colour PNG is reported as corrupt or truncated."""
    data = png16_colour_bytes(np.dstack([beam()] * 3).astype(np.uint16))
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load(data[: len(data) // 2])


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "float32", "int16"])
def test_tiff_of_every_depth_shows_with_contrast(tmp_path: Path, dtype: str) -> None:
    """TIFF 8/16/32-bit and float files decode with their dtype and display with contrast."""
    import tifffile

    frame = beam()
    if dtype == "uint8":
        data = ((frame - frame.min()) / (frame.max() - frame.min()) * 255).astype(np.uint8)
    elif dtype == "float32":
        data = frame.astype(np.float32) / 65535
    else:
        data = frame.astype(dtype) if dtype != "int16" else (frame // 2).astype(np.int16)
    path = tmp_path / "frame.tif"
    tifffile.imwrite(path, data)
    assert load(path).dtype == np.dtype(dtype)
    assert np.array_equal(load(path), data)
    assert_visible_contrast(encode(path).jpeg)


def test_planar_rgb_tiff_becomes_hwc(tmp_path: Path) -> None:
    """A planar (3xHxW) TIFF is returned as HxWx3."""
    import tifffile

    rgb = np.zeros((3, 20, 30), np.uint16)
    rgb[0] = 50000
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, rgb, photometric="rgb", planarconfig="separate")
    decoded = load(path)
    assert decoded.shape == (20, 30, 3)
    assert (decoded[..., 0] == 50000).all()


def test_fits_file_shows_with_contrast_and_flipped(tmp_path: Path) -> None:
    """A uint16 FITS image (int16 + BZERO) displays with contrast, FITS row 0 at the bottom."""
    from astropy.io import fits

    frame = beam()
    frame[0, :] = 60000  # first FITS row: shown at the bottom
    path = tmp_path / "frame.fits"
    fits.PrimaryHDU(frame).writeto(path)
    decoded = load(path)
    assert decoded.dtype == np.uint16 and decoded.dtype.isnative
    assert np.array_equal(decoded, frame[::-1])
    encoded = encode(path)
    assert_visible_contrast(encoded.jpeg)
    assert gray(encoded.jpeg)[-1].mean() > 200


def test_fits_float_and_colour_cube(tmp_path: Path) -> None:
    """Float FITS images and 3xHxW colour cubes decode to HxW and HxWx3."""
    from astropy.io import fits

    path = tmp_path / "float.fits"
    fits.PrimaryHDU(beam().astype(np.float32)).writeto(path)
    assert load(path).dtype == np.float32
    assert_visible_contrast(encode(path).jpeg)
    cube = np.stack([beam(), beam() // 2, beam() // 4])
    path = tmp_path / "cube.fits"
    fits.PrimaryHDU(cube).writeto(path)
    assert load(path).shape == (240, 320, 3)


def test_fits_without_astropy_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """When astropy is missing, a FITS image raises ImageError naming the extra to install
    and where: on the server that decodes it (a producer pushing FITS gets this message
    back, and needs nothing itself)."""
    import sys

    monkeypatch.setitem(sys.modules, "astropy.io", None)
    with pytest.raises(ImageError) as caught:
        load(b"SIMPLE  =                    T".ljust(80) + b"END".ljust(2800))
    text = str(caught.value)
    assert "install it where the server runs (pip install 'framecast[fits]' there" in text
    assert "a producer sending FITS needs nothing" in text


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"II*\x00" + b"\x01" * 40,
        b"GIF89a" + b"\x00" * 10,
        b"SIMPLE  =                    T" + b"garbage" * 3,
    ],
)
def test_corrupt_bytes_are_image_errors(data: bytes) -> None:
    """Corrupt PNG/TIFF/GIF/FITS bytes raise ImageError, never another exception."""
    with pytest.raises(ImageError):
        load(data)


def test_truncated_png_is_an_image_error() -> None:
    """Half a PNG is reported as corrupt or truncated."""
    data = png16_bytes(beam())
    with pytest.raises(ImageError, match="corrupt or truncated"):
        encode(data[: len(data) // 2])


def test_text_file_is_an_image_error(tmp_path: Path) -> None:
    """A text file with an image name is not an image."""
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(ImageError, match="not a known image format"):
        encode(path)


def test_other_pillow_formats_decode() -> None:
    """Formats Pillow knows beyond the big four (WebP, BMP, PPM) decode."""
    picture = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) * 4)
    for fmt in ("WEBP", "BMP", "PPM"):
        buffer = io.BytesIO()
        picture.save(buffer, format=fmt)
        check(buffer.getvalue())
        assert load(buffer.getvalue()).shape[:2] == (8, 8), fmt


def test_a_corrupt_deflate_tiff_is_an_image_error() -> None:
    """A TIFF whose compressed strip is garbage (zlib would raise its own error) is reported
    as an ImageError, like any other corrupt image."""
    import tifffile

    out = io.BytesIO()
    tifffile.imwrite(out, np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), compression="zlib")
    data = bytearray(out.getvalue())
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tif:
        start = tif.pages.first.dataoffsets[0]
    data[start : start + 8] = b"\xff" * 8  # no longer a zlib stream
    with pytest.raises(ImageError, match="corrupt"):
        load(bytes(data))
