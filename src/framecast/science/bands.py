"""A raw file as a header and bands of rows: how a download is written, one band at a time,
never the whole file at once (docs/science.md, "Big downloads"). Pure.

A :class:`Bands` describes one file: its header, how many bands follow and how to make
band ``i``, the trailer, and the total length (``Content-Length``). Each band holds at most
:data:`BAND_BYTES` of rows (at least one row), so what a download holds at any moment is
one band, whatever the frame's size. Joining the pieces (:meth:`Bands.join`) gives exactly
the file :mod:`framecast.science.rawfiles` writes whole.

- :func:`npy` writes a ``.npy`` file whose rows it asks a function for, band by band (rows
  of the raw array, of a rectangle of it or of a lower level of its pyramid, or rows
  reduced from the frame on demand); :func:`npy_of` is that for an array held in memory.
- :func:`fits` writes a FITS primary HDU: each plane's rows bottom-up, converted to FITS's
  storage band by band.
- :func:`of_bytes` cuts a file already made (a compressed answer kept with its frame).

A band of rows that are contiguous in memory already held is a view of it, not a copy
(:attr:`Bands.free`): the web layer writes those at once and makes the others in a worker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from framecast.science import rawfiles

__all__ = ["BAND_BYTES", "Bands", "fits", "npy", "npy_of", "of_bytes", "rows_per_band"]

#: Most bytes of one band (one row at least, however long).
BAND_BYTES = 1024 * 1024

Piece = bytes | memoryview
Rows = Callable[[int, int], np.ndarray[Any, Any]]


@dataclass(frozen=True, slots=True)
class Bands:
    """A file written as ``header``, bands ``0`` to ``count - 1`` (``make(i)``), ``trailer``;
    ``length`` bytes in all. ``free``: making a band costs nothing (a view of memory held)."""

    header: bytes
    count: int
    make: Callable[[int], Piece]
    length: int
    trailer: bytes = b""
    free: bool = False

    def pieces(self) -> Iterator[Piece]:
        """Every piece of the file in order (header, bands, trailer)."""
        yield self.header
        for index in range(self.count):
            yield self.make(index)
        if self.trailer:
            yield self.trailer

    def join(self) -> bytes:
        """The whole file at once (a broker's answer, a test)."""
        return b"".join(self.pieces())


def rows_per_band(row_bytes: int, band_bytes: int = BAND_BYTES) -> int:
    """How many rows of ``row_bytes`` one band holds: at most ``band_bytes``, one at least."""
    return max(1, band_bytes // max(1, row_bytes))


def _piece(block: np.ndarray[Any, Any]) -> memoryview:
    """``block``'s bytes in C order: a view when they are contiguous already, else a copy."""
    return np.ascontiguousarray(block).data.cast("B")


def npy(
    dtype: np.dtype[Any],
    shape: tuple[int, ...],
    rows: Rows,
    *,
    free: bool = False,
    band_bytes: int = BAND_BYTES,
) -> Bands:
    """The ``.npy`` file of an array of ``dtype`` and ``shape`` whose rows ``r0 ≤ r < r1``
    are ``rows(r0, r1)`` (any layout; written in C order). ``free``: those are views of
    contiguous memory already held."""
    height = shape[0]
    row_bytes = math.prod(shape[1:]) * dtype.itemsize
    per_band = rows_per_band(row_bytes, band_bytes)
    header = rawfiles.npy_header(dtype, shape)

    def make(index: int) -> Piece:
        first = index * per_band
        return _piece(rows(first, min(first + per_band, height)))

    count = -(-height // per_band)
    return Bands(header, count, make, len(header) + height * row_bytes, free=free)


def npy_of(array: np.ndarray[Any, Any], *, band_bytes: int = BAND_BYTES) -> Bands:
    """The ``.npy`` file of ``array`` (held in memory: a C-contiguous one is written from
    views of it, never copied)."""
    return npy(
        array.dtype,
        tuple(int(n) for n in array.shape),
        lambda first, last: array[first:last],
        free=bool(array.flags.c_contiguous),
        band_bytes=band_bytes,
    )


def fits(
    array: np.ndarray[Any, Any],
    metadata: Mapping[str, Any] | None = None,
    *,
    band_bytes: int = BAND_BYTES,
) -> Bands:
    """The FITS file :func:`~framecast.science.rawfiles.fits` writes for ``array`` (H×W or
    H×W×C) and ``metadata``, in bands: each plane (channel) in turn, its rows bottom-up.
    Raises :class:`ImportError` without astropy (the header is astropy's)."""
    height, width = array.shape[:2]
    planes = array.shape[2] if array.ndim == 3 else 1
    storage = rawfiles.fits_storage(array.dtype)
    header = rawfiles.fits_header(array.dtype, tuple(int(n) for n in array.shape), metadata)
    per_band = rows_per_band(width * storage.itemsize, band_bytes)
    per_plane = -(-height // per_band)

    def make(index: int) -> Piece:
        plane, band = divmod(index, per_plane)
        top = height - band * per_band  # FITS row 0 is the picture's bottom row
        block = array[max(0, top - per_band) : top][::-1]
        if array.ndim == 3:
            block = block[:, :, plane]
        return rawfiles.fits_data(block)

    data_bytes = planes * height * width * storage.itemsize
    trailer = rawfiles.fits_padding(data_bytes)
    length = len(header) + data_bytes + len(trailer)
    return Bands(header, planes * per_plane, make, length, trailer)


def of_bytes(data: bytes, *, band_bytes: int = BAND_BYTES) -> Bands:
    """``data`` (a file made already) in bands: views of it, never copies."""
    view = memoryview(data)

    def make(index: int) -> Piece:
        return view[index * band_bytes : (index + 1) * band_bytes]

    return Bands(b"", -(-len(data) // band_bytes), make, len(data), free=True)
