"""Is an image file completely written? Format checks that read only what they must.

A watched folder sees files while their writers are still busy. Size stability alone is
not enough (a writer may pause mid-file), so every format is also checked for its own
notion of "whole":

========  ===========================================================================
JPEG      ends with the EOI marker ``FF D9`` (trailing zero padding allowed)
PNG       chunk walk from the signature to ``IEND``, every chunk CRC verified
FITS      headers parsed; the file is exactly the headers plus their padded data
TIFF      the first image's strips or tiles all lie inside the file
other     Pillow opens and verifies it
========  ===========================================================================

A file whose header claims more than ``max_pixels`` (width x height) is ``TOO_LARGE``
as soon as its header can be read: refused before anything decodes it. Formats and FITS
headers are read by :mod:`framecast.imaging` (the one place that knows them).

:func:`examine` answers :class:`Verdict`: ``COMPLETE``, ``INCOMPLETE`` (may still grow:
look again later), ``CORRUPT`` (will not get better), ``TOO_LARGE`` or ``NOT_IMAGE``.
Blocking file I/O: call it from a worker thread.
"""

from __future__ import annotations

import enum
import struct
import zlib
from pathlib import Path
from typing import Any

from framecast.errors import ImageError, ImageTooLargeError
from framecast.imaging import fits
from framecast.imaging.formats import check_pixels, header_size, sniff

__all__ = ["FITS_KEYS", "Verdict", "examine", "fits_metadata"]


class Verdict(enum.Enum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    CORRUPT = "corrupt"
    NOT_IMAGE = "not an image"
    TOO_LARGE = "too large"


#: FITS header keywords worth showing beside an astronomical image.
FITS_KEYS = (
    "OBJECT",
    "DATE-OBS",
    "EXPTIME",
    "EXPOSURE",
    "FILTER",
    "TELESCOP",
    "INSTRUME",
    "GAIN",
    "OFFSET",
    "CCD-TEMP",
    "XBINNING",
    "YBINNING",
    "STACKCNT",
    "NCOMBINE",
    "LIVETIME",
    "RA",
    "DEC",
    "OBJCTRA",
    "OBJCTDEC",
    "FOCALLEN",
    "AIRMASS",
)


def examine(path: Path, *, max_pixels: int | None = None) -> tuple[Verdict, str]:
    """The verdict on ``path`` and a short reason (for the log).

    A file whose header claims more than ``max_pixels`` is ``TOO_LARGE`` as soon as the
    header can be read (complete or not).
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
            size = handle.seek(0, 2)
            if size == 0:
                return Verdict.INCOMPLETE, "the file is empty"
            kind = sniff(head)
            if kind is None:
                if len(head) < 8:
                    return Verdict.INCOMPLETE, "too short to tell its format yet"
                return Verdict.NOT_IMAGE, "not a known image format"
            if max_pixels is not None:  # a header claiming too much: no need to wait for more
                refused = _limit(handle, kind, max_pixels)
                if refused is not None:
                    return refused
            if kind == "jpeg":
                return _jpeg(handle, size)
            if kind == "png":
                return _png(handle, size)
            if kind == "fits":
                return _fits(handle, size)
            if kind == "tiff":
                return _tiff(handle, size)
            return _pillow(path)
    except OSError as exc:
        return Verdict.INCOMPLETE, f"cannot read it yet ({exc.strerror})"


def _limit(handle: Any, kind: str, max_pixels: int) -> tuple[Verdict, str] | None:
    """``TOO_LARGE`` if the header claims too many pixels; None if within the limit or
    unreadable yet (the completeness check then has its say)."""
    try:
        dimensions = header_size(handle, kind)
        if dimensions is not None:
            check_pixels(*dimensions, max_pixels)
    except ImageTooLargeError as exc:
        return Verdict.TOO_LARGE, str(exc)
    except ImageError:
        return None
    return None


def _jpeg(handle: Any, size: int) -> tuple[Verdict, str]:
    handle.seek(max(0, size - 4096))
    tail = handle.read().rstrip(b"\x00")
    if tail.endswith(b"\xff\xd9"):
        return Verdict.COMPLETE, "JPEG end marker found"
    return Verdict.INCOMPLETE, "no JPEG end marker yet"


def _png(handle: Any, size: int) -> tuple[Verdict, str]:
    handle.seek(8)
    position = 8
    first = True
    while True:
        header = handle.read(8)
        if len(header) < 8:
            return Verdict.INCOMPLETE, "PNG ends before its IEND chunk"
        length, kind = struct.unpack(">I4s", header)
        if first and kind != b"IHDR":
            return Verdict.CORRUPT, "PNG does not start with IHDR"
        first = False
        if length > 0x7FFFFFFF or not kind.isalpha():
            return Verdict.CORRUPT, "PNG chunk header is invalid"
        if position + 12 + length > size:
            return Verdict.INCOMPLETE, "PNG ends inside a chunk"
        data = handle.read(length)
        (crc,) = struct.unpack(">I", handle.read(4))
        if zlib.crc32(kind + data) & 0xFFFFFFFF != crc:
            return Verdict.CORRUPT, f"PNG chunk {kind.decode('latin-1')} has a bad CRC"
        position += 12 + length
        if kind == b"IEND":
            return Verdict.COMPLETE, "PNG IEND chunk found"


def _fits(handle: Any, size: int) -> tuple[Verdict, str]:
    if size % fits.BLOCK:
        return Verdict.INCOMPLETE, "FITS size is not a multiple of 2880 yet"
    end = 0
    try:
        for hdu in fits.hdus(handle, size):
            if hdu is None:
                return Verdict.INCOMPLETE, "FITS header is cut short"
            end = hdu.end
    except (ValueError, TypeError) as exc:
        return Verdict.CORRUPT, f"FITS header is invalid ({exc})"
    if end > size:
        return Verdict.INCOMPLETE, "FITS data is shorter than its header says"
    return Verdict.COMPLETE, "FITS headers and data complete"


def _tiff(handle: Any, size: int) -> tuple[Verdict, str]:
    import tifffile

    try:
        handle.seek(0)
        with tifffile.TiffFile(handle) as tif:
            page = tif.pages.first
            ends = [
                offset + count
                for offset, count in zip(page.dataoffsets, page.databytecounts, strict=False)
            ]
    except Exception as exc:  # tifffile raises many kinds on a half-written file
        return Verdict.INCOMPLETE, f"TIFF cannot be parsed yet ({type(exc).__name__})"
    if not ends or max(ends) > size:
        return Verdict.INCOMPLETE, "TIFF image data extends past the end of the file"
    return Verdict.COMPLETE, "TIFF image data complete"


def _pillow(path: Path) -> tuple[Verdict, str]:
    from PIL import Image

    try:
        with Image.open(path) as picture:
            picture.verify()
    except Exception as exc:  # Pillow raises many kinds on a half-written file
        return Verdict.INCOMPLETE, f"Pillow cannot verify it yet ({type(exc).__name__})"
    return Verdict.COMPLETE, "Pillow verified it"


def fits_metadata(path: Path) -> dict[str, Any]:
    """Useful cards (:data:`FITS_KEYS`) of a FITS file's headers, for the metadata panel."""
    found: dict[str, Any] = {}
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        for count, hdu in enumerate(fits.hdus(handle, size)):
            if hdu is None or count >= 4:  # primary + a few extensions is plenty
                break
            for key in FITS_KEYS:
                if key in hdu.cards and key not in found:
                    found[key] = hdu.cards[key]
    return found
