"""FITS headers read by hand: cards, HDU layout and image sizes, without astropy, without data.

A FITS file is a chain of HDUs; each is a header of 80-byte cards in 2880-byte blocks,
ended by an ``END`` card, followed by its data padded to whole blocks. What lives here
reads only headers, so it answers "how big is this image" and "is all its data there"
before a byte of pixels is touched. astropy is used only to decode the data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

__all__ = [
    "BLOCK",
    "CARD",
    "WCS_KEYWORD",
    "Hdu",
    "cards",
    "hdus",
    "image_size",
    "read_header",
    "wcs_cards",
]

BLOCK = 2880
CARD = 80
#: Longest header read (in blocks) before the file is called corrupt.
MAX_HEADER_BLOCKS = 1000
#: Most HDUs walked in one file.
MAX_HDUS = 1000
#: The header keywords of a celestial WCS that framecast keeps with a frame (docs/science.md).
WCS_KEYWORD = re.compile(
    r"(WCSAXES|CTYPE[12]|CUNIT[12]|CRVAL[12]|CRPIX[12]|CDELT[12]|CROTA2|"
    r"CD[12]_[12]|PC[12]_[12]|PV[12]_[0-9]{1,2}|LONPOLE|LATPOLE|RADESYS|EQUINOX|EPOCH|"
    r"MJD-OBS|DATE-OBS)"
)


@dataclass(frozen=True)
class Hdu:
    """One header: its cards, where it starts, and the bytes its header and data take."""

    cards: dict[str, Any]
    offset: int
    header_bytes: int
    data_bytes: int

    @property
    def end(self) -> int:
        """Offset just past this HDU's padded data."""
        return self.offset + self.header_bytes + math.ceil(self.data_bytes / BLOCK) * BLOCK


def cards(block: bytes) -> tuple[dict[str, Any], bool]:
    """Keyword → value of FITS header cards in ``block``, and whether END was reached."""
    found: dict[str, Any] = {}
    for start in range(0, len(block) - CARD + 1, CARD):
        card = block[start : start + CARD].decode("ascii", "replace")
        keyword = card[:8].strip()
        if keyword == "END":
            return found, True
        if card[8:10] != "= " or not keyword:
            continue
        found.setdefault(keyword, _value(card[10:]))
    return found, False


def _value(text: str) -> Any:
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


def read_header(handle: IO[bytes], offset: int, size: int) -> tuple[dict[str, Any], int] | None:
    """Cards of the header at ``offset`` and the header's length, or None if cut short.

    Raises ValueError for a header without END within :data:`MAX_HEADER_BLOCKS` blocks.
    """
    found: dict[str, Any] = {}
    length = 0
    while True:
        if offset + length + BLOCK > size:
            return None
        handle.seek(offset + length)
        block = handle.read(BLOCK)
        if len(block) < BLOCK:
            return None
        more, done = cards(block)
        for key, value in more.items():
            found.setdefault(key, value)
        length += BLOCK
        if done:
            return found, length
        if length >= BLOCK * MAX_HEADER_BLOCKS:
            raise ValueError("FITS header without END")


def _integer(found: dict[str, Any], key: str, default: int) -> int:
    try:
        return int(found.get(key, default))
    except (TypeError, ValueError):
        raise ValueError(f"{key} is not an integer") from None


def _axes(found: dict[str, Any], prefix: str) -> list[int]:
    naxis = _integer(found, prefix, 0)
    if not 0 <= naxis <= 999:
        raise ValueError(f"invalid {prefix}")
    axes = [_integer(found, f"{prefix}{i}", 0) for i in range(1, naxis + 1)]
    if any(n < 0 for n in axes):
        raise ValueError(f"negative {prefix}n")
    return axes


def data_bytes(found: dict[str, Any]) -> int:
    """Bytes of data the header announces (before padding); ValueError if it is invalid."""
    bitpix = _integer(found, "BITPIX", 8)
    if bitpix not in (8, 16, 32, 64, -32, -64):
        raise ValueError("invalid BITPIX")
    axes = _axes(found, "NAXIS")
    if not axes:
        return 0
    pcount = _integer(found, "PCOUNT", 0)
    gcount = _integer(found, "GCOUNT", 1)
    return abs(bitpix) * gcount * (pcount + math.prod(axes)) // 8


def hdus(handle: IO[bytes], size: int) -> Iterator[Hdu | None]:
    """Each HDU of the file in turn; ``None`` once a header is cut short (then stops).

    Raises ValueError for headers that are invalid (bad BITPIX/NAXIS, no END).
    """
    offset = 0
    for _ in range(MAX_HDUS):
        if offset >= size:
            return
        parsed = read_header(handle, offset, size)
        if parsed is None:
            yield None
            return
        found, length = parsed
        hdu = Hdu(found, offset, length, data_bytes(found))
        yield hdu
        offset = hdu.end


def image_size(hdu: Hdu) -> tuple[int, int] | None:
    """(width, height) of the image an HDU holds, or None if it holds no 2-D image.

    Tile-compressed images (``ZIMAGE = T``) count their uncompressed ``ZNAXISn``. Planes
    beyond the second axis count as more rows, except a leading colour axis of 3 or 4.
    """
    compressed = hdu.cards.get("ZIMAGE") is True
    axes = _axes(hdu.cards, "ZNAXIS" if compressed else "NAXIS")
    if not compressed and hdu.cards.get("XTENSION", "IMAGE") not in ("IMAGE", "IUEIMAGE"):
        return None
    if len(axes) < 2 or 0 in axes:
        return None
    planes = math.prod(axes[2:])
    if len(axes) == 3 and planes in (3, 4):
        planes = 1
    return axes[0], axes[1] * planes


def wcs_cards(hdu: Hdu) -> dict[str, Any]:
    """The WCS keywords of ``hdu``'s header (:data:`WCS_KEYWORD`), numbers and short text."""
    return {
        key: value
        for key, value in hdu.cards.items()
        if WCS_KEYWORD.fullmatch(key)
        and (
            (isinstance(value, int | float) and not isinstance(value, bool))
            or (isinstance(value, str) and len(value) <= 70)
        )
    }
