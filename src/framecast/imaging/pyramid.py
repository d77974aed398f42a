"""Deep Zoom Image pyramids of full-resolution frames (docs/tiles.md). Pure, CPU-bound.

The DZI grid: level ``L`` of a ``W×H`` image is ``ceil(W / 2^(maxLevel−L))`` by
``ceil(H / 2^(maxLevel−L))`` pixels, ``maxLevel = ceil(log2(max(W, H)))``; each level is cut
into tiles of :data:`TILE_SIZE` pixels, every tile extended by :data:`OVERLAP` pixels on
each side that has a neighbour. The maths here (:func:`max_level`, :func:`level_size`,
:func:`grid`, :func:`tile_rect`, :func:`dzi_xml`) is shared by the JPEG pyramid and, later,
the raw tiles of docs/science.md.

A :class:`Pyramid` belongs to its frame (:attr:`framecast.live.frames.Frame.pyramid`): it holds
the frame's full-resolution 8-bit display image and is dropped with the frame.
:meth:`Pyramid.tile` cuts and encodes a tile each time it is called and blocks (it resizes and
JPEG-encodes): callers run it in a worker thread, and keep the tiles they serve (the server
keeps them in its one cache of what frames answer, bounded by ``max_frame_cache_bytes`` for
every frame together, where each pyramid's tiles leave with it: :mod:`framecast.web.deepzoom`).

With a broker (docs/scale-out.md) a frame published by another node carries a
:class:`RemotePyramid`:
the full size of the publisher's pyramid, never its pixels; its tiles are asked of the
publishing node.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from framecast.imaging.encode import jpeg_of

__all__ = [
    "FORMAT",
    "OVERLAP",
    "TILE_SIZE",
    "Pyramid",
    "RemotePyramid",
    "dzi_xml",
    "grid",
    "level_size",
    "max_level",
    "tile_rect",
]

TILE_SIZE = 254
OVERLAP = 1
FORMAT = "jpg"


def max_level(width: int, height: int) -> int:
    """The top (full-size) level: ``ceil(log2(max(width, height)))``."""
    longest = max(width, height, 1)
    return (longest - 1).bit_length()  # exact ceil(log2) for integers, no float rounding


def level_size(width: int, height: int, level: int) -> tuple[int, int]:
    """Width and height of ``level`` (0 ≤ level ≤ max_level): the full size divided by
    ``2^(max_level − level)``, rounded up."""
    scale = 1 << (max_level(width, height) - level)
    return -(-width // scale), -(-height // scale)


def grid(width: int, height: int, level: int) -> tuple[int, int]:
    """Columns and rows of tiles at ``level``."""
    level_width, level_height = level_size(width, height, level)
    return -(-level_width // TILE_SIZE), -(-level_height // TILE_SIZE)


def tile_rect(
    width: int, height: int, level: int, col: int, row: int
) -> tuple[int, int, int, int] | None:
    """The tile's pixels in its level, ``(x0, y0, x1, y1)`` with the overlap included, or
    ``None`` when the level, column or row is out of range."""
    if not 0 <= level <= max_level(width, height):
        return None
    cols, rows = grid(width, height, level)
    if not (0 <= col < cols and 0 <= row < rows):
        return None
    level_width, level_height = level_size(width, height, level)
    x0 = col * TILE_SIZE - (OVERLAP if col > 0 else 0)
    y0 = row * TILE_SIZE - (OVERLAP if row > 0 else 0)
    x1 = min((col + 1) * TILE_SIZE + OVERLAP, level_width)
    y1 = min((row + 1) * TILE_SIZE + OVERLAP, level_height)
    return x0, y0, x1, y1


def dzi_xml(width: int, height: int, format: str = FORMAT) -> bytes:
    """The standard DZI descriptor of a ``width×height`` pyramid of ``format`` tiles (JPEG
    by default; ``"npy"`` for the raw tiles of docs/science.md)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" '
        f'TileSize="{TILE_SIZE}" Overlap="{OVERLAP}" Format="{format}">'
        f'<Size Width="{width}" Height="{height}"/></Image>\n'
    ).encode()


def cut(display: np.ndarray[Any, Any], level: int, col: int, row: int) -> np.ndarray[Any, Any]:
    """The pixels of one tile of ``display`` (H×W×C, uint8) at ``level``, as H×W×C uint8.

    At the top level a tile is a plain crop. Lower down, the full-resolution region the tile
    covers is thinned by striding (half the scale) and then averaged by PIL down to the
    tile's size, so a tile never copies more than about twice its own area of pixels.
    Raises :class:`IndexError` out of range.
    """
    height, width = display.shape[:2]
    rect = tile_rect(width, height, level, col, row)
    if rect is None:
        raise IndexError(f"no tile {level}/{col}_{row} in a {width}×{height} pyramid")
    x0, y0, x1, y1 = rect
    scale = 1 << (max_level(width, height) - level)
    if scale == 1:
        return display[y0:y1, x0:x1]
    step = max(1, scale // 2)
    region = display[
        y0 * scale : min(y1 * scale, height) : step, x0 * scale : min(x1 * scale, width) : step
    ]
    channels = region.shape[2]
    source = np.ascontiguousarray(region[:, :, 0] if channels == 1 else region)
    smaller = np.asarray(
        Image.fromarray(source).resize(
            (x1 - x0, y1 - y0), Image.Resampling.BILINEAR, reducing_gap=2.0
        )
    )
    return smaller[:, :, None] if channels == 1 else smaller


class Pyramid:
    """A frame's full-resolution display image, served as DZI tiles cut on demand.

    Thread-safe (it holds nothing that changes); :meth:`tile` blocks.
    """

    def __init__(self, display: np.ndarray[Any, Any], *, quality: int = 85) -> None:
        if display.ndim != 3 or display.dtype != np.uint8:
            raise ValueError("a pyramid needs an H×W×C uint8 display image")
        self.display = display
        self.height, self.width = display.shape[:2]
        self.quality = quality

    @property
    def dzi(self) -> bytes:
        return dzi_xml(self.width, self.height)

    def has_tile(self, level: int, col: int, row: int) -> bool:
        return tile_rect(self.width, self.height, level, col, row) is not None

    def tile(self, level: int, col: int, row: int) -> bytes:
        """The tile's JPEG, cut and encoded now. Raises :class:`IndexError` out of range."""
        return jpeg_of(np.ascontiguousarray(cut(self.display, level, col, row)), self.quality)


class RemotePyramid(Pyramid):
    """The pyramid of a frame published by another node (``node``): its full size, no
    pixels. Its :attr:`dzi` is the publisher's (the same size gives the same bytes);
    :meth:`tile` raises :class:`IndexError`, its tiles come from ``node`` through the broker."""

    def __init__(self, width: int, height: int, node: str) -> None:
        self.width, self.height = width, height
        self.node = node
        self.quality = 0

    def tile(self, level: int, col: int, row: int) -> bytes:
        raise IndexError(f"the tiles of this frame are cut by node {self.node}, which published it")
