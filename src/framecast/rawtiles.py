"""Raw tiles: a frame's published numbers on the DZI grid of SPEC §9 (SPEC §11.2). Pure.

Every frame with raw data, small ones too, has a raw pyramid on the same grid as the JPEG
pyramid (:mod:`framecast.tiles`: ``TileSize`` 254, ``Overlap`` 1), with ``Format`` npy:

- at the top level a tile is the raw pixels themselves, overlap included, in their dtype;
- at the level ``2^k`` times smaller, pixel ``(i, j)`` is, as ``float32``, the mean of the
  raw pixels with ``x`` in ``[i·2^k, min((i+1)·2^k, W))`` and ``y`` likewise: a block at the
  right or bottom edge averages the pixels that exist. NaN and ±inf take part as in
  ``numpy.mean`` (a block with a NaN is NaN).

A lower-level tile may cover the whole frame (level 0 is one pixel); it is reduced in bands
of rows of at most :data:`BAND_BYTES` of float64 sums, so cutting it never copies the frame
as float64 (integer pixels sum exactly: float64 holds integers up to 2^53).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .priority import pause
from .tiles import max_level, tile_rect

__all__ = ["BAND_BYTES", "FORMAT", "cut"]

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
    x0, y0, x1, y1 = rect
    scale = 1 << (max_level(width, height) - level)
    if scale == 1:
        return np.ascontiguousarray(array[y0:y1, x0:x1])
    return _block_means(array, scale, x0, y0, x1, y1)


def _block_means(
    array: np.ndarray[Any, Any], scale: int, x0: int, y0: int, x1: int, y1: int
) -> np.ndarray[Any, Any]:
    """Means of the ``scale``×``scale`` blocks ``x0 ≤ i < x1``, ``y0 ≤ j < y1``."""
    height, width = array.shape[:2]
    left, right = x0 * scale, min(x1 * scale, width)
    top, bottom = y0 * scale, min(y1 * scale, height)
    starts = np.arange(x1 - x0) * scale  # each block's first column, within [left, right)
    widths = np.minimum(starts + scale, right - left) - starts
    rest = array.shape[2:]
    channels = int(np.prod(rest)) if rest else 1
    sums = np.zeros((y1 - y0, x1 - x0, *rest), np.float64)
    band = max(1, BAND_BYTES // max(1, (right - left) * channels * 8))
    for first in range(top, bottom, band):
        pause()  # a live frame on its way goes first (framecast.priority)
        last = min(first + band, bottom)
        # sum each row over every block's columns (float64 partial sums, band rows only)
        across = np.add.reduceat(array[first:last, left:right], starts, axis=1, dtype=np.float64)
        # then add the rows of each block row that this band reaches
        block_rows = np.arange(first, last) // scale
        breaks = np.flatnonzero(np.diff(block_rows)) + 1
        heads = np.concatenate(([0], breaks))
        sums[block_rows[heads] - y0] += np.add.reduceat(across, heads, axis=0)
    heights = np.minimum((np.arange(y0, y1) + 1) * scale, bottom) - np.arange(y0, y1) * scale
    counts = heights[:, None] * widths[None, :]
    if rest:
        counts = counts.reshape(counts.shape + (1,) * len(rest))
    sums /= counts
    return sums.astype(np.float32)
