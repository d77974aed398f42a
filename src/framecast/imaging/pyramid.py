"""Deep Zoom Image pyramids of full-resolution frames (SPEC §9). Pure, CPU-bound.

The DZI grid: level ``L`` of a ``W×H`` image is ``ceil(W / 2^(maxLevel−L))`` by
``ceil(H / 2^(maxLevel−L))`` pixels, ``maxLevel = ceil(log2(max(W, H)))``; each level is cut
into tiles of :data:`TILE_SIZE` pixels, every tile extended by :data:`OVERLAP` pixels on
each side that has a neighbour. The maths here (:func:`max_level`, :func:`level_size`,
:func:`grid`, :func:`tile_rect`, :func:`dzi_xml`) is shared by the JPEG pyramid and, later,
the raw tiles of SPEC §11.2.

A :class:`Pyramid` belongs to its frame (:attr:`framecast.live.frames.Frame.pyramid`): it holds
the frame's full-resolution 8-bit display image and the tiles cut so far, and is dropped with
the frame (its tiles with it). :meth:`Pyramid.tile` blocks (it resizes and JPEG-encodes):
callers run it in a worker thread.

With a broker (SPEC §10) a frame published by another node carries a :class:`RemotePyramid`:
the full size of the publisher's pyramid, never its pixels; its tiles are asked of the
publishing node.

The tiles kept by all the pyramids of a server share one bound, a :class:`TileBudget`
(``max_tile_cache_bytes``): it only counts and orders them (least recently used first,
whatever their pyramid) and, when a new tile does not fit, drops the oldest ones from their
own pyramids. A pyramid made without a budget gets one of its own.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections import OrderedDict
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
    "TileBudget",
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
    by default; ``"npy"`` for the raw tiles of SPEC §11.2)."""
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


#: A tile of a pyramid: (level, column, row).
TileKey = tuple[int, int, int]


class TileBudget:
    """The byte bound shared by the tile caches of many pyramids (``max_tile_cache_bytes``).

    Thread-safe. It holds no tile: each pyramid keeps its own (so they go with its frame);
    the budget keeps their order of use and the total, and evicts the least recently used
    tile of any pyramid when a new one would not fit. Its lock also guards the pyramids'
    caches, so that an eviction never waits on another pyramid's lock.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.lock = threading.Lock()
        self._bytes = 0
        #: Every kept tile, least recently used first: (pyramid serial, tile) → bytes.
        self._order: OrderedDict[tuple[int, TileKey], int] = OrderedDict()
        self._caches: dict[int, dict[TileKey, bytes]] = {}
        self._serials = itertools.count(1)

    @property
    def kept_bytes(self) -> int:
        """The bytes of all the tiles kept now."""
        return self._bytes

    def join(self, owner: object, cache: dict[TileKey, bytes]) -> int:
        """Count ``cache`` (``owner``'s tiles) in; its tiles are forgotten when ``owner`` is
        garbage-collected. Returns the serial that names it in :meth:`keep` and :meth:`used`."""
        with self.lock:
            serial = next(self._serials)
            self._caches[serial] = cache
        weakref.finalize(owner, self._leave, serial)
        return serial

    def used(self, serial: int, key: TileKey) -> None:
        """A kept tile was served again: it becomes the most recently used (lock held)."""
        self._order.move_to_end((serial, key))

    def keep(self, serial: int, key: TileKey, data: bytes) -> None:
        """Keep a new tile, dropping the least recently used ones of any pyramid to fit
        (lock held). A tile larger than the whole bound is not kept."""
        cache = self._caches.get(serial)
        if cache is None or key in cache or len(data) > self.max_bytes:
            return
        cache[key] = data
        self._order[(serial, key)] = len(data)
        self._bytes += len(data)
        while self._bytes > self.max_bytes:
            (owner, old), size = self._order.popitem(last=False)
            self._caches[owner].pop(old, None)
            self._bytes -= size

    def _leave(self, serial: int) -> None:
        with self.lock:
            cache = self._caches.pop(serial, {})
            for key in cache:
                self._bytes -= self._order.pop((serial, key), 0)
            cache.clear()


class Pyramid:
    """A frame's full-resolution display image, served as DZI tiles cut on demand.

    Thread-safe; :meth:`tile` blocks. The tiles cut so far are kept within ``budget``, the
    bound shared with other pyramids (most recently used kept); without one, within a
    budget of its own of ``max_cache_bytes`` (0 keeps none).
    """

    def __init__(
        self,
        display: np.ndarray[Any, Any],
        *,
        quality: int = 85,
        max_cache_bytes: int = 0,
        budget: TileBudget | None = None,
    ) -> None:
        if display.ndim != 3 or display.dtype != np.uint8:
            raise ValueError("a pyramid needs an H×W×C uint8 display image")
        self.display = display
        self.height, self.width = display.shape[:2]
        self.quality = quality
        self.budget = budget if budget is not None else TileBudget(max_cache_bytes)
        self._cache: dict[TileKey, bytes] = {}
        self._serial = self.budget.join(self, self._cache)

    @property
    def max_cache_bytes(self) -> int:
        return self.budget.max_bytes

    @property
    def dzi(self) -> bytes:
        return dzi_xml(self.width, self.height)

    @property
    def cached_bytes(self) -> int:
        """The bytes of this pyramid's own kept tiles."""
        with self.budget.lock:
            return sum(len(data) for data in self._cache.values())

    def has_tile(self, level: int, col: int, row: int) -> bool:
        return tile_rect(self.width, self.height, level, col, row) is not None

    def tile(self, level: int, col: int, row: int) -> bytes:
        """The tile's JPEG (cut and encoded now, or from the cache). Raises
        :class:`IndexError` out of range."""
        key = (level, col, row)
        with self.budget.lock:
            found = self._cache.get(key)
            if found is not None:
                self.budget.used(self._serial, key)
                return found
        data = jpeg_of(np.ascontiguousarray(cut(self.display, level, col, row)), self.quality)
        with self.budget.lock:
            self.budget.keep(self._serial, key, data)
        return data


class RemotePyramid(Pyramid):
    """The pyramid of a frame published by another node (``node``): its full size, no
    pixels. Its :attr:`dzi` is the publisher's (the same size gives the same bytes);
    :meth:`tile` raises :class:`IndexError`, its tiles come from ``node`` through the broker."""

    def __init__(self, width: int, height: int, node: str) -> None:
        self.width, self.height = width, height
        self.node = node
        self.quality = 0
        self.budget = TileBudget(0)
        self._cache = {}
        self._serial = 0

    def tile(self, level: int, col: int, row: int) -> bytes:
        raise IndexError(f"the tiles of this frame are cut by node {self.node}, which published it")
