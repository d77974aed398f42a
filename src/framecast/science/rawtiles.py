"""Raw tiles: a frame's published numbers on the DZI grid of docs/tiles.md (docs/science.md). Pure.

Every frame with raw data, small ones too, has a raw pyramid on the same grid as the JPEG
pyramid (:mod:`framecast.imaging.pyramid`: ``TileSize`` 254, ``Overlap`` 1), with ``Format`` npy:

- at the top level a tile is the raw pixels themselves, overlap included, in their dtype;
- at the level ``2^k`` times smaller, pixel ``(i, j)`` is, as ``float32``, the mean of the
  raw pixels with ``x`` in ``[i·2^k, min((i+1)·2^k, W))`` and ``y`` likewise: a block at the
  right or bottom edge averages the pixels that exist. NaN and ±inf take part as in
  ``numpy.mean`` (a block with a NaN is NaN).

A lower-level tile may cover the whole frame (level 0 is one pixel); it is reduced in bands
of block rows of at most :data:`BAND_BYTES` of float64 sums, so cutting it never copies the
frame as float64 (integer pixels sum exactly: float64 holds integers up to 2^53).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from framecast.imaging.pyramid import level_size, max_level, tile_rect
from framecast.runtime.priority import pause

__all__ = ["BAND_BYTES", "FORMAT", "cut", "region"]

FORMAT = "npy"
#: Most bytes of float64 partial sums held at once while a lower-level tile is reduced.
BAND_BYTES = 8 * 1024 * 1024


def cut(array: np.ndarray[Any, Any], level: int, col: int, row: int) -> np.ndarray[Any, Any]:
    """Tile ``level``/``col``_``row`` of the raw ``array`` (H×W or H×W×C): a crop in the
    array's dtype at the top level, block means as ``float32`` below it.

    Raises :class:`IndexError` for a tile outside the grid.
    """
    height, width = array.shape[:2]
    rect = tile_rect(width, height, level, col, row)
    if rect is None:
        raise IndexError(f"no raw tile {level}/{col}_{row} in a {width}×{height} frame")
    return region(array, level, *rect)


def region(
    array: np.ndarray[Any, Any], level: int, x0: int, y0: int, x1: int, y1: int
) -> np.ndarray[Any, Any]:
    """The pixels ``x0 ≤ x < x1``, ``y0 ≤ y < y1`` of pyramid ``level`` of the raw
    ``array`` (the numbers its tiles hold there): a crop in the array's dtype at the top
    level, block means as ``float32`` below it.

    Raises :class:`IndexError` for a level or a rectangle outside the pyramid.
    """
    height, width = array.shape[:2]
    top = max_level(width, height)
    if not 0 <= level <= top:
        raise IndexError(f"no level {level} in the raw pyramid of a {width}×{height} frame")
    level_width, level_height = level_size(width, height, level)
    if not (0 <= x0 < x1 <= level_width and 0 <= y0 < y1 <= level_height):
        raise IndexError(
            f"no rectangle [{x0}, {x1})×[{y0}, {y1}) in level {level} "
            f"({level_width}×{level_height}) of a {width}×{height} frame"
        )
    scale = 1 << (top - level)
    if scale == 1:
        return np.ascontiguousarray(array[y0:y1, x0:x1])
    return _block_means(array, scale, x0, y0, x1, y1)


def _block_means(
    array: np.ndarray[Any, Any], scale: int, x0: int, y0: int, x1: int, y1: int
) -> np.ndarray[Any, Any]:
    """Means of the ``scale``×``scale`` blocks ``x0 ≤ i < x1``, ``y0 ≤ j < y1``.

    Block rows are summed in bands of at most :data:`BAND_BYTES` of float64: first each
    block's rows (row ``k`` of every block at once, a strided slice, for ``k`` < ``scale``),
    then each block's columns the same way; the last row or column of blocks, cut by the
    frame's edge, simply gets fewer slices. Integer pixels sum exactly in float64, in any
    order."""
    height, width = array.shape[:2]
    left, right = x0 * scale, min(x1 * scale, width)
    rest = array.shape[2:]
    channels = int(np.prod(rest)) if rest else 1
    out = np.empty((y1 - y0, x1 - x0, *rest), np.float32)
    # Pixel rows whose float64 sums fit BAND_BYTES: a live frame on its way goes first
    # (framecast.runtime.priority) between each such run of rows, at every level.
    pixel_rows = max(1, BAND_BYTES // max(1, (right - left) * channels * 8))
    band = max(1, pixel_rows // scale)  # block rows at once
    widths = np.minimum((np.arange(x0, x1) + 1) * scale, width) - np.arange(x0, x1) * scale
    for first in range(y0, y1, band):
        last = min(first + band, y1)
        top, bottom = first * scale, min(last * scale, height)
        rows = np.zeros((last - first, right - left, *rest), np.float64)
        added = pixel_rows
        for k in range(min(scale, bottom - top)):
            if added >= pixel_rows:
                pause()
                added = 0
            part = array[top + k : bottom : scale, left:right]
            rows[: len(part)] += part
            added += len(part)
        sums = np.zeros((last - first, x1 - x0, *rest), np.float64)
        for k in range(min(scale, right - left)):
            part = rows[:, k::scale]
            sums[:, : part.shape[1]] += part
        heights = (
            np.minimum((np.arange(first, last) + 1) * scale, height)
            - np.arange(first, last) * scale
        )
        counts = heights[:, None] * widths[None, :]
        if rest:
            counts = counts.reshape(counts.shape + (1,) * len(rest))
        out[first - y0 : last - y0] = sums / counts
    return out
