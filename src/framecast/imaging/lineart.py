"""Line art stays sharp (docs/imaging.md, "Line art"): a chart, a plot or a screenshot gets a
lossless PNG display image instead of a JPEG that rings around every line. Pure.

The rule, measured cheaply before anything is encoded twice:

1. the source is an encoded lossless image of 8 bits or fewer per channel: PNG, GIF, BMP,
   TIFF, PPM or lossless WebP bytes, such a file, or a PIL image opened from one — never a
   JPEG, never an array (arrays come from cameras, the simulator, bsread), never data of
   more than 8 bits (those are shown through a stretch);
2. its display image needs no downscale (it fits ``max_web_size``: downscaling blends new
   colours in);
3. it has few colours and flat areas, as line art has and photographs and camera frames do
   not: a sample of at most :data:`SAMPLE` pixels has at most :data:`MAX_COLOURS` colours,
   at least :data:`MIN_FLAT` of the neighbouring pixels along sampled rows are equal, and
   then the whole image has at most :data:`MAX_COLOURS` colours;
4. its PNG (a palette of exactly its colours) is at most :data:`MAX_RATIO` times the JPEG's
   size.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from framecast.imaging.formats import sniff

__all__ = ["LOSSLESS_KINDS", "MAX_COLOURS", "MAX_RATIO", "line_art_png", "lossless_source"]

#: Encoded formats that keep every pixel (``sniff``'s names).
LOSSLESS_KINDS = frozenset({"png", "gif", "bmp", "tiff", "ppm"})
#: Most distinct colours line art has (a PNG palette's size).
MAX_COLOURS = 256
#: Largest PNG, as a multiple of the JPEG's size, still preferred to the JPEG.
MAX_RATIO = 1.5
#: Pixels looked at before the whole image is (at most this many, evenly spread).
SAMPLE = 16_384
#: Share of equal neighbours along the sampled rows that makes an image "flat".
MIN_FLAT = 0.5
_ROWS = 64


def lossless_source(image: Any) -> bool:
    """Whether ``image`` (what ``publish()`` was given, a file already read) is an encoded
    lossless image: rule 1 above, but for its bit depth, known once it is decoded. Cheap: a
    few bytes of an encoded image are looked at."""
    if isinstance(image, Image.Image):
        return str(image.format).lower() in LOSSLESS_KINDS
    if isinstance(image, bytes | bytearray | memoryview):
        kind = sniff(image)
        if kind == "webp":
            return bytes(image[12:16]) == b"VP8L"
        return kind in LOSSLESS_KINDS
    return False


def _packed(pixels: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """H×W×C (C = 1, 3 or 4; the 4th is padding) 8-bit pixels as one integer per colour."""
    if pixels.shape[2] == 1:
        return pixels[:, :, 0]
    rgb = pixels[:, :, :3].astype(np.uint32)
    packed: np.ndarray[Any, Any] = (rgb[:, :, 0] << 16) | (rgb[:, :, 1] << 8) | rgb[:, :, 2]
    return packed


def _looks_drawn(pixels: np.ndarray[Any, Any]) -> bool:
    """Rule 3's cheap part: few colours in a sample, flat along sampled rows."""
    height, width = pixels.shape[:2]
    step = max(1, int(np.sqrt(height * width / SAMPLE)))
    if len(np.unique(_packed(pixels[::step, ::step]))) > MAX_COLOURS:
        return False
    if width < 2:
        return True
    rows = _packed(pixels[:: max(1, height // _ROWS)])
    return float(np.mean(rows[:, 1:] == rows[:, :-1])) >= MIN_FLAT


def line_art_png(pixels: np.ndarray[Any, Any], jpeg_size: int) -> bytes | None:
    """The PNG of ``pixels`` (the display image: H×W×C, C = 1, 3 or 4 with padding, 8-bit)
    when it looks like line art and is at most :data:`MAX_RATIO` × ``jpeg_size`` bytes
    (rules 3 and 4 above), else ``None``. Its pixels decode to exactly ``pixels``."""
    if not _looks_drawn(pixels):
        return None
    if pixels.shape[2] == 1:
        picture = Image.fromarray(np.ascontiguousarray(pixels[:, :, 0]))
    else:
        rgb = Image.fromarray(np.ascontiguousarray(pixels[:, :, :3]))
        found = rgb.getcolors(MAX_COLOURS)
        if found is None:
            return None
        # A palette of exactly the image's colours: each pixel's index by a sorted lookup.
        codes = []
        for _count, colour in found:
            if not isinstance(colour, tuple):  # an RGB image's colours are (r, g, b)
                return None
            codes.append((int(colour[0]) << 16) | (int(colour[1]) << 8) | int(colour[2]))
        colours = np.array(sorted(codes))
        index = np.searchsorted(colours, _packed(pixels)).astype(np.uint8)
        picture = Image.fromarray(index)  # mode "L": the palette makes it a "P" image
        picture.putpalette(
            np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], 1)
            .astype(np.uint8)
            .tobytes()
        )
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=6)
    data = out.getvalue()
    return data if len(data) <= MAX_RATIO * jpeg_size else None
