"""Test pictures and what a viewer would see of them (shared by the imaging tests)."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
import simplejpeg
from PIL import Image, ImageDraw


def beam(height: int = 240, width: int = 320, *, peak: float = 20000.0) -> np.ndarray[Any, Any]:
    """A uint16 Gaussian spot on a noisy background, like a camera frame."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:height, 0:width]
    spot = peak * np.exp(-((x - width * 0.4) ** 2 + (y - height * 0.6) ** 2) / (2 * 20.0**2))
    frame = 1000 + spot + rng.normal(0, 30, (height, width))
    return frame.astype(np.uint16)


def gray(jpeg: bytes) -> np.ndarray[Any, Any]:
    """Decode a JPEG to a 2-D uint8 array (what the browser would show, in grey)."""
    decoded: np.ndarray[Any, Any] = simplejpeg.decode_jpeg(jpeg, colorspace="GRAY")
    return decoded[:, :, 0]


def assert_visible_contrast(jpeg: bytes) -> None:
    """The picture is neither black nor white nor flat: dark background and a bright spot."""
    shown = gray(jpeg)
    assert shown.min() < 40, "nothing is dark"
    assert shown.max() > 200, "nothing is bright"
    assert 2 < shown.mean() < 200
    assert shown.std() > 5


def png16_bytes(frame: np.ndarray[Any, Any]) -> bytes:
    """A 16-bit greyscale PNG written by Pillow."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


# -- images whose header claims more than they hold (decompression bombs) --------------------


def jpeg_claiming(width: int, height: int) -> bytes:
    """A ~600-byte JPEG whose frame header (SOF0) claims ``width`` x ``height`` pixels."""
    small = bytearray(simplejpeg.encode_jpeg(np.zeros((16, 16, 1), np.uint8), colorspace="GRAY"))
    at = small.index(b"\xff\xc0") + 5  # marker, length (2), precision (1)
    small[at : at + 4] = struct.pack(">HH", height, width)
    return bytes(small)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png16_colour_bytes(frame: np.ndarray[Any, Any]) -> bytes:
    """A PNG of 16-bit RGB (H×W×3) or RGBA (H×W×4) ``uint16``, written here chunk by chunk
    (Pillow cannot write one)."""
    height, width, channels = frame.shape
    rows = b"".join(b"\x00" + frame[y].astype(">u2").tobytes() for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 2 if channels == 3 else 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows, 6))
        + _png_chunk(b"IEND", b"")
    )


def png_claiming(width: int, height: int, *, rows: int = 3, deep: bool = False) -> bytes:
    """An 8-bit grey PNG (``deep``: 16-bit RGB) whose IHDR claims ``width`` x ``height``; its
    IDAT holds a few rows."""
    depth, colour, bytes_per_pixel = (16, 2, 6) if deep else (8, 0, 1)
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    pixels = zlib.compress(bytes(rows * (width * bytes_per_pixel + 1)), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def tiff_claiming(width: int, height: int, *, tile: int = 1024) -> bytes:
    """A deflate TIFF of ``width`` x ``height`` zeros, written by tifffile from one
    pre-compressed tile repeated (40000 x 40000 takes ~1.6 MB and milliseconds)."""
    import tifffile

    packed = zlib.compress(bytes(tile * tile), 9)
    count = -(-width // tile) * -(-height // tile)
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer,
        data=(packed for _ in range(count)),
        shape=(height, width),
        dtype="uint8",
        tile=(tile, tile),
        compression="zlib",
    )
    return buffer.getvalue()


def fits_card(keyword: str, value: object) -> bytes:
    """One 80-byte FITS header card."""
    text = "T" if value is True else "F" if value is False else str(value)
    return f"{keyword:<8}= {text:>20}".ljust(80).encode("ascii")


def fits_header(*cards: bytes, end: bool = True) -> bytes:
    """FITS header cards (plus END) padded to whole 2880-byte blocks."""
    block = b"".join(cards) + (b"END".ljust(80) if end else b"")
    return block.ljust(-(-len(block) // 2880) * 2880, b" ")


def fits_claiming(width: int, height: int) -> bytes:
    """A FITS header alone (2880 bytes) announcing an 8-bit ``width`` x ``height`` image."""
    return fits_header(
        fits_card("SIMPLE", True),
        fits_card("BITPIX", 8),
        fits_card("NAXIS", 2),
        fits_card("NAXIS1", width),
        fits_card("NAXIS2", height),
    )


def chart(width: int = 800, height: int = 500) -> np.ndarray[Any, Any]:
    """A line chart as a plotting script draws one: white, black axes and ticks, a blue
    curve two pixels wide, a red dashed threshold (RGB, about a dozen colours)."""
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    left, bottom = 60, height - 40
    draw.line([(left, 20), (left, bottom), (width - 20, bottom)], fill="black", width=1)
    for x in range(left, width - 20, 70):
        draw.line([(x, bottom), (x, bottom + 6)], fill="black")
    xs = np.linspace(left, width - 20, 240)
    ys = height / 2 + (height / 3.5) * np.sin(xs / 45.0)
    curve = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
    draw.line(curve, fill=(31, 119, 180), width=2)
    for x in range(left, width - 20, 24):
        draw.line([(x, 90), (x + 12, 90)], fill=(214, 39, 40), width=1)
    return np.asarray(picture)


def png_bytes(pixels: np.ndarray[Any, Any]) -> bytes:
    """``pixels`` (8-bit) as a PNG file's bytes."""
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()
