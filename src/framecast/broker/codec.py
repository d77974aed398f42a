"""What framecast nodes say to each other through the broker (docs/scale-out.md) — pure.

Three kinds of message, each checked on the way in like any other input from outside (a
bad one raises :class:`WireError` with one line; the caller logs it and goes on):

**frame** — the value of the key ``{ns}:frame:{stream}``, the latest frame of a stream::

    b"FCF4" | u16 node length | node | u32 data.json length | data.json
            | u16 raw length | raw | u8 tiles length | tiles | u32 PNG length | PNG | JPEG

``raw`` is ``{"dtype", "shape"}`` of the publisher's raw array (JSON), or ``null`` when it
keeps none: the receiving node's frame gets a :class:`~framecast.science.raw.RemoteRaw`, never the
array. ``tiles`` is ``[width, height]`` of the frame's deep-zoom pyramid (docs/tiles.md, JSON), or
``null`` when it has none (no larger than ``max_web_size``): the receiving node's frame gets
a :class:`~framecast.imaging.pyramid.RemotePyramid`, never the pixels, and its tiles are
asked of the
publisher. (``FCF2``, before tiles crossed, had no ``tiles``, and ``FCF3``, before line art
crossed, no ``PNG``; they are refused: upgrade all nodes together.) ``data.json`` is the
frame's own rendering (the publisher's metadata plus the ``framecast`` field with ``seq``,
``time``, sizes and ``stream``), so nothing is encoded twice; the JPEG is the web image, as
the publisher's viewers get it, and ``PNG`` (empty for photographs and camera frames) the
lossless display image of line art (docs/imaging.md, "Line art"), so that the receiving
node serves the same ``image/<seq>.png`` with ``"format": "png"``. Both travel inside the
frame, so ``max_broker_frame_bytes`` bounds them together; the PNG must be whole (its
signature, IHDR first, IEND last) and of the frame's size.

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

import json
import re
from dataclasses import dataclass
from typing import Any

from framecast.broker.storedframe import MAGIC, decode_frame, encode_frame, frame_node
from framecast.broker.wirefields import (
    NODE,
    Limits,
    WireError,
    bounded_json,
    checked_node,
    count,
    stream_name,
)
from framecast.config.streamname import NAME_PATTERN
from framecast.live.protocol import Command
from framecast.science.queries import JPEG_TILE, QUESTIONS
from framecast.science.raw import RawAnswer

__all__ = [
    "JPEG_TILE",
    "MAGIC",
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
    "frame_node",
]

#: Largest announcement or control envelope read beyond its payload (bytes of JSON).
MAX_ANNOUNCEMENT_BYTES = 512
#: An announcement as :func:`encode_announcement` writes it (a valid stream name, a frame
#: number from 1, a node id); anything else is refused without parsing JSON.
_ANNOUNCEMENT = re.compile(
    rb'\{"stream": "(%s)", "seq": ([1-9][0-9]{0,17}), "node": "(%s)"\}'
    % (NAME_PATTERN.pattern.encode(), NODE.pattern.encode())
)
#: Longest parameter value of a raw request.
MAX_PARAM_CHARS = 64
#: The headers a raw reply may carry, and the content types.
_REPLY_HEADERS = frozenset(
    {"Cache-Control", "Content-Disposition", "Content-Encoding", "Vary", "X-Content-Type-Options"}
)
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{0,200}")
#: Every route a ``raw`` request may name, with the parameters each takes: the questions
#: about a frame (:data:`~framecast.science.queries.QUESTIONS`; a deep-zoom JPEG tile is
#: :data:`~framecast.science.queries.JPEG_TILE`).
ROUTES: dict[str, tuple[str, ...]] = {name: q.names for name, q in QUESTIONS.items()}


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
        sender=checked_node(value.get("from")),
        stream=stream_name(value.get("stream")),
        seq=count(value.get("seq"), "seq"),
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
    size = count(value.get("bytes"), "its size", low=0, high=limits.max_frame_bytes)
    return RawReply(ident, status, content_type, headers, size)


def decode_control(
    data: bytes, limits: Limits
) -> ControlRequest | ControlReply | RawRequest | RawReply:
    """A control (or raw) request or reply; the command inside is as deep and large as a
    ``/control`` message may be."""
    value = bounded_json(
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
        sender=checked_node(value.get("from")),
        stream=stream_name(value.get("stream")),
        named=None if named is None else stream_name(named),
        command=Command(command["cmd"], fields),
    )
