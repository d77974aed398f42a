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

:func:`examine` answers :class:`Verdict`: ``COMPLETE``, ``INCOMPLETE`` (may still grow:
look again later), ``CORRUPT`` (will not get better) or ``NOT_IMAGE``. Blocking file I/O:
call it from a worker thread.
"""

from __future__ import annotations

import enum
import math
import struct
import zlib
from pathlib import Path
from typing import Any

from ..imaging import sniff

__all__ = ["FITS_KEYS", "Verdict", "examine", "fits_cards"]


class Verdict(enum.Enum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    CORRUPT = "corrupt"
    NOT_IMAGE = "not an image"


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

_BLOCK = 2880
_CARD = 80


def examine(path: Path) -> tuple[Verdict, str]:
    """The verdict on ``path`` and a short reason (for the log)."""
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
            if kind == "jpeg":
                return _jpeg(handle, size)
            if kind == "png":
                return _png(handle, size)
            if kind == "fits":
                return _fits(handle, size)
    except OSError as exc:
        return Verdict.INCOMPLETE, f"cannot read it yet ({exc.strerror})"
    if kind == "tiff":
        return _tiff(path, size)
    return _pillow(path)


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


def fits_cards(block: bytes) -> tuple[dict[str, Any], bool]:
    """Keyword → value of FITS header cards in ``block``, and whether END was reached."""
    cards: dict[str, Any] = {}
    for start in range(0, len(block) - _CARD + 1, _CARD):
        card = block[start : start + _CARD].decode("ascii", "replace")
        keyword = card[:8].strip()
        if keyword == "END":
            return cards, True
        if card[8:10] != "= " or not keyword:
            continue
        cards.setdefault(keyword, _fits_value(card[10:]))
    return cards, False


def _fits_value(text: str) -> Any:
    text = text.strip()
    if text.startswith("'"):
        end = text.find("'", 1)
        while end != -1 and text[end + 1 : end + 2] == "'":
            end = text.find("'", end + 2)
        return text[1:end].replace("''", "'").rstrip() if end != -1 else text[1:].rstrip()
    value = text.split("/", 1)[0].strip()
    if value in ("T", "F"):
        return value == "T"
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            continue
    return value or None


def _read_fits_header(handle: Any, offset: int, size: int) -> tuple[dict[str, Any], int] | None:
    """Cards of the header at ``offset`` and the header's length, or None if cut short."""
    cards: dict[str, Any] = {}
    length = 0
    while True:
        if offset + length + _BLOCK > size:
            return None
        handle.seek(offset + length)
        block = handle.read(_BLOCK)
        found, done = fits_cards(block)
        for key, value in found.items():
            cards.setdefault(key, value)
        length += _BLOCK
        if done:
            return cards, length
        if length > _BLOCK * 1000:
            raise ValueError("FITS header without END")


def _fits_data_size(cards: dict[str, Any]) -> int:
    bitpix = int(cards.get("BITPIX", 8))
    naxis = int(cards.get("NAXIS", 0))
    if bitpix not in (8, 16, 32, 64, -32, -64) or not 0 <= naxis <= 999:
        raise ValueError("invalid BITPIX or NAXIS")
    if naxis == 0:
        return 0
    axes = [int(cards.get(f"NAXIS{i}", 0)) for i in range(1, naxis + 1)]
    if any(n < 0 for n in axes):
        raise ValueError("negative NAXISn")
    pcount = int(cards.get("PCOUNT", 0))
    gcount = int(cards.get("GCOUNT", 1))
    bits = abs(bitpix) * gcount * (pcount + math.prod(axes))
    return bits // 8


def _fits(handle: Any, size: int) -> tuple[Verdict, str]:
    if size % _BLOCK:
        return Verdict.INCOMPLETE, "FITS size is not a multiple of 2880 yet"
    offset = 0
    try:
        while offset < size:
            parsed = _read_fits_header(handle, offset, size)
            if parsed is None:
                return Verdict.INCOMPLETE, "FITS header is cut short"
            cards, length = parsed
            data = _fits_data_size(cards)
            offset += length + math.ceil(data / _BLOCK) * _BLOCK
    except (ValueError, TypeError) as exc:
        return Verdict.CORRUPT, f"FITS header is invalid ({exc})"
    if offset > size:
        return Verdict.INCOMPLETE, "FITS data is shorter than its header says"
    return Verdict.COMPLETE, "FITS headers and data complete"


def _tiff(path: Path, size: int) -> tuple[Verdict, str]:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
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
        offset = 0
        for _ in range(4):  # primary + a few extensions is plenty
            parsed = _read_fits_header(handle, offset, size)
            if parsed is None:
                break
            cards, length = parsed
            for key in FITS_KEYS:
                if key in cards and key not in found:
                    found[key] = cards[key]
            offset += length + math.ceil(_fits_data_size(cards) / _BLOCK) * _BLOCK
            if offset >= size:
                break
    return found
