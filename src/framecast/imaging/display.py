"""Decoded arrays → 8-bit pixels for display: stretch, colormap, alpha.

Pure and CPU-bound. How data becomes 8-bit (:class:`DisplayOptions.stretch`):

``auto``
    uint8 passes through untouched; anything else is stretched linearly between robust
    percentiles (0.5 % and 99.9 %) measured on a subsample of at most ~65 000 pixels.
``midtones``
    the astro-style screen transfer function: shadows clipped 2.8 MAD below the median,
    the median mapped to 25 % grey by a midtones transfer function.
``none``
    the full range of the dtype (floats: their finite min..max).

NaN and ±inf never crash the mapping (NaN and -inf show black, +inf white); a constant
frame shows black (value <= 0) or mid-grey. Mono data can get a colormap
(:data:`COLORMAPS`). RGBA is composited on black.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from framecast.errors import ConfigError, spell
from framecast.imaging.decode import check_array
from framecast.imaging.formats import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from framecast.config.settings import Settings

__all__ = ["COLORMAPS", "STRETCHES", "DisplayOptions", "to_display"]

STRETCHES = ("auto", "midtones", "none")

#: Robust limits of the ``auto`` stretch, in percent.
AUTO_PERCENTILES = (0.5, 99.9)
#: Pixels looked at to measure the limits (a strided subsample, never the full frame).
SAMPLE_PIXELS = 65_536
#: Rows processed per block: a block's temporaries stay in the CPU cache.
BLOCK_ROWS = 64

# Anchor colours (17 evenly spaced samples) of the perceptually uniform colormaps
# published by van der Walt & Smith (viridis, inferno, magma, plasma) and Nuñez et al.
# (cividis); the 256-entry tables are interpolated from them.
_ANCHORS: dict[str, str] = {
    "viridis": "440154 48186a 472d7b 424086 3b528b 33638d 2c728e 26828e 21918c 1fa088 "
    "28ae80 3fbc73 5ec962 84d44b addc30 d8e219 fde725",
    "inferno": "000004 0b0724 210c4a 3d0965 57106e 71196e 8a226a a32c61 bc3754 d24644 "
    "e45a31 f1731d f98e09 fcac11 f9cb35 f2ea69 fcffa4",
    "magma": "000004 0a0822 1d1147 36106b 51127c 6a1c81 832681 9c2e7f b73779 d0416f "
    "e75263 f56b5c fc8961 fea772 fec488 fde2a3 fcfdbf",
    "plasma": "0d0887 310597 4c02a1 6600a7 7e03a8 9511a1 aa2395 bc3587 cc4778 da5a6a "
    "e66c5c f0804e f89540 fdac33 fdc527 f8df25 f0f921",
    "cividis": "00224e 002e6a 1a386f 32436d 434e6c 535a6d 61656f 6f7073 7d7c78 8c8878 "
    "9b9476 aba072 bcae6c cdbb63 dec958 f0d846 fee838",
    "hot": "000000 800000 ff0000 ff8000 ffff00 ffff80 ffffff",
    "gray": "000000 ffffff",
}
COLORMAPS: tuple[str, ...] = tuple(sorted(_ANCHORS))

_colormap_tables: dict[str, NDArray[np.uint32]] = {}


def _colormap_table(name: str) -> NDArray[np.uint32]:
    """256 colours of ``name`` packed as little-endian RGBX words (one gather per pixel)."""
    table = _colormap_tables.get(name)
    if table is None:
        anchors = np.array(
            [[int(h[i : i + 2], 16) for i in (0, 2, 4)] for h in _ANCHORS[name].split()],
            dtype=np.float64,
        )
        where = np.linspace(0.0, 1.0, len(anchors))
        x = np.linspace(0.0, 1.0, 256)
        rgbx = np.zeros((256, 4), dtype=np.uint8)
        for channel in range(3):
            rgbx[:, channel] = np.rint(np.interp(x, where, anchors[:, channel]))
        rgbx[:, 3] = 255
        table = rgbx.view("<u4").reshape(256).astype(np.uint32)
        _colormap_tables[name] = table
    return table


# -- options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisplayOptions:
    """How an image is turned into the web JPEG."""

    stretch: str = "auto"
    colormap: str | None = None
    max_size: int = 4096
    quality: int = 85
    #: Largest width x height decoded; bigger images raise ImageTooLargeError unread.
    max_pixels: int | None = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.stretch not in STRETCHES:
            raise ConfigError(
                f"stretch {self.stretch!r} is unknown; use one of {', '.join(STRETCHES)}"
            )
        if self.colormap is not None and self.colormap not in _ANCHORS:
            raise ConfigError(
                f"colormap {self.colormap!r} is unknown; give {spell('colormap')} one of "
                f"{', '.join(COLORMAPS)}"
            )
        if self.max_size < 1:
            raise ConfigError(f"max size {self.max_size} must be at least 1 pixel")
        if not 1 <= self.quality <= 100:
            raise ConfigError(f"jpeg quality {self.quality} must be between 1 and 100")
        if self.max_pixels is not None and self.max_pixels < 1:
            raise ConfigError(f"max image pixels {self.max_pixels} must be at least 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> DisplayOptions:
        """The display options a server's settings ask for."""
        return cls(
            stretch=settings.stretch,
            colormap=settings.colormap,
            max_size=settings.max_web_size,
            quality=settings.jpeg_quality,
            max_pixels=settings.max_image_pixels,
        )


# -- mapping to 8-bit ------------------------------------------------------------------------


def _native(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if array.dtype.kind == "f" and array.dtype.itemsize < 4:
        return array.astype(np.float32)
    if not array.dtype.isnative:
        return array.astype(array.dtype.newbyteorder("="))
    if array.dtype.kind == "b":
        return array.view(np.uint8) * np.uint8(255)
    return array


def _sample(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """About :data:`SAMPLE_PIXELS` pixels on an odd stride (so every Bayer colour is seen)."""
    pixels = array.shape[0] * array.shape[1]
    step = max(1, math.isqrt(pixels // SAMPLE_PIXELS))
    step |= 1
    sub = array[::step, ::step]
    flat: np.ndarray[Any, Any] = sub.ravel()
    if flat.dtype.kind == "f":
        finite: np.ndarray[Any, Any] = flat[np.isfinite(flat)]
        return finite
    return flat


def _dtype_range(dtype: np.dtype[Any]) -> tuple[float, float]:
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    return 0.0, 1.0


def _full_range(array: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Finite min and max of the whole array (``(0, 0)`` if nothing is finite)."""
    if array.dtype.kind == "f":
        finite = array[np.isfinite(array)]
        if finite.size == 0:
            return 0.0, 0.0
        return float(finite.min()), float(finite.max())
    return float(array.min()), float(array.max())


def _limits(array: np.ndarray[Any, Any], stretch: str) -> tuple[float, float]:
    """The values shown as black and white (``lo == hi`` means a constant frame)."""
    if stretch == "none":
        if array.dtype.kind in "iu":
            return _dtype_range(array.dtype)
        return _full_range(array)
    sample = _sample(array)
    if sample.size:
        lo, hi = (float(v) for v in np.percentile(sample, AUTO_PERCENTILES))
        if hi > lo:
            return lo, hi
    return _full_range(array)  # sparse image: fall back to the full min..max


def _linear_int16(array: np.ndarray[Any, Any], lo: int, hi: int, out: np.ndarray[Any, Any]) -> None:
    """Linear map of 8/16-bit integer data to uint8 in cache-sized blocks, integer maths only.

    ``d = clip(x, lo, hi) - lo`` is shifted down to at most 9 bits and multiplied by a
    16-bit factor so that ``d * m >> 8`` fits uint16 and the top maps to 254..255.
    """
    span = hi - lo
    shift = max(0, span.bit_length() - 9)
    factor = 65535 // max(1, span >> shift)
    unsigned = np.dtype(f"u{array.dtype.itemsize}")
    offset = lo % (1 << (8 * array.dtype.itemsize))  # lo as the unsigned twin sees it
    rows = _block_rows(array)
    block = np.empty((rows, *array.shape[1:]), dtype=array.dtype)
    for start in range(0, array.shape[0], rows):
        part = array[start : start + rows]
        tmp = block[: part.shape[0]]
        np.clip(part, lo, hi, out=tmp)
        work = tmp.view(unsigned)
        work -= unsigned.type(offset)
        if shift:
            work >>= shift
        work *= unsigned.type(factor)
        work >>= 8
        out[start : start + rows] = work


def _linear_float(
    array: np.ndarray[Any, Any], lo: float, hi: float, out: np.ndarray[Any, Any]
) -> None:
    """Linear map of any numeric data to uint8 in float32 blocks; NaN and -inf → 0, +inf → 255."""
    scale = 255.0 / (hi - lo)
    s32 = np.float32(scale)
    o32 = np.float32(-lo * scale)
    rows = _block_rows(array)
    block = np.empty((rows, *array.shape[1:]), dtype=np.float32)
    for start in range(0, array.shape[0], rows):
        part = array[start : start + rows]
        tmp = block[: part.shape[0]]
        np.multiply(part, s32, out=tmp, dtype=np.float32, casting="unsafe")
        tmp += o32
        np.fmax(tmp, np.float32(0.0), out=tmp)  # fmax/fmin turn NaN into the bound
        np.fmin(tmp, np.float32(255.0), out=tmp)
        tmp += np.float32(0.5)
        out[start : start + rows] = tmp


def _block_rows(array: np.ndarray[Any, Any]) -> int:
    per_row = max(1, int(array.size) // max(1, int(array.shape[0])))
    return max(1, BLOCK_ROWS * 2560 // per_row)


def _mtf(m: float, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Midtones transfer function: 0→0, m→0.5, 1→1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        y = (m - 1.0) * x / ((2.0 * m - 1.0) * x - m)
    return np.where(np.isfinite(y), y, 0.0)


def _midtones_curve(array: np.ndarray[Any, Any]) -> tuple[float, float, float, float]:
    """(lo, hi, shadows, midtones) of the astro screen stretch, from a subsample."""
    if array.dtype.kind in "iu":
        lo, hi = _dtype_range(array.dtype)
        if array.dtype.kind == "u":
            lo = 0.0
    else:
        lo, hi = _full_range(array)
        if lo >= 0.0 and hi <= 1.0:
            lo, hi = 0.0, 1.0
    if hi <= lo:
        return lo, hi, 0.0, 0.5
    sample = (_sample(array).astype(np.float64) - lo) / (hi - lo)
    if sample.size == 0:
        return lo, hi, 0.0, 0.5
    median = float(np.median(sample))
    mad = float(np.median(np.abs(sample - median))) * 1.4826
    shadows = min(max(0.0, median - 2.8 * mad), 0.99)
    x0 = (median - shadows) / (1.0 - shadows)
    target = 0.25
    midtones = float(_mtf(target, np.array([x0]))[0]) if 0.0 < x0 < 1.0 else 0.5
    return lo, hi, shadows, midtones


def _midtones(array: np.ndarray[Any, Any], out: np.ndarray[Any, Any]) -> None:
    lo, hi, shadows, midtones = _midtones_curve(array)
    if hi <= lo:
        out[...] = 0
        return
    if array.dtype.kind in "iu" and array.dtype.itemsize <= 2:
        info = np.iinfo(array.dtype)
        values = np.arange(info.min, info.max + 1, dtype=np.float64)
        lut = _midtones_lut(values, lo, hi, shadows, midtones)
        # index with the unsigned twin, whose value order starts at the dtype's minimum
        twin = array.view(f"u{array.dtype.itemsize}")
        if array.dtype.kind == "i":
            lut = np.roll(lut, info.min)
        rows = _block_rows(array)
        for start in range(0, array.shape[0], rows):
            np.take(lut, twin[start : start + rows], out=out[start : start + rows])
        return
    rows = _block_rows(array)
    for start in range(0, array.shape[0], rows):
        part = array[start : start + rows].astype(np.float64)
        out[start : start + rows] = _midtones_lut(part, lo, hi, shadows, midtones)


def _midtones_lut(
    values: np.ndarray[Any, Any], lo: float, hi: float, shadows: float, midtones: float
) -> NDArray[np.uint8]:
    x = (values - lo) / (hi - lo)
    x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=0.0)
    x = np.clip((x - shadows) / (1.0 - shadows), 0.0, 1.0)
    y = _mtf(midtones, x)
    table: NDArray[np.uint8] = np.rint(np.clip(y, 0.0, 1.0) * 255.0).astype(np.uint8)
    return table


def _to_u8(array: np.ndarray[Any, Any], stretch: str) -> NDArray[np.uint8]:
    """Map one mono or RGB array (not uint8) to uint8 with ``stretch``."""
    out = np.empty(array.shape, dtype=np.uint8)
    if stretch == "midtones":
        _midtones(array, out)
        return out
    lo, hi = _limits(array, stretch)
    if not hi > lo:  # a constant frame (or nothing finite)
        out[...] = 0 if lo <= 0.0 else 128
        return out
    if array.dtype.kind in "iu" and array.dtype.itemsize <= 2:
        if array.dtype.itemsize == 1:
            array = array.astype(np.int16)
        _linear_int16(array, math.floor(lo), math.ceil(hi), out)
    else:
        _linear_float(array, lo, hi, out)
    return out


def _alpha_u8(alpha: np.ndarray[Any, Any]) -> NDArray[np.uint16]:
    if alpha.dtype == np.uint8:
        return alpha.astype(np.uint16)
    if alpha.dtype.kind in "iu":
        scaled = alpha.astype(np.float32) * np.float32(255.0 / np.iinfo(alpha.dtype).max)
    else:
        scaled = np.nan_to_num(alpha.astype(np.float32), nan=0.0) * np.float32(255.0)
    weight: NDArray[np.uint16] = np.clip(scaled, 0, 255).astype(np.uint16)
    return weight


def to_display(array: np.ndarray[Any, Any], options: DisplayOptions = DisplayOptions()) -> Any:
    """Map a decoded array to what the JPEG encoder takes: uint8 HxWx1, HxWx3 or HxWx4 (RGBX).

    uint8 data is never stretched. The colormap applies to mono data only.
    """
    check_array(array)
    return _to_display(array, options)


def _to_display(array: np.ndarray[Any, Any], options: DisplayOptions) -> Any:
    """:func:`to_display` of an array already checked."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    array = _native(array)
    alpha = None
    if array.ndim == 3 and array.shape[2] == 4:
        alpha = array[:, :, 3]
        array = array[:, :, :3]
    u8 = array if array.dtype == np.uint8 else _to_u8(array, options.stretch)
    if alpha is not None:
        weight = _alpha_u8(alpha)
        u8 = ((u8.astype(np.uint16) * weight[:, :, None] + 127) // 255).astype(np.uint8)
    if u8.ndim == 2:
        if options.colormap is not None and options.colormap != "gray":
            table = _colormap_table(options.colormap)
            rgbx = np.empty(u8.shape, dtype=np.uint32)
            rows = _block_rows(u8)
            for start in range(0, u8.shape[0], rows):
                np.take(table, u8[start : start + rows], out=rgbx[start : start + rows])
            return rgbx.view(np.uint8).reshape(*u8.shape, 4)
        return np.ascontiguousarray(u8)[:, :, None]
    return np.ascontiguousarray(u8)
