"""Tests of framecast.imaging: decoding, display mapping, encoding. Pure, no server."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simplejpeg
from PIL import Image

from framecast import imaging
from framecast.config import Settings
from framecast.errors import ConfigError, ImageError
from framecast.imaging import DisplayOptions, check, encode, load, placeholder_jpeg, snapshot_jpeg


def beam(height: int = 240, width: int = 320, *, peak: float = 20000.0) -> np.ndarray[Any, Any]:
    """A uint16 Gaussian spot on a noisy background, like a camera frame."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:height, 0:width]
    spot = peak * np.exp(-((x - width * 0.4) ** 2 + (y - height * 0.6) ** 2) / (2 * 20.0**2))
    frame = 1000 + spot + rng.normal(0, 30, (height, width))
    return frame.astype(np.uint16)


def gray(jpeg: bytes) -> np.ndarray[Any, Any]:
    """Decode a JPEG to a 2-D uint8 array (what the browser would show, in grey)."""
    decoded: np.ndarray[Any, Any] = simplejpeg.decode_jpeg(jpeg, colorspace="GRAY")
    return decoded[:, :, 0]


def assert_visible_contrast(jpeg: bytes) -> None:
    """The picture is neither black nor white nor flat: dark background and a bright spot."""
    shown = gray(jpeg)
    assert shown.min() < 40, "nothing is dark"
    assert shown.max() > 200, "nothing is bright"
    assert 2 < shown.mean() < 200
    assert shown.std() > 5


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


# -- display mapping -------------------------------------------------------------------------


def test_uint16_frame_displays_with_contrast() -> None:
    """A 16-bit camera frame is auto-stretched: dark background, bright beam, not clipped."""
    encoded = encode(beam())
    assert (encoded.width, encoded.height) == (320, 240)
    assert_visible_contrast(encoded.jpeg)


def test_uint8_passes_through_unchanged() -> None:
    """8-bit data is never stretched, even when it only uses a few levels."""
    frame = np.full((16, 16), 10, np.uint8)
    frame[:8] = 20
    shown = imaging.to_display(frame)
    assert shown.shape == (16, 16, 1)
    assert np.array_equal(shown[:, :, 0], frame)


@pytest.mark.parametrize(
    "dtype",
    [
        "int8",
        "int16",
        "uint32",
        "int32",
        "int64",
        "float16",
        "float32",
        "float64",
        ">u2",
        ">f4",
        "<i2",
    ],
)
def test_every_dtype_is_stretched_to_the_full_display_range(dtype: str) -> None:
    """Integer and float data of every width and byte order map to 0..255 with a bright spot."""
    data = beam().astype(np.float64) / 65535.0 * 120.0
    frame = (data if np.dtype(dtype).kind == "u" else data - 10.0).astype(dtype)
    shown = imaging.to_display(frame)[:, :, 0]
    assert shown.dtype == np.uint8
    assert shown.min() <= 5 and shown.max() >= 250
    assert shown.mean() < 128  # mostly background


def test_negative_int16_values_keep_their_order() -> None:
    """Signed data below zero is darker than data above zero."""
    frame = np.array([[-30000, -1, 0, 30000]] * 4, np.int16)
    shown = imaging.to_display(frame, DisplayOptions(stretch="none"))[0, :, 0]
    assert list(shown) == sorted(shown)
    assert shown[0] < 15 and shown[-1] > 240


def test_nan_and_inf_are_safe() -> None:
    """NaN and -inf show black, +inf white, and the rest is still stretched."""
    frame = beam().astype(np.float32)
    frame[0, :10] = np.nan
    frame[1, :10] = np.inf
    frame[2, :10] = -np.inf
    shown = imaging.to_display(frame)[:, :, 0]
    assert (shown[0, :10] == 0).all()
    assert (shown[1, :10] == 255).all()
    assert (shown[2, :10] == 0).all()
    assert shown[3:].max() >= 250 and shown[3:].std() > 5


def test_all_nan_frame_is_black() -> None:
    """A frame with no finite value at all shows black instead of raising."""
    shown = imaging.to_display(np.full((8, 8), np.nan, np.float32))
    assert (shown == 0).all()


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (7, 128), (-3.5, 0), (2.5, 128)])
def test_constant_frame_is_black_or_mid_grey(value: float, expected: int) -> None:
    """A flat frame does not crash: black when <= 0, mid-grey otherwise."""
    dtype = np.float32 if isinstance(value, float) else np.uint16
    shown = imaging.to_display(np.full((8, 8), value, dtype))
    assert (shown == expected).all()


def test_sparse_frame_uses_full_range() -> None:
    """A frame that is almost all zero with a few hot pixels still shows the hot pixels."""
    frame = np.zeros((500, 500), np.uint16)
    frame[250, 250] = 4000
    shown = imaging.to_display(frame)[:, :, 0]
    assert shown[250, 250] >= 250 and shown[0, 0] == 0


def test_bool_array_is_black_and_white() -> None:
    """True is white, False black."""
    frame = np.zeros((4, 4), bool)
    frame[0] = True
    shown = imaging.to_display(frame)[:, :, 0]
    assert (shown[0] == 255).all() and (shown[1:] == 0).all()


def test_midtones_brightens_faint_data() -> None:
    """The astro midtones stretch puts the sky background near 25 % grey, unlike 'none'."""
    rng = np.random.default_rng(3)
    sky = (800 + rng.normal(0, 20, (200, 200))).astype(np.uint16)
    sky[100:104, 100:104] = 60000  # a star
    midtones = imaging.to_display(sky, DisplayOptions(stretch="midtones"))[:, :, 0]
    none = imaging.to_display(sky, DisplayOptions(stretch="none"))[:, :, 0]
    assert none.mean() < 10
    assert 40 < np.median(midtones) < 90
    assert midtones[101, 101] == 255


def test_midtones_on_float_data() -> None:
    """The midtones stretch also works on float frames in 0..1 and on signed data."""
    rng = np.random.default_rng(4)
    sky = np.clip(0.05 + rng.normal(0, 0.002, (100, 100)), 0, 1).astype(np.float32)
    shown = imaging.to_display(sky, DisplayOptions(stretch="midtones"))[:, :, 0]
    assert 40 < np.median(shown) < 90
    signed = (sky * 30000).astype(np.int16)
    assert 40 < np.median(imaging.to_display(signed, DisplayOptions(stretch="midtones"))) < 90


def test_none_stretch_uses_the_dtype_range() -> None:
    """'none' maps uint16 0..65535 linearly, so a 12-bit camera looks dark."""
    frame = np.array([[0, 4095, 32768, 65535]], np.uint16)
    shown = imaging.to_display(frame, DisplayOptions(stretch="none"))[0, :, 0]
    assert shown[0] == 0 and 14 <= shown[1] <= 17 and 126 <= shown[2] <= 129
    assert shown[3] >= 254


def test_linear_stretch_is_monotonic_and_reaches_both_ends() -> None:
    """Every 16-bit level maps in order, from black to (nearly) white."""
    ramp = np.arange(0, 65536, dtype=np.uint16).reshape(256, 256)
    shown = imaging.to_display(ramp, DisplayOptions(stretch="none")).ravel()
    assert (np.diff(shown.astype(int)) >= 0).all()
    assert shown[0] == 0 and shown[-1] >= 254
    assert len(np.unique(shown)) >= 250


def test_rgb16_keeps_colour_balance() -> None:
    """An RGB frame is stretched with one set of limits, so red stays red."""
    frame = np.zeros((50, 50, 3), np.uint16)
    frame[..., 0] = 40000
    frame[..., 1] = 1000
    frame[:25, :, 2] = 40000
    shown = imaging.to_display(frame)
    assert shown.shape == (50, 50, 3)
    red = shown[40, 0]
    assert red[0] > 240 and red[1] < 20 and red[2] < 20


def test_rgba_is_composited_on_black() -> None:
    """Transparent pixels become black, opaque ones keep their colour."""
    frame = np.zeros((10, 10, 4), np.uint8)
    frame[..., 0] = 200
    frame[5:, :, 3] = 255
    shown = imaging.to_display(frame)
    assert shown.shape == (10, 10, 3)
    assert (shown[:5] == 0).all()
    assert (shown[5:, :, 0] == 200).all()


@pytest.mark.parametrize("name", imaging.COLORMAPS)
def test_colormap_turns_mono_into_colour(name: str) -> None:
    """A colormap maps black and white to its two ends, as RGB pixels."""
    ramp = np.tile(np.arange(256, dtype=np.uint8), (8, 1))
    encoded = encode(ramp, DisplayOptions(colormap=name))
    rgb = simplejpeg.decode_jpeg(encoded.jpeg, colorspace="RGB")
    table = imaging._colormap_table(name).view(np.uint8).reshape(256, 4)[:, :3]
    for column in (0, 255):
        assert np.abs(rgb[4, column].astype(int) - table[column].astype(int)).max() < 24


def test_viridis_is_not_grey() -> None:
    """viridis at mid-level is teal, clearly not grey."""
    shown = imaging.to_display(np.full((4, 4), 128, np.uint8), DisplayOptions(colormap="viridis"))
    r, g, b = shown[0, 0, :3]
    assert g > r + 60 and b > r + 60


def test_unknown_options_are_config_errors() -> None:
    """Misspelt stretch or colormap names raise ConfigError listing the choices."""
    with pytest.raises(ConfigError, match="viridis"):
        DisplayOptions(colormap="viridiss")
    with pytest.raises(ConfigError, match="midtones"):
        DisplayOptions(stretch="log")


def test_display_options_from_settings() -> None:
    """Settings' image options become the encoder's options."""
    settings = Settings(stretch="midtones", colormap="magma", max_web_size=640, jpeg_quality=70)
    assert DisplayOptions.from_settings(settings) == DisplayOptions("midtones", "magma", 640, 70)


def test_bayer_data_is_left_mono() -> None:
    """A raw Bayer mosaic is shown as mono pixels, never demosaiced or averaged."""
    mosaic = np.zeros((64, 64), np.uint16)
    mosaic[0::2, 0::2] = 30000  # red sites
    mosaic[1::2, 1::2] = 100  # blue sites
    shown = imaging.to_display(mosaic)[:, :, 0]
    assert shown.shape == (64, 64)
    assert shown[0, 0] > 240 and shown[1, 1] < 20


# -- encoding, downscale, snapshot ---------------------------------------------------------


def test_large_frame_is_downscaled_and_original_kept_for_snapshots() -> None:
    """The web JPEG fits max_size; the snapshot is the full-resolution picture."""
    frame = beam(1200, 2000)
    encoded = encode(frame, DisplayOptions(max_size=500))
    assert (encoded.width, encoded.height) == (500, 300)
    assert (encoded.source_width, encoded.source_height) == (2000, 1200)
    header = simplejpeg.decode_jpeg_header(encoded.jpeg)
    assert header[:2] == (300, 500)
    full = snapshot_jpeg(encoded.original)
    assert simplejpeg.decode_jpeg_header(full)[:2] == (1200, 2000)
    assert_visible_contrast(full)


def test_jpeg_bytes_pass_through_untouched() -> None:
    """JPEG bytes that need no downscale are published byte for byte."""
    data = simplejpeg.encode_jpeg(np.zeros((30, 40, 3), np.uint8), quality=70)
    encoded = encode(data)
    assert encoded.jpeg is data or encoded.jpeg == data
    assert (encoded.width, encoded.height) == (40, 30)
    assert snapshot_jpeg(encoded.original) == data


def test_large_jpeg_is_downscaled() -> None:
    """A JPEG larger than max_size is re-encoded smaller; the snapshot keeps the original bytes."""
    data = simplejpeg.encode_jpeg(np.full((400, 800, 3), 90, np.uint8))
    encoded = encode(data, DisplayOptions(max_size=200))
    assert (encoded.width, encoded.height) == (200, 100)
    assert (encoded.source_width, encoded.source_height) == (800, 400)


def test_corrupt_jpeg_is_an_image_error() -> None:
    """A JPEG signature followed by garbage raises ImageError, not a decoder exception."""
    with pytest.raises(ImageError, match="JPEG"):
        encode(b"\xff\xd8\xff" + b"\x00" * 50)


def test_pil_images_of_every_common_mode() -> None:
    """PIL images in L, RGB, RGBA, P, 1, I;16, I and F modes all encode."""
    modes = {
        "L": 0,
        "RGB": (1, 2, 3),
        "RGBA": (1, 2, 3, 4),
        "P": 0,
        "1": 1,
        "I;16": 500,
        "I": 70000,
        "F": 0.5,
    }
    for mode, fill in modes.items():
        picture = Image.new(mode, (20, 10), fill)
        encoded = encode(picture)
        assert (encoded.width, encoded.height) == (20, 10), mode


def test_placeholder_is_dark_with_readable_text() -> None:
    """The waiting picture has the asked size, a dark background and bright text in the middle."""
    data = placeholder_jpeg("waiting for the first image", 640, 360)
    shown = gray(data)
    assert shown.shape == (360, 640)
    assert np.median(shown) < 50
    middle = shown[150:210, 100:540]
    assert middle.max() > 180
    assert shown[:60].max() < 60  # nothing at the top: the text is centred


# -- files and bytes -------------------------------------------------------------------------


def png16_bytes(frame: np.ndarray[Any, Any]) -> bytes:
    """A 16-bit greyscale PNG written by Pillow."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def test_16bit_png_is_decoded_at_full_depth_and_shown_with_contrast(tmp_path: Path) -> None:
    """A 16-bit PNG keeps its 16-bit values and displays with visible contrast."""
    frame = beam()
    data = png16_bytes(frame)
    assert np.array_equal(load(data), frame)
    path = tmp_path / "frame.png"
    path.write_bytes(data)
    assert_visible_contrast(encode(path).jpeg)
    assert_visible_contrast(encode(str(path)).jpeg)


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
    """When astropy is missing, a FITS image raises ImageError naming the extra to install."""
    import sys

    monkeypatch.setitem(sys.modules, "astropy.io", None)
    with pytest.raises(ImageError, match=r"framecast\[fits\]"):
        load(b"SIMPLE  =                    T".ljust(80) + b"END".ljust(2800))


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
