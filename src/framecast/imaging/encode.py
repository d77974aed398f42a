"""Display pixels → browser-ready JPEG: downscale, encode, snapshots, the placeholder.

Pure and CPU-bound: the core calls :func:`encode` on a worker thread (simplejpeg releases
the GIL while it compresses). JPEG input that needs no downscale and no colormap passes
through byte for byte. Line art (a chart PNG, a screenshot) also gets a lossless PNG display
image (:mod:`.lineart`, docs/imaging.md "Line art").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import simplejpeg
from PIL import Image, ImageDraw, ImageFont

from framecast.errors import ImageError
from framecast.imaging.decode import ImageInput, check_array, decode_bytes, load, read_file
from framecast.imaging.display import DisplayOptions, _to_display, to_display
from framecast.imaging.formats import check_pixels
from framecast.imaging.lineart import line_art_png, lossless_source

__all__ = ["Encoded", "encode", "jpeg_of", "placeholder_jpeg", "snapshot_jpeg"]

#: What :func:`encode` does when given no options.
DEFAULT_OPTIONS = DisplayOptions()


@dataclass(frozen=True, eq=False)
class Encoded:
    """A browser-ready JPEG and what a snapshot needs to redo it at full size."""

    jpeg: bytes
    width: int
    height: int
    source_width: int
    source_height: int
    original: Any  # the full-resolution 8-bit display array, or the original JPEG bytes
    #: The pixels as published, in their own dtype (docs/science.md): the array, or a JPEG's own
    #: bytes (:meth:`framecast.science.raw.Raw.of` keeps them with the frame).
    published: np.ndarray[Any, Any] | bytes | None = None
    #: The lossless display image of line art (PNG bytes, docs/imaging.md "Line art"), shown
    #: by the viewer instead of :attr:`jpeg`; ``None`` for photographs and camera frames.
    lossless: bytes | None = None

    @property
    def format(self) -> str:
        """The display image's format: ``"png"`` for line art, else ``"jpeg"``."""
        return "png" if self.lossless is not None else "jpeg"

    @property
    def display(self) -> np.ndarray[Any, Any] | None:
        """The full-resolution 8-bit display image (H×W×C) when the frame is larger than the
        web image (downscaled to ``max_size``), else ``None``: what a deep-zoom pyramid
        (docs/tiles.md) is cut from. It is :attr:`original` itself, never a copy."""
        larger = max(self.source_width, self.source_height) > max(self.width, self.height)
        if larger and isinstance(self.original, np.ndarray) and self.original.dtype == np.uint8:
            return self.original
        return None


# -- encoding --------------------------------------------------------------------------------


def _colorspace(pixels: np.ndarray[Any, Any]) -> str:
    return {1: "GRAY", 3: "RGB", 4: "RGBX"}[pixels.shape[2]]


def _jpeg(pixels: np.ndarray[Any, Any], quality: int) -> bytes:
    colorspace = _colorspace(pixels)
    subsampling = "444" if colorspace == "GRAY" else "420"
    data: bytes = simplejpeg.encode_jpeg(
        pixels, quality=quality, colorspace=colorspace, colorsubsampling=subsampling
    )
    return data


def jpeg_of(pixels: np.ndarray[Any, Any], quality: int) -> bytes:
    """JPEG bytes of 8-bit display pixels (H×W×C, C = 1, 3 or 4, C-contiguous)."""
    return _jpeg(pixels, quality)


def _downscale(pixels: np.ndarray[Any, Any], max_size: int) -> np.ndarray[Any, Any]:
    height, width = pixels.shape[:2]
    longest = max(height, width)
    if longest <= max_size:
        return pixels
    ratio = max_size / longest
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    channels = pixels.shape[2]
    mode = {1: "L", 3: "RGB", 4: "RGBX"}[channels]
    source = pixels[:, :, 0] if channels == 1 else pixels
    smaller = Image.fromarray(source, mode=mode if mode != "L" else None).resize(
        size, Image.Resampling.BILINEAR, reducing_gap=2.0
    )
    result = np.asarray(smaller)
    return result[:, :, None] if channels == 1 else result


def _jpeg_size(data: bytes) -> tuple[int, int, str] | None:
    try:
        height, width, colorspace, _sub = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    return int(width), int(height), str(colorspace)


def encode(image: ImageInput, options: DisplayOptions = DEFAULT_OPTIONS) -> Encoded:
    """Decode, map to 8-bit, downscale to ``options.max_size`` and JPEG-encode ``image``.

    JPEG bytes (or a JPEG file) that need no downscale and no colormap pass through
    untouched. Raises :class:`~framecast.errors.ImageError` for unusable data, and
    :class:`~framecast.errors.ImageTooLargeError` before decoding an image whose header
    claims more than ``options.max_pixels``. Each image is checked once.
    """
    if isinstance(image, str | os.PathLike):
        image = read_file(image)
    lossless = lossless_source(image)
    if isinstance(image, bytes | bytearray | memoryview):
        data = bytes(image)
        if data[:3] == b"\xff\xd8\xff":
            header = _jpeg_size(data)
            if header is None:
                raise ImageError("the JPEG image is corrupt: its header cannot be read")
            width, height, colorspace = header
            check_pixels(width, height, options.max_pixels)
            mono = colorspace == "Gray"
            if max(width, height) <= options.max_size and not (mono and options.colormap):
                return Encoded(data, width, height, width, height, data, data)
        array = decode_bytes(data, "image bytes", options.max_pixels)
        check_array(array)
    elif isinstance(image, np.ndarray):
        check_array(image, max_pixels=options.max_pixels)
        array = image
    else:
        array = load(image, max_pixels=options.max_pixels)
    pixels = _to_display(array, options)
    height, width = pixels.shape[:2]
    small = _downscale(pixels, options.max_size)
    try:
        jpeg = _jpeg(small, options.quality)
    except ValueError as exc:
        raise ImageError(f"the image cannot be encoded as JPEG: {exc}") from None
    # Line art keeps its pixels: only when nothing was downscaled (that blends colours in).
    drawn = lossless and array.dtype == np.uint8 and small is pixels
    png = line_art_png(small, len(jpeg)) if drawn else None
    return Encoded(jpeg, small.shape[1], small.shape[0], width, height, pixels, array, png)


def snapshot_jpeg(original: Any, quality: int = 95) -> bytes:
    """A full-resolution JPEG of :attr:`Encoded.original` (JPEG bytes pass through)."""
    if isinstance(original, bytes | bytearray | memoryview):
        data = bytes(original)
        if data[:3] == b"\xff\xd8\xff":
            return data
        original = load(data)
    if isinstance(original, np.ndarray):
        if original.dtype == np.uint8 and original.ndim == 3 and original.shape[2] in (1, 3, 4):
            return _jpeg(np.ascontiguousarray(original), quality)
        return _jpeg(to_display(original), quality)
    return _jpeg(to_display(load(original)), quality)


# -- placeholder -----------------------------------------------------------------------------

_BACKGROUND = (24, 26, 32)
_FOREGROUND = (220, 224, 232)


def placeholder_jpeg(text: str, width: int = 1280, height: int = 720) -> bytes:
    """A dark picture with ``text`` centred on it: what viewers see before the first image."""
    width = max(16, width)
    height = max(16, height)
    picture = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(picture)
    size = max(10, min(height // 14, width // max(8, _longest_line(text.splitlines() or [""]))))
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    try:
        font = ImageFont.load_default(size=size)
    except (OSError, TypeError):  # Pillow without FreeType: the small bitmap font
        font = ImageFont.load_default()
    draw.multiline_text(
        (width / 2, height / 2), text, fill=_FOREGROUND, font=font, anchor="mm", align="center"
    )
    return _jpeg(np.asarray(picture), 90)


def _longest_line(lines: Sequence[str]) -> int:
    return max(len(line) for line in lines) * 6 // 10 + 1
