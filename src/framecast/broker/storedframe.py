"""A frame as a node stores it for the others, under the key ``{ns}:frame:{stream}`` — pure.

The layout, the ``raw`` and ``tiles`` descriptors and why the display images (the JPEG, and
line art's PNG) travel as the publisher's viewers get them are in
:mod:`~framecast.broker.codec`'s docstring (docs/scale-out.md). A stored frame is checked like
any input from outside: sizes before the work they bound, then every field; anything off
raises :class:`~framecast.broker.wirefields.WireError`.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct

from framecast.broker.wirefields import (
    Limits,
    WireError,
    bounded_json,
    checked_node,
    count,
    stream_name,
)
from framecast.errors import ShapeError
from framecast.imaging.formats import jpeg_size, png_size
from framecast.imaging.pyramid import RemotePyramid
from framecast.live.frames import RESERVED_KEY, Frame
from framecast.live.shapes import check_overlays
from framecast.science.raw import RemoteRaw

__all__ = ["MAGIC", "decode_frame", "encode_frame", "frame_node"]

MAGIC = b"FCF4"
_HEAD = struct.Struct(">4sH")
_SHORT = struct.Struct(">H")
_BYTE = struct.Struct(">B")
_LENGTH = struct.Struct(">I")
#: Longest raw descriptor (``{"dtype", "shape"}``).
_MAX_RAW_BYTES = 200
#: The dtypes a raw descriptor may name (every numeric kind numpy stores as published).
_DTYPE = re.compile(r"(bool|u?int(8|16|32|64)|float(16|32|64)|complex(64|128))")
_MAX_SIDE = 1 << 16
#: Room in data.json for framecast's own field, beyond the publisher's metadata.
_INFO_BYTES = 1024


def encode_frame(frame: Frame, node: str) -> bytes:
    """The stored form of ``frame``, published by ``node``."""
    node_bytes = node.encode()
    data_json = frame.renderings.data_json
    raw, pyramid = frame.raw, frame.pyramid
    described = None if raw is None else {"dtype": raw.dtype, "shape": list(raw.shape)}
    raw_bytes = json.dumps(described, separators=(",", ":")).encode()
    tiles = None if pyramid is None else [pyramid.width, pyramid.height]
    tiles_bytes = json.dumps(tiles, separators=(",", ":")).encode()
    lossless = frame.lossless or b""  # line art's PNG display image, else nothing
    return b"".join(
        (
            _HEAD.pack(MAGIC, len(node_bytes)),
            node_bytes,
            _LENGTH.pack(len(data_json)),
            data_json,
            _SHORT.pack(len(raw_bytes)),
            raw_bytes,
            _BYTE.pack(len(tiles_bytes)),
            tiles_bytes,
            _LENGTH.pack(len(lossless)),
            lossless,
            frame.jpeg,
        )
    )


def frame_node(blob: bytes) -> str:
    """The node that stored ``blob`` (cheap: the header only)."""
    if len(blob) < _HEAD.size or blob[:4] != MAGIC:
        raise WireError("not a framecast frame (bad signature)")
    _magic, length = _HEAD.unpack_from(blob)
    return checked_node(blob[_HEAD.size : _HEAD.size + length].decode("ascii", "replace"))


def decode_frame(blob: bytes, stream: str, limits: Limits) -> tuple[str, Frame]:
    """``(node, frame)`` from a stored frame of ``stream``; :class:`WireError` if anything
    is off. Checks sizes before the work they bound; renders the frame (call it off the
    event loop)."""
    if len(blob) > limits.max_frame_bytes:
        raise WireError(
            f"a frame of {len(blob)} bytes, more than max_broker_frame_bytes "
            f"({limits.max_frame_bytes})"
        )
    node = frame_node(blob)
    at = _HEAD.size + len(node)
    room = limits.max_metadata_bytes + _INFO_BYTES + limits.shapes.max_bytes
    part, at = _section(
        blob, at, _LENGTH, "its data.json is larger than max_metadata_bytes or cut short", room
    )
    data = bounded_json(part, len(part), limits.max_metadata_depth + 1)
    part, at = _section(
        blob, at, _SHORT, "its raw descriptor is too long or cut short", _MAX_RAW_BYTES
    )
    raw = _raw(bounded_json(part, len(part), 3), node)
    part, at = _section(blob, at, _BYTE, "its tiles descriptor is cut short")
    pyramid = _pyramid(bounded_json(part, len(part), 2), node, limits)
    png, at = _section(blob, at, _LENGTH, "its PNG display image is cut short")
    lossless = png or None
    jpeg = blob[at:]
    if not isinstance(data, dict) or not isinstance(data.get(RESERVED_KEY), dict):
        raise WireError("its data.json has no framecast field")
    info = data.pop(RESERVED_KEY)
    if stream_name(info.get("stream")) != stream:
        raise WireError(f"it is stored under stream {stream!r} but says it belongs to another")
    seq = count(info.get("seq"), "seq")
    stamp = info.get("time")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not math.isfinite(stamp):
        raise WireError("its time is not a number")
    width = count(info.get("width"), "width", high=_MAX_SIDE)
    height = count(info.get("height"), "height", high=_MAX_SIDE)
    source_width = count(info.get("source_width", width), "source_width", high=1 << 31)
    source_height = count(info.get("source_height", height), "source_height", high=1 << 31)
    if width * height > limits.max_pixels:
        raise WireError(f"{width}x{height} pixels, more than max_image_pixels")
    if not jpeg.startswith(b"\xff\xd8\xff") or not jpeg.endswith(b"\xff\xd9"):
        raise WireError("its image is not a whole JPEG")
    if jpeg_size(io.BytesIO(jpeg)) != (width, height):
        raise WireError("its JPEG's size is not the size it claims")
    if lossless is not None and png_size(lossless) != (width, height):
        raise WireError("its PNG display image is not a whole PNG of the size it claims")
    try:
        overlays = check_overlays(info.get("overlays"), limits.shapes)
    except ShapeError as exc:
        raise WireError(f"its overlays cannot be drawn: {exc}") from None
    frame = Frame(
        seq=seq,
        time=float(stamp),
        jpeg=jpeg,
        width=width,
        height=height,
        metadata=data,
        source_width=source_width,
        source_height=source_height,
        stream=stream,
        pyramid=pyramid,
        raw=raw,
        overlays=overlays,
        lossless=lossless,
    )
    return node, frame


def _pyramid(value: object, node: str, limits: Limits) -> RemotePyramid | None:
    """The stand-in for the publisher's deep-zoom pyramid, from its size."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise WireError("its tiles descriptor is not [width, height]")
    width, height = (count(n, "a pyramid side", high=1 << 31) for n in value)
    if width * height > limits.max_pixels:
        raise WireError(f"a pyramid of {width}x{height} pixels, more than max_image_pixels")
    return RemotePyramid(width, height, node)


def _raw(value: object, node: str) -> RemoteRaw | None:
    """The stand-in for the publisher's raw array, from its descriptor."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise WireError("its raw descriptor is not an object")
    dtype, shape = value.get("dtype"), value.get("shape")
    if not isinstance(dtype, str) or not _DTYPE.fullmatch(dtype):
        raise WireError("its raw dtype is not a numeric dtype")
    if not isinstance(shape, list) or len(shape) not in (2, 3):
        raise WireError("its raw shape is not [height, width] or [height, width, channels]")
    sides = tuple(count(n, "a raw side", high=1 << 31) for n in shape)
    if len(sides) == 3 and sides[2] not in (3, 4):
        raise WireError("its raw array has neither 3 nor 4 channels")
    return RemoteRaw(dtype, sides, node)


def _section(
    blob: bytes, at: int, length: struct.Struct, cut: str, most: int | None = None
) -> tuple[bytes, int]:
    """The length-prefixed section of ``blob`` at ``at`` (its length packed as ``length``)
    and where the next one starts; :class:`WireError` ``cut`` when it is longer than ``most``
    or than what is left."""
    if len(blob) < at + length.size:
        raise WireError("the frame is cut short")
    (size,) = length.unpack_from(blob, at)
    at += length.size
    if (most is not None and size > most) or at + size > len(blob):
        raise WireError(cut)
    return blob[at : at + size], at + size
