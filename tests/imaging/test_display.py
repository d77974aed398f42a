"""framecast.imaging.display: any dtype to 8-bit, stretches, colormaps. Pure, no server."""

from __future__ import annotations

import numpy as np
import pytest
import simplejpeg

from framecast import imaging
from framecast.config.settings import Settings
from framecast.errors import ConfigError
from framecast.imaging import (
    DisplayOptions,
    display,
    encode,
)
from tests.imaging.samples import assert_visible_contrast, beam

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
    table = display._colormap_table(name).view(np.uint8).reshape(256, 4)[:, :3]
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
