"""A frame's raw array as a file: NumPy ``.npy`` and FITS (docs/science.md). Pure, CPU-bound.

- :func:`npy` writes with numpy's own writer (:func:`numpy.lib.format.write_array`), so
  ``numpy.load`` gives back the dtype, shape and values bit for bit.
- :func:`npy_gzip` is the same file compressed as gzip, streamed through the compressor in
  numpy's own chunks (never a second full copy of the frame); :class:`Deflate` compresses a
  file piece by piece, as a download sends it (:mod:`framecast.science.bands`). Level
  :data:`GZIP_LEVEL` (1):
  camera and detector data (smooth backgrounds, empty high bits of 16-bit counts) shrink
  nearly as much at level 1 as at level 6, several times faster, and the first byte of a
  freshly published frame reaches the viewer sooner. With the ``isal`` package installed,
  ISA-L's deflate does the same job about five times faster (:func:`deflater`).
- :func:`fits` writes a FITS primary HDU with astropy (the ``fits`` extra): colour as
  C×H×W planes, rows bottom-up as FITS expects (the FITS decoder flips them back, so a FITS
  file published and fetched back holds the same rows), unsigned integers the astropy way
  (``BZERO``, e.g. 32768 for ``uint16``, so astropy reads back ``uint16``), and the scalar
  metadata as header cards (``HIERARCH`` for keys that are not plain FITS keywords).
  Metadata FITS cannot hold (nested values, NaN, non-ASCII text, structural keywords) is
  left out of the header, never an error. :func:`fits_header` and :func:`fits_data` write
  the same file in pieces: the header, then rows of data, then :func:`fits_padding`.
"""

from __future__ import annotations

import functools
import importlib
import io
import math
import re
import warnings
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "FITS_BLOCK",
    "FITS_MISSING",
    "GZIP_ALWAYS_BYTES",
    "GZIP_LEVEL",
    "ISAL_LEVEL",
    "Deflate",
    "deflater",
    "fits",
    "fits_available",
    "fits_data",
    "fits_header",
    "fits_padding",
    "fits_storage",
    "gzip",
    "gzip_pays",
    "npy",
    "npy_gzip",
    "npy_header",
]

GZIP_LEVEL = 1
#: The level of ISA-L's deflate, when the ``isal`` package is installed (see :func:`deflater`).
ISAL_LEVEL = 3
#: ISA-L's level for a tile: its rows are at most a few kB long, so level 1's shorter match
#: window loses almost nothing (sizes within 12 % of level 3's on camera, detector and smooth
#: tiles) and it is faster still — a raw tile is cut while a viewer waits for it.
ISAL_TILE_LEVEL = 1
#: A FITS keyword written as a plain card; any other metadata key gets ``HIERARCH``.
_KEYWORD = re.compile(r"[A-Z0-9_-]{1,8}")
#: Keywords that describe the data's layout: never taken from the metadata.
_STRUCTURE = re.compile(
    r"(SIMPLE|BITPIX|NAXIS\d*|EXTEND|BZERO|BSCALE|BLANK|END|PCOUNT|GCOUNT|XTENSION|"
    r"COMMENT|HISTORY|CONTINUE|CHECKSUM|DATASUM|ZIMAGE|ZBITPIX|ZNAXIS\d*)",
    re.IGNORECASE,
)
_INT64 = (-(1 << 63), (1 << 63) - 1)
#: What to do when astropy is missing.
FITS_MISSING = (
    "FITS output needs astropy, which is not installed on the server; pip install 'framecast[fits]'"
)


def fits_available() -> bool:
    """Whether astropy (the ``fits`` extra) can be imported."""
    try:
        import astropy.io.fits  # noqa: F401 - imported once, then a dictionary look-up
    except ImportError:
        return False
    return True


@functools.cache
def deflater(tile: bool = False) -> tuple[Any, int]:
    """The deflate implementation and its level: ISA-L's (``isal.isal_zlib``, same gzip
    format) at its level 3 when the ``isal`` package is installed — as small as zlib's
    level 1 on camera, detector and smooth data, about five times faster on noisy 16-bit
    pixels (its levels 1–2 miss matches more than a few kB back) — else ``zlib`` at
    :data:`GZIP_LEVEL`. ``tile``: for a tile (:data:`ISAL_TILE_LEVEL`)."""
    try:
        module = importlib.import_module("isal.isal_zlib")
        return module, ISAL_TILE_LEVEL if tile else ISAL_LEVEL
    except ImportError:
        return zlib, GZIP_LEVEL


class Deflate:
    """One gzip stream, compressed piece by piece (:func:`deflater`'s implementation and
    level): :meth:`compress` each piece in order, then :meth:`flush` once. Not for two
    threads at once."""

    def __init__(self, tile: bool = False) -> None:
        module, level = deflater(tile)
        self._compressor = module.compressobj(level, module.DEFLATED, 31)  # 31: gzip wrapper

    def compress(self, data: bytes | memoryview) -> bytes:
        """The compressed bytes ready after ``data`` (often none until enough has come)."""
        out: bytes = self._compressor.compress(data)
        return out

    def flush(self) -> bytes:
        """The rest of the stream and its gzip trailer."""
        out: bytes = self._compressor.flush()
        return out


class _Gzip:
    """A write-only file that gzip-compresses what it is given into a list of chunks."""

    def __init__(self, tile: bool = False) -> None:
        self._deflate = Deflate(tile)
        self._chunks: list[bytes] = []

    def write(self, data: bytes | memoryview) -> int:
        self._chunks.append(self._deflate.compress(data))
        return len(data)

    def close(self) -> bytes:
        self._chunks.append(self._deflate.flush())
        return b"".join(self._chunks)


def npy(array: np.ndarray[Any, Any]) -> bytes:
    """``array`` in NumPy's ``.npy`` format."""
    out = io.BytesIO()
    np.lib.format.write_array(out, array, allow_pickle=False)
    return out.getvalue()


def npy_header(dtype: np.dtype[Any], shape: tuple[int, ...]) -> bytes:
    """The header of the ``.npy`` file of a C-ordered array of ``dtype`` and ``shape``: the
    bytes :func:`npy` writes before the data (its rows follow in C order)."""
    out = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False}
    np.lib.format.write_array_header_1_0(out, {**header, "shape": shape})
    return out.getvalue()


def npy_gzip(array: np.ndarray[Any, Any], *, tile: bool = False) -> bytes:
    """``array``'s ``.npy`` file, gzip-compressed (numpy writes it in chunks of 16 MiB);
    ``tile``: compressed as a tile, faster (see :data:`ISAL_TILE_LEVEL`)."""
    out = _Gzip(tile)
    np.lib.format.write_array(out, array, allow_pickle=False)
    return out.close()


#: Arrays of at most this many bytes are always compressed (their ``.npy`` header alone pays).
GZIP_ALWAYS_BYTES = 64 * 1024
#: :func:`gzip_pays` tries this many pieces of the array, evenly spread from its start to its
#: end (a frame's edges are often darker, and more compressible, than its middle) ...
GZIP_SAMPLE_PIECES = 12
#: ... of this many bytes each.
GZIP_SAMPLE_PIECE_BYTES = 8 * 1024
#: Compression must save at least this share of the sample to be worth its time.
GZIP_MIN_SAVING = 0.15


def gzip_pays(array: np.ndarray[Any, Any]) -> bool:
    """Whether gzip shrinks ``array``'s bytes enough to be worth its time: a camera's noisy
    16-bit pixels barely shrink (≈ 10 %) at tens of ms per megapixel, while a detector's
    sparse counts or a smooth frame shrink several times. Decided on a sample of
    :data:`GZIP_SAMPLE_PIECES` pieces compressed as the answer would be (:func:`deflater`;
    about a millisecond)."""
    data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    if data.size <= GZIP_ALWAYS_BYTES:
        return True
    piece = GZIP_SAMPLE_PIECE_BYTES
    step = (data.size - piece) // (GZIP_SAMPLE_PIECES - 1)
    sample = b"".join(
        data[i * step : i * step + piece].tobytes() for i in range(GZIP_SAMPLE_PIECES)
    )
    module, level = deflater()
    return len(module.compress(sample, level)) <= (1 - GZIP_MIN_SAVING) * len(sample)


def gzip(data: bytes) -> bytes:
    """``data`` gzip-compressed."""
    out = _Gzip()
    out.write(data)
    return out.close()


def fits(array: np.ndarray[Any, Any], metadata: Mapping[str, Any] | None = None) -> bytes:
    """``array`` (H×W or H×W×C) as a FITS file of one primary HDU, with ``metadata``'s
    scalar values as header cards. Raises :class:`ImportError` without astropy (see
    :func:`fits_available`)."""
    from astropy.io import fits as astropy_fits  # the optional dependency, only when asked

    data = np.flipud(array)  # FITS rows go bottom-up
    if data.ndim == 3:
        data = np.moveaxis(data, -1, 0)  # colour: one plane per channel
    if data.dtype == np.float16:
        data = data.astype(np.float32)
    elif data.dtype == np.bool_:
        data = data.astype(np.uint8)
    hdu = astropy_fits.PrimaryHDU(np.ascontiguousarray(data))
    for key, value in (metadata or {}).items():
        card = _card(astropy_fits, key, value)
        if card is not None:
            hdu.header.append(card)
    out = io.BytesIO()
    hdu.writeto(out, output_verify="exception")
    return out.getvalue()


#: A FITS file is made of blocks of this many bytes (the data padded with zeros).
FITS_BLOCK = 2880


def fits_storage(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype a FITS file holds ``dtype``'s values in, as astropy writes them: ``float16``
    as ``float32``, ``bool`` as ``uint8``, unsigned integers wider than a byte as signed
    ones offset by ``BZERO``, ``int8`` as ``uint8`` offset by ``BZERO = -128``."""
    if dtype == np.float16:
        return np.dtype(np.float32)
    if dtype == np.bool_:
        return np.dtype(np.uint8)
    if dtype.kind == "u" and dtype.itemsize > 1:
        return np.dtype(f"i{dtype.itemsize}")
    if dtype.kind == "i" and dtype.itemsize == 1:
        return np.dtype(np.uint8)
    return np.dtype(dtype)


def fits_header(
    dtype: np.dtype[Any], shape: tuple[int, ...], metadata: Mapping[str, Any] | None = None
) -> bytes:
    """The header blocks :func:`fits` writes for an array of ``dtype`` and ``shape`` (H×W or
    H×W×C) with ``metadata``: the data follows as :func:`fits_data` of each plane's rows,
    bottom row first, then :func:`fits_padding`. Raises :class:`ImportError` without
    astropy."""
    from astropy.io import fits as astropy_fits

    layout = shape if len(shape) == 2 else (shape[2], shape[0], shape[1])
    kept = np.dtype(np.float32) if dtype == np.float16 else np.dtype(dtype)
    kept = np.dtype(np.uint8) if kept == np.bool_ else kept
    # A stand-in of the right dtype and shape that holds one element: astropy derives the
    # header (BITPIX, NAXISn, BZERO) from the dtype and shape alone.
    stand_in = np.lib.stride_tricks.as_strided(
        np.zeros(1, kept), shape=layout, strides=(0,) * len(layout)
    )
    hdu = astropy_fits.PrimaryHDU(stand_in)
    for key, value in (metadata or {}).items():
        card = _card(astropy_fits, key, value)
        if card is not None:
            hdu.header.append(card)
    text: str = hdu.header.tostring()
    return text.encode("ascii")


def fits_data(rows: np.ndarray[Any, Any]) -> bytes:
    """``rows`` (of one plane, in the order the file holds them) as FITS data: big-endian,
    in :func:`fits_storage`'s dtype, offset as astropy offsets them."""
    dtype = rows.dtype
    storage = fits_storage(dtype)
    if dtype.kind == "u" and dtype.itemsize > 1:  # u - 2^(n-1): the top bit flipped
        top = np.array(np.iinfo(storage).min, storage)
        values = rows.view(storage) ^ top
    elif dtype.kind == "i" and dtype.itemsize == 1:  # v + 128: the top bit flipped
        values = rows.view(np.uint8) ^ np.uint8(0x80)
    else:
        values = rows.astype(storage, copy=False)
    out: bytes = values.astype(storage.newbyteorder(">"), copy=False).tobytes()
    return out


def fits_padding(data_bytes: int) -> bytes:
    """The zeros that fill the last block after ``data_bytes`` of data."""
    return bytes(-data_bytes % FITS_BLOCK)


def _card(astropy_fits: Any, key: object, value: object) -> Any:
    """The header card of one metadata entry, or ``None`` when FITS cannot hold it."""
    if not isinstance(key, str) or _STRUCTURE.fullmatch(key.strip()):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | str):
        pass
    elif isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            return None
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
    else:
        return None
    name = key if _KEYWORD.fullmatch(key) else f"HIERARCH {key}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a card astropy would have to mangle is left out
            card = astropy_fits.Card(name, value)
            card.verify("exception")
            str(card)  # formats it: too long for its 80 characters raises here
    except Exception:  # astropy says "cannot hold" with several exception types
        return None
    return card
