"""What framecast nodes say to each other through the broker (docs/scale-out.md) — pure.

Three kinds of message, each checked on the way in like any other input from outside (a
bad one raises :class:`WireError` with one line; the caller logs it and goes on):

**frame** — the value of the key ``{ns}:frame:{stream}``, the latest frame of a stream::

    b"FCF3" | u16 node length | node | u32 data.json length | data.json
            | u16 raw length | raw | u8 tiles length | tiles | JPEG

``raw`` is ``{"dtype", "shape"}`` of the publisher's raw array (JSON), or ``null`` when it
keeps none: the receiving node's frame gets a :class:`~framecast.science.raw.RemoteRaw`, never the
array. ``tiles`` is ``[width, height]`` of the frame's deep-zoom pyramid (docs/tiles.md, JSON), or
``null`` when it has none (no larger than ``max_web_size``): the receiving node's frame gets
a :class:`~framecast.imaging.pyramid.RemotePyramid`, never the pixels, and its tiles are
asked of the
publisher. (``FCF2``, before tiles crossed, had no ``tiles``; it is refused: upgrade all
nodes together.) ``data.json`` is the frame's own rendering (the publisher's metadata plus the
``framecast`` field with ``seq``, ``time``, sizes and ``stream``), so nothing is encoded
twice; the JPEG is the web image, as the publisher's viewers get it.

**announcement** — on the channel ``{ns}:frames``: ``{"stream", "seq", "node"}`` (JSON,
exactly as :func:`encode_announcement` writes it: one pattern match checks it, so a flood of
bad ones costs no parsing); a node fetches the key once per announcement it has not yet
seen, the newest only.

**control** — on the channel ``{ns}:node:{id}`` of the node that should read it: a
``request`` (``id``, ``from``, ``stream``, ``named``, ``cmd`` and its fields) or a
``reply`` (``id``, ``reply``); for the raw routes of docs/science.md and the deep-zoom tiles of
docs/tiles.md (route :data:`JPEG_TILE`) a ``raw`` request (``id``, ``from``, ``stream``, ``seq``,
``route``, ``params``, ``gzip``) and a ``raw-reply`` (``id``,
``status``, ``content_type``, ``headers``, ``bytes``) whose body waits under the key
``{ns}:answer:{id}`` (a large body through a channel would trip Redis's output buffer limit
of subscribers).
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

from framecast.config.streamname import NAME_PATTERN, check_name
from framecast.errors import FramecastError
from framecast.imaging.formats import jpeg_size
from framecast.imaging.pyramid import RemotePyramid
from framecast.live.frames import RESERVED_KEY, Frame
from framecast.live.metadata import check_text_depth
from framecast.live.protocol import Command
from framecast.science.queries import JPEG_TILE, QUESTIONS
from framecast.science.raw import RawAnswer, RemoteRaw

__all__ = [
    "JPEG_TILE",
    "ROUTES",
    "Announcement",
    "ControlReply",
    "ControlRequest",
    "Limits",
    "RawReply",
    "RawRequest",
    "WireError",
    "decode_announcement",
    "decode_control",
    "decode_frame",
    "encode_announcement",
    "encode_frame",
    "encode_raw_reply",
    "encode_raw_request",
    "encode_reply",
    "encode_request",
]

MAGIC = b"FCF3"
#: Largest announcement or control envelope read beyond its payload (bytes of JSON).
MAX_ANNOUNCEMENT_BYTES = 512
_NODE = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: An announcement as :func:`encode_announcement` writes it (a valid stream name, a frame
#: number from 1, a node id); anything else is refused without parsing JSON.
_ANNOUNCEMENT = re.compile(
    rb'\{"stream": "(%s)", "seq": ([1-9][0-9]{0,17}), "node": "(%s)"\}'
    % (NAME_PATTERN.pattern.encode(), _NODE.pattern.encode())
)
_HEAD = struct.Struct(">4sH")
_SHORT = struct.Struct(">H")
_BYTE = struct.Struct(">B")
_LENGTH = struct.Struct(">I")
#: Longest raw descriptor (``{"dtype", "shape"}``) and longest parameter value of a raw request.
_MAX_RAW_BYTES = 200
MAX_PARAM_CHARS = 64
#: The dtypes a raw descriptor may name (every numeric kind numpy stores as published).
_DTYPE = re.compile(r"(bool|u?int(8|16|32|64)|float(16|32|64)|complex(64|128))")
#: The headers a raw reply may carry, and the content types.
_REPLY_HEADERS = frozenset(
    {"Cache-Control", "Content-Disposition", "Content-Encoding", "Vary", "X-Content-Type-Options"}
)
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{0,200}")
_MAX_SIDE = 1 << 16
#: Room in data.json for framecast's own field, beyond the publisher's metadata.
_INFO_BYTES = 1024
#: Every route a ``raw`` request may name, with the parameters each takes: the questions
#: about a frame (:data:`~framecast.science.queries.QUESTIONS`; a deep-zoom JPEG tile is
#: :data:`~framecast.science.queries.JPEG_TILE`).
ROUTES: dict[str, tuple[str, ...]] = {name: q.names for name, q in QUESTIONS.items()}


class WireError(FramecastError, ValueError):
    """A message read from the broker that is not what a framecast node sends."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What a message from the broker may weigh (the node's own settings)."""

    max_frame_bytes: int
    max_metadata_bytes: int
    max_metadata_depth: int
    max_pixels: int


@dataclass(frozen=True, slots=True)
class Announcement:
    stream: str
    seq: int
    node: str


@dataclass(frozen=True, slots=True)
class ControlRequest:
    id: str
    sender: str
    stream: str
    #: The stream as the client named it (``None`` at the root): the handler's ``stream`` field.
    named: str | None
    command: Command


@dataclass(frozen=True, slots=True)
class ControlReply:
    id: str
    reply: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RawRequest:
    """A route of docs/science.md asked of the node that publishes ``stream``."""

    id: str
    sender: str
    stream: str
    seq: int
    route: str
    params: dict[str, str]
    gzip: bool


@dataclass(frozen=True, slots=True)
class RawReply:
    """The head of a raw answer; its body (``size`` bytes) waits under ``{ns}:answer:{id}``."""

    id: str
    status: int
    content_type: str
    headers: dict[str, str]
    size: int

    def answer(self, body: bytes) -> RawAnswer:
        return RawAnswer(self.status, self.content_type, body, self.headers)


def _node(value: object) -> str:
    if not isinstance(value, str) or not _NODE.fullmatch(value):
        raise WireError("the node id is missing or malformed")
    return value


def _count(value: object, what: str, *, low: int = 1, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise WireError(f"{what} is not a whole number from {low}")
    if high is not None and value > high:
        raise WireError(f"{what} {value} is more than {high}")
    return value


def _stream(value: object) -> str:
    if not isinstance(value, str):
        raise WireError("the stream name is missing")
    try:
        return check_name(value)
    except FramecastError:
        raise WireError("the stream name is not a valid name") from None


def _json(data: bytes, limit: int, depth: int) -> Any:
    if len(data) > limit:
        raise WireError(f"{len(data)} bytes of JSON, more than {limit}")
    try:
        text = data.decode("utf-8")
        check_text_depth(text, depth)
        return json.loads(text, parse_constant=_no_constant)
    except FramecastError as exc:
        raise WireError(str(exc)) from None
    except (ValueError, RecursionError):
        raise WireError("not JSON") from None


def _no_constant(name: str) -> Any:
    raise ValueError(name)


# -- frames ----------------------------------------------------------------------------------
def encode_frame(frame: Frame, node: str) -> bytes:
    """The stored form of ``frame``, published by ``node``."""
    node_bytes = node.encode()
    data_json = frame.renderings.data_json
    raw, pyramid = frame.raw, frame.pyramid
    described = None if raw is None else {"dtype": raw.dtype, "shape": list(raw.shape)}
    raw_bytes = json.dumps(described, separators=(",", ":")).encode()
    tiles = None if pyramid is None else [pyramid.width, pyramid.height]
    tiles_bytes = json.dumps(tiles, separators=(",", ":")).encode()
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
            frame.jpeg,
        )
    )


def frame_node(blob: bytes) -> str:
    """The node that stored ``blob`` (cheap: the header only)."""
    if len(blob) < _HEAD.size or blob[:4] != MAGIC:
        raise WireError("not a framecast frame (bad signature)")
    _magic, length = _HEAD.unpack_from(blob)
    return _node(blob[_HEAD.size : _HEAD.size + length].decode("ascii", "replace"))


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
    if len(blob) < at + _LENGTH.size:
        raise WireError("the frame is cut short")
    (json_length,) = _LENGTH.unpack_from(blob, at)
    at += _LENGTH.size
    if json_length > limits.max_metadata_bytes + _INFO_BYTES or at + json_length > len(blob):
        raise WireError("its data.json is larger than max_metadata_bytes or cut short")
    data = _json(blob[at : at + json_length], json_length, limits.max_metadata_depth + 1)
    at += json_length
    if len(blob) < at + _SHORT.size:
        raise WireError("the frame is cut short")
    (raw_length,) = _SHORT.unpack_from(blob, at)
    at += _SHORT.size
    if raw_length > _MAX_RAW_BYTES or at + raw_length > len(blob):
        raise WireError("its raw descriptor is too long or cut short")
    raw = _raw(_json(blob[at : at + raw_length], raw_length, 3), node)
    at += raw_length
    if len(blob) < at + _BYTE.size:
        raise WireError("the frame is cut short")
    (tiles_length,) = _BYTE.unpack_from(blob, at)
    at += _BYTE.size
    if at + tiles_length > len(blob):
        raise WireError("its tiles descriptor is cut short")
    pyramid = _pyramid(_json(blob[at : at + tiles_length], tiles_length, 2), node, limits)
    jpeg = blob[at + tiles_length :]
    if not isinstance(data, dict) or not isinstance(data.get(RESERVED_KEY), dict):
        raise WireError("its data.json has no framecast field")
    info = data.pop(RESERVED_KEY)
    if _stream(info.get("stream")) != stream:
        raise WireError(f"it is stored under stream {stream!r} but says it belongs to another")
    seq = _count(info.get("seq"), "seq")
    stamp = info.get("time")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not math.isfinite(stamp):
        raise WireError("its time is not a number")
    width = _count(info.get("width"), "width", high=_MAX_SIDE)
    height = _count(info.get("height"), "height", high=_MAX_SIDE)
    source_width = _count(info.get("source_width", width), "source_width", high=1 << 31)
    source_height = _count(info.get("source_height", height), "source_height", high=1 << 31)
    if width * height > limits.max_pixels:
        raise WireError(f"{width}x{height} pixels, more than max_image_pixels")
    if not jpeg.startswith(b"\xff\xd8\xff") or not jpeg.endswith(b"\xff\xd9"):
        raise WireError("its image is not a whole JPEG")
    if jpeg_size(io.BytesIO(jpeg)) != (width, height):
        raise WireError("its JPEG's size is not the size it claims")
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
    )
    return node, frame


def _pyramid(value: object, node: str, limits: Limits) -> RemotePyramid | None:
    """The stand-in for the publisher's deep-zoom pyramid, from its size."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise WireError("its tiles descriptor is not [width, height]")
    width, height = (_count(n, "a pyramid side", high=1 << 31) for n in value)
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
    sides = tuple(_count(n, "a raw side", high=1 << 31) for n in shape)
    if len(sides) == 3 and sides[2] not in (3, 4):
        raise WireError("its raw array has neither 3 nor 4 channels")
    return RemoteRaw(dtype, sides, node)


# -- announcements ---------------------------------------------------------------------------
def encode_announcement(stream: str, seq: int, node: str) -> bytes:
    return json.dumps({"stream": stream, "seq": seq, "node": node}).encode()


def decode_announcement(data: bytes) -> Announcement:
    """The announcement ``data`` carries; :class:`WireError` for anything a framecast node
    does not send (cheap: a length check and one match, never a JSON parser)."""
    if len(data) > MAX_ANNOUNCEMENT_BYTES:
        raise WireError(f"{len(data)} bytes, more than an announcement's {MAX_ANNOUNCEMENT_BYTES}")
    match = _ANNOUNCEMENT.fullmatch(data)
    if match is None:
        raise WireError(
            'not an announcement ({"stream": NAME, "seq": N, "node": ID} as a node writes it)'
        )
    stream, seq, node = match.groups()
    return Announcement(stream.decode("ascii"), int(seq), node.decode("ascii"))


# -- control ---------------------------------------------------------------------------------
def encode_request(request: ControlRequest) -> bytes:
    command = request.command
    body = {
        "type": "request",
        "id": request.id,
        "from": request.sender,
        "stream": request.stream,
        "named": request.named,
        "command": {**command.fields, "cmd": command.name},
    }
    return json.dumps(body, default=str).encode()


def encode_reply(id: str, reply: dict[str, Any]) -> bytes:
    return json.dumps({"type": "reply", "id": id, "reply": reply}, default=str).encode()


def encode_raw_request(request: RawRequest) -> bytes:
    body = {
        "type": "raw",
        "id": request.id,
        "from": request.sender,
        "stream": request.stream,
        "seq": request.seq,
        "route": request.route,
        "params": request.params,
        "gzip": request.gzip,
    }
    return json.dumps(body).encode()


def encode_raw_reply(id: str, answer: RawAnswer) -> bytes:
    """The head of ``answer`` (its body is stored apart)."""
    body = {
        "type": "raw-reply",
        "id": id,
        "status": answer.status,
        "content_type": answer.content_type,
        "headers": dict(answer.headers),
        "bytes": len(answer.body),
    }
    return json.dumps(body).encode()


def _raw_request(value: dict[str, Any], ident: str) -> RawRequest:
    route = value.get("route")
    if not isinstance(route, str) or route not in ROUTES:
        raise WireError("a raw request names no known route")
    params = value.get("params")
    if not isinstance(params, dict):
        raise WireError("a raw request's params are an object")
    for name, text in params.items():
        if name not in ROUTES[route]:
            raise WireError(f"route {route} takes no parameter {name[:40]!r}")
        if not isinstance(text, str) or len(text) > MAX_PARAM_CHARS:
            raise WireError(f"parameter {name} is not text of at most {MAX_PARAM_CHARS} chars")
    gzip = value.get("gzip")
    if not isinstance(gzip, bool):
        raise WireError("a raw request says whether gzip is accepted")
    return RawRequest(
        id=ident,
        sender=_node(value.get("from")),
        stream=_stream(value.get("stream")),
        seq=_count(value.get("seq"), "seq"),
        route=route,
        params=params,
        gzip=gzip,
    )


def _raw_reply(value: dict[str, Any], ident: str, limits: Limits) -> RawReply:
    status = value.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise WireError("a raw reply's status is not an HTTP status")
    content_type = value.get("content_type")
    if not isinstance(content_type, str) or not _HEADER_VALUE.fullmatch(content_type):
        raise WireError("a raw reply's content type is not a short line")
    headers = value.get("headers")
    if not isinstance(headers, dict) or not all(
        k in _REPLY_HEADERS and isinstance(v, str) and _HEADER_VALUE.fullmatch(v)
        for k, v in headers.items()
    ):
        raise WireError("a raw reply carries headers it may not")
    size = _count(value.get("bytes"), "its size", low=0, high=limits.max_frame_bytes)
    return RawReply(ident, status, content_type, headers, size)


def decode_control(
    data: bytes, limits: Limits
) -> ControlRequest | ControlReply | RawRequest | RawReply:
    """A control (or raw) request or reply; the command inside is as deep and large as a
    ``/control`` message may be."""
    value = _json(
        data, limits.max_metadata_bytes + MAX_ANNOUNCEMENT_BYTES, limits.max_metadata_depth + 2
    )
    if not isinstance(value, dict):
        raise WireError("a control message is a JSON object")
    ident = value.get("id")
    if not isinstance(ident, str) or not 0 < len(ident) <= 64:
        raise WireError("a control message needs its id")
    kind = value.get("type")
    if kind == "reply":
        reply = value.get("reply")
        if not isinstance(reply, dict):
            raise WireError("a control reply is a JSON object")
        return ControlReply(ident, reply)
    if kind == "raw":
        return _raw_request(value, ident)
    if kind == "raw-reply":
        return _raw_reply(value, ident, limits)
    if kind != "request":
        raise WireError(f"unknown control message type {kind!r}")
    command = value.get("command")
    if not isinstance(command, dict) or not isinstance(command.get("cmd"), str):
        raise WireError("a control request carries a command with its cmd")
    named = value.get("named")
    fields = {k: v for k, v in command.items() if k != "cmd"}
    return ControlRequest(
        id=ident,
        sender=_node(value.get("from")),
        stream=_stream(value.get("stream")),
        named=None if named is None else _stream(named),
        command=Command(command["cmd"], fields),
    )
