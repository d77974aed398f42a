"""The value compressions of bsread (lz4, bitshuffle_lz4): decode safely, encode. Pure.

Every length in a stream is checked, LZ4 blocks are decoded with their expected size, and
no value may claim more than LZ4 can expand its received bytes to
(:data:`MAX_EXPANSION`), so a few hostile bytes never make the receiver allocate
gigabytes. The formats are described in :mod:`framecast.sources.bsread.wire`.
"""

from __future__ import annotations

import struct
from typing import Any, TypeAlias

import numpy as np

__all__ = [
    "COMPRESSIONS",
    "MAX_ELEMENTS",
    "MAX_EXPANSION",
    "Buffer",
    "WireError",
    "check_expansion",
    "compress",
    "decompress",
]

COMPRESSIONS = ("none", "lz4", "bitshuffle_lz4")
#: Most elements one channel may declare (guards against absurd shapes in a header).
MAX_ELEMENTS = 1 << 30
#: Most an LZ4 block can expand (one byte per 255 repeated bytes): a compressed value that
#: claims more than this many times its received size is refused before any allocation.
MAX_EXPANSION = 256


#: A message part: bytes, or a zero-copy view of a ZeroMQ frame.
Buffer: TypeAlias = bytes | bytearray | memoryview


class WireError(ValueError):
    """A message does not follow the bsread format; the text says what is wrong."""


# -- bitshuffle ------------------------------------------------------------------------------


def _unshuffle_numpy(shuffled: bytes, count: int, itemsize: int) -> bytes:
    """Undo the bit transposition of ``count`` elements (``count`` a multiple of 8)."""
    planes = np.frombuffer(shuffled, dtype=np.uint8).reshape(itemsize * 8, count // 8)
    bits = np.unpackbits(planes, axis=1, bitorder="little")  # (bit plane, element)
    return np.packbits(bits.T, axis=1, bitorder="little").tobytes()


def _shuffle_numpy(data: bytes, count: int, itemsize: int) -> bytes:
    """Bit-transpose ``count`` elements (``count`` a multiple of 8)."""
    elements = np.frombuffer(data, dtype=np.uint8).reshape(count, itemsize)
    bits = np.unpackbits(elements, axis=1, bitorder="little")  # (element, bit)
    return np.packbits(bits.T, axis=1, bitorder="little").tobytes()


def _default_block(itemsize: int) -> int:
    """bitshuffle's default block size in elements: ~8 KiB, a multiple of 8, at least 128."""
    return max(128, (8192 // itemsize) // 8 * 8)


def _bitshuffle_decode(payload: memoryview, count: int, itemsize: int, block: int) -> bytes:
    """Decode a bitshuffle/LZ4 stream; every length is checked and LZ4 decoding is the safe kind.

    The bitshuffle package, when installed, only does the (fast) bit transposition: its own
    stream decoder trusts its input, and a malformed message must never crash the server.
    """
    import lz4.block

    shuffled = bytearray()
    position = 0
    remaining = count
    while remaining >= 8:
        elements = min(block, remaining - remaining % 8)
        if position + 4 > len(payload):
            raise WireError("bitshuffle stream ends before its last block")
        (length,) = struct.unpack_from(">I", payload, position)
        position += 4
        if position + length > len(payload):
            raise WireError("bitshuffle block is longer than the data")
        try:
            raw = lz4.block.decompress(
                payload[position : position + length], uncompressed_size=elements * itemsize
            )
        except Exception as exc:  # lz4 raises LZ4BlockError (a bare Exception subclass)
            raise WireError(f"corrupt LZ4 block in bitshuffle stream: {exc}") from None
        if len(raw) != elements * itemsize:
            raise WireError("bitshuffle block has the wrong size")
        position += length
        shuffled += raw
        remaining -= elements
    tail = payload[position:]
    if len(tail) != remaining * itemsize:
        raise WireError("bitshuffle stream has the wrong number of trailing bytes")
    shuffled += tail
    return _unshuffle(bytes(shuffled), count, itemsize, block)


def _unshuffle(shuffled: bytes, count: int, itemsize: int, block: int) -> bytes:
    """Undo the blocked bit transposition of ``count`` elements (blocks of ``block``)."""
    package = _package_bitshuffle()
    if package is not None and itemsize in (1, 2, 4, 8) and count >= 8:
        array = np.frombuffer(shuffled, dtype=f"u{itemsize}")
        return bytes(np.asarray(package.bitunshuffle(array, block)).tobytes())
    out = bytearray()
    start = 0
    remaining = count
    while remaining >= 8:
        elements = min(block, remaining - remaining % 8)
        chunk = shuffled[start * itemsize : (start + elements) * itemsize]
        out += _unshuffle_numpy(chunk, elements, itemsize)
        start += elements
        remaining -= elements
    out += shuffled[start * itemsize :]
    return bytes(out)


def _bitshuffle_encode(data: bytes, count: int, itemsize: int, block: int) -> bytes:
    import lz4.block

    parts: list[bytes] = []
    position = 0
    remaining = count
    while remaining >= 8:
        elements = min(block, remaining - remaining % 8)
        chunk = data[position * itemsize : (position + elements) * itemsize]
        packed = lz4.block.compress(_shuffle_numpy(chunk, elements, itemsize), store_size=False)
        parts.append(struct.pack(">I", len(packed)))
        parts.append(packed)
        position += elements
        remaining -= elements
    parts.append(data[position * itemsize :])
    return b"".join(parts)


def _package_bitshuffle() -> Any:
    try:
        import bitshuffle
    except ImportError:
        return None
    return bitshuffle


# -- compression -----------------------------------------------------------------------------


def decompress(
    raw: Buffer, compression: str | None, dtype: np.dtype[Any], expected: int | None = None
) -> bytes | memoryview:
    """The uncompressed bytes of one value (or data header, with ``dtype`` uint8).

    ``expected`` is the size the channel's shape promises, if known: an lz4 size header
    written in the other byte order than the value's (some senders always write it
    little-endian) is recognised by it.
    """
    view = memoryview(raw).cast("B")
    if compression in (None, "none"):
        return view
    if compression == "lz4":
        import lz4.block

        if len(view) < 4:
            raise WireError("lz4 value shorter than its 4-byte size header")
        order = ">" if dtype.byteorder == ">" else "<"
        (size,) = struct.unpack(order + "I", view[:4])
        if expected is not None and size != expected:
            (size,) = struct.unpack(("<" if order == ">" else ">") + "I", view[:4])
        if size > MAX_ELEMENTS * 8:
            raise WireError(f"lz4 value claims an absurd size of {size} bytes")
        check_expansion(size, len(view))
        try:
            data: bytes = lz4.block.decompress(view[4:], uncompressed_size=size)
        except Exception as exc:
            raise WireError(f"corrupt lz4 value: {exc}") from None
        return data
    if compression == "bitshuffle_lz4":
        if len(view) < 12:
            raise WireError("bitshuffle_lz4 value shorter than its 12-byte header")
        size, block_bytes = struct.unpack(">qi", view[:12])
        itemsize = dtype.itemsize
        if size < 0 or size % itemsize or size > MAX_ELEMENTS * 8 or block_bytes < 0:
            raise WireError(f"bitshuffle_lz4 header is invalid (size {size}, block {block_bytes})")
        check_expansion(size, len(view))
        count = size // itemsize
        block = block_bytes // itemsize if block_bytes else _default_block(itemsize)
        if block <= 0 or block % 8:
            raise WireError(f"bitshuffle_lz4 block size {block_bytes} is invalid")
        return _bitshuffle_decode(view[12:], count, itemsize, block)
    raise WireError(f"unknown compression {compression!r}")


def check_expansion(size: int, received: int) -> None:
    """Refuse a compressed value claiming more than LZ4 can expand its received bytes to."""
    if size > MAX_EXPANSION * received + 1024:
        raise WireError(
            f"compressed value of {received} bytes claims {size} bytes uncompressed, more than "
            "LZ4 can expand it to; the sender is broken"
        )


def compress(data: bytes, compression: str | None, dtype: np.dtype[Any]) -> bytes:
    """Compress the raw bytes of one value the way bsread senders do."""
    if compression in (None, "none"):
        return data
    if compression == "lz4":
        import lz4.block

        order = ">" if dtype.byteorder == ">" else "<"
        packed: bytes = lz4.block.compress(data, store_size=False)
        return struct.pack(order + "I", len(data)) + packed
    if compression == "bitshuffle_lz4":
        itemsize = dtype.itemsize
        block = _default_block(itemsize)
        header = struct.pack(">qi", len(data), block * itemsize)
        count = len(data) // itemsize
        package = _package_bitshuffle()
        if package is not None and itemsize in (1, 2, 4, 8):
            elements = np.frombuffer(data, dtype=f"u{itemsize}")
            return header + np.asarray(package.compress_lz4(elements, block)).tobytes()
        return header + _bitshuffle_encode(data, count, itemsize, block)
    raise WireError(f"unknown compression {compression!r}")
