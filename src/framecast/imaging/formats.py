"""Which format image bytes are in, and how many pixels they claim: from the header only.

The one place that knows image formats. :func:`sniff` names the format from the first
bytes; :func:`header_size` reads width and height from the header without decoding a
pixel, and :func:`check_pixels` refuses an image above ``max_pixels`` with
:class:`~framecast.errors.ImageTooLargeError`. Decoders, ``publish()``'s cheap check and
the watched folder all go through here, so the limit is the same everywhere.

Pillow's own ``Image.MAX_IMAGE_PIXELS`` is not the mechanism: it is process-wide and only
warns up to twice its value. Pillow formats are opened with their plugin directly (what
``Image.open`` does, minus that global check) and the size read is checked here.
"""

from __future__ import annotations

import io
import os
import struct
from typing import IO, Any

from PIL import Image, ImageFile

from framecast.errors import ImageError, ImageTooLargeError
from framecast.imaging import fits

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "check_pixels",
    "fits_image",
    "fits_wcs",
    "header_size",
    "jpeg_size",
    "open_pillow",
    "png_deep_colour",
    "png_size",
    "sniff",
    "tiff_size",
]

#: The default of the ``max_image_pixels`` setting: enough for a 60 MP stack.
DEFAULT_MAX_PIXELS = 100_000_000

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
    (b"SIMPLE  =", "fits"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)

#: JPEG start-of-frame markers (every SOFn except DHT C4, JPG C8 and DAC CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: JPEG markers without a length field.
_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])
#: JPEG segments walked before giving up on finding the frame header.
_MAX_SEGMENTS = 10_000
#: Stray bytes between JPEG segments skipped before giving up (the decoder then decides).
_MAX_STRAY = 65_536


def sniff(data: bytes | bytearray | memoryview) -> str | None:
    """The format of encoded image bytes from their first bytes, or ``None`` if unknown.

    Known signatures first (jpeg, png, tiff, fits, gif, bmp), then Pillow's own
    format probes (webp, ppm, …), which only look at the prefix.
    """
    head = bytes(data[:32])
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    Image.init()
    for fmt, (_factory, accept) in Image.OPEN.items():
        try:
            if accept is not None and accept(head):
                return fmt.lower()
        except Exception:  # a probe that chokes on a short prefix simply does not match
            continue
    return None


def check_pixels(width: int, height: int, max_pixels: int | None) -> None:
    """Raise :class:`~framecast.errors.ImageTooLargeError` if width x height > ``max_pixels``."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(width, height, max_pixels)


def header_size(handle: IO[bytes], kind: str) -> tuple[int, int] | None:
    """(width, height) from the header of a ``kind`` image, or None if the header is unreadable.

    Reads only the header (seeking over everything else); never decodes pixels.
    """
    try:
        if kind == "jpeg":
            return jpeg_size(handle)
        if kind == "fits":
            size = handle.seek(0, io.SEEK_END)
            hdu = fits_image(handle, size)
            return None if hdu is None else fits.image_size(hdu)
        if kind == "tiff":
            import tifffile

            handle.seek(0)
            with tifffile.TiffFile(handle) as tif:
                return tiff_size(tif.pages.first)
        with open_pillow(handle, kind) as picture:
            return int(picture.width), int(picture.height)
    except ImageError:
        raise
    except Exception:  # any parser's complaint means "cannot tell yet": the decoder reports it
        return None


def png_deep_colour(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG of 16-bit colour (RGB or RGBA, 16 bits per sample), from its
    IHDR chunk; None for any other PNG (or not a PNG)."""
    if len(data) < 26 or data[12:16] != b"IHDR" or data[24] != 16 or data[25] not in (2, 6):
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


#: A PNG's last chunk: IEND, empty, with its CRC.
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a whole PNG (its signature, an IHDR chunk first, IEND last), from
    the header; None for anything else."""
    if len(data) < 33 or not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    if not data.endswith(_PNG_END):
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def jpeg_size(handle: IO[bytes]) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, walking the segments before it."""
    handle.seek(0)
    if handle.read(2) != b"\xff\xd8":
        return None
    stray = 0
    for _ in range(_MAX_SEGMENTS):
        byte = handle.read(1)
        while byte and byte != b"\xff":  # stray bytes: libjpeg skips to the next marker too
            stray += 1
            if stray > _MAX_STRAY:
                return None
            byte = handle.read(1)
        if not byte:
            return None
        marker = 0xFF
        while marker == 0xFF:  # fill bytes
            read = handle.read(1)
            if not read:
                return None
            marker = read[0]
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        field = handle.read(2)
        if len(field) < 2:
            return None
        (length,) = struct.unpack(">H", field)
        if marker in _SOF:
            frame = handle.read(5)
            if len(frame) < 5:
                return None
            _precision, height, width = struct.unpack(">BHH", frame)
            return width, height
        if length < 2:
            return None
        handle.seek(length - 2, io.SEEK_CUR)
    return None


def open_pillow(handle: IO[bytes], kind: str) -> ImageFile.ImageFile:
    """Open ``handle`` with the Pillow plugin of ``kind``: header only, no global pixel check."""
    Image.init()
    entry = Image.OPEN.get(kind.upper())
    if entry is None:
        raise ImageError(f"no decoder for {kind} images; use JPEG, PNG, TIFF or FITS")
    factory, _accept = entry
    handle.seek(0)
    picture = factory(handle, "")
    if not isinstance(picture, ImageFile.ImageFile):  # pragma: no cover - every plugin is one
        raise ImageError(f"the {kind} decoder did not open an image")
    return picture


def tiff_size(page: object) -> tuple[int, int]:
    """(width, height) of a tifffile page; a volume's slices count as more rows.

    Raises ImageError for more than 4 samples per pixel (never an image to show).
    """
    width = int(getattr(page, "imagewidth", 0))
    height = int(getattr(page, "imagelength", 0)) * max(1, int(getattr(page, "imagedepth", 1)))
    samples = int(getattr(page, "samplesperpixel", 1))
    if samples > 4:
        raise ImageError(f"the TIFF image has {samples} samples per pixel; use mono, RGB or RGBA")
    return width, height


def fits_wcs(image: Any) -> dict[str, Any]:
    """The WCS keywords of the image header of ``image`` when it is FITS (bytes or a path;
    anything else, or a header that cannot be read, gives none): what a FITS file says of
    the sky its pixels see (docs/science.md, "Sky coordinates"). Reads headers only."""
    try:
        if isinstance(image, bytes | bytearray | memoryview):
            if sniff(image) != "fits":
                return {}
            hdu = fits_image(io.BytesIO(bytes(image)), len(image))
        elif isinstance(image, str | os.PathLike):
            with open(image, "rb") as handle:
                if sniff(handle.read(32)) != "fits":
                    return {}
                hdu = fits_image(handle, os.fstat(handle.fileno()).st_size)
        else:
            return {}
    except (OSError, ImageError):
        return {}
    return {} if hdu is None else fits.wcs_cards(hdu)


def fits_image(handle: IO[bytes], size: int) -> fits.Hdu | None:
    """The first HDU holding a 2-D image (what the decoder shows), or None if none is seen.

    Raises ImageError for invalid headers.
    """
    try:
        for hdu in fits.hdus(handle, size):
            if hdu is None:
                return None
            if fits.image_size(hdu) is not None:
                return hdu
    except ValueError as exc:
        raise ImageError(f"the FITS header is invalid ({exc})") from None
    return None
