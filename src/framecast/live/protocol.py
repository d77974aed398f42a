"""Message formats of the live sockets — pure, no I/O.

``/ws`` (the ALS protocol): ``{"type": "new_image", ...}`` after each image and
``{"type": "disconnect"}`` before shutdown. ``/events`` carries the same JSON as
Server-Sent Events. ``/control`` takes JSON commands and answers JSON replies.
Nothing here caches: a frame's messages are built once by the frame itself
(:class:`framecast.live.frames.Renderings`).
"""

from __future__ import annotations

import importlib
import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any, Protocol


def _optional(name: str) -> Any:
    """An optional extra's module, or None when it is not installed. Imported by name so
    that type checking is the same with and without the extra."""
    try:
        return importlib.import_module(name)
    except ImportError:  # pragma: no cover - exercised when the extra is absent
        return None


#: Optional speed-up (pip install framecast[speed]): ~10× faster on large metadata.
_orjson = _optional("orjson")

__all__ = [
    "ALERT",
    "ALERTS_TOLD",
    "BAD_JSON",
    "DISCONNECT",
    "MARKS",
    "PRESENT",
    "PRESENTER",
    "PRESENTING",
    "STOP_PRESENTING",
    "UNKNOWN_COMMAND",
    "Command",
    "CommandError",
    "Described",
    "Notice",
    "alert_notice",
    "encode_reply",
    "json_bytes",
    "new_image_message",
    "new_image_payload",
    "new_image_text",
    "parse_command",
    "parse_viewer_message",
    "presenter_notice",
    "presenting_reply",
    "sse_event",
    "websocket_frame",
]

DISCONNECT = json.dumps({"type": "disconnect"})
#: ``{"type": "marks", "stream": NAME, "marks": [...]}``: the stream's shared marks, all of
#: them, after each change (docs/together.md).
MARKS = "marks"

#: Replies to commands that cannot be dispatched (docs/control.md).
BAD_JSON: dict[str, Any] = {"error": "bad json"}
UNKNOWN_COMMAND: dict[str, Any] = {"error": "unknown command"}
_MAX_DEPTH = 32


class Described(Protocol):
    """What a ``new_image`` message says about a frame (:class:`framecast.live.frames.Frame`)."""

    @property
    def seq(self) -> int: ...

    @property
    def time(self) -> float: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def tiles(self) -> str | None: ...

    @property
    def dtype(self) -> str | None: ...

    @property
    def raw_url(self) -> str | None: ...

    @property
    def image_url(self) -> str: ...

    @property
    def image_format(self) -> str: ...

    def data(self) -> dict[str, Any]: ...


def json_bytes(value: Any) -> bytes:
    """Compact, strict JSON of plain JSON types (non-finite floats must already be None).

    Uses orjson when installed, the standard library otherwise (and for what orjson
    refuses, e.g. an integer beyond 64 bits)."""
    if _orjson is not None:
        try:
            fast: bytes = _orjson.dumps(value)
            return fast
        except TypeError:
            pass
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def _new_image_head(frame: Described) -> dict[str, Any]:
    """``new_image`` without its metadata: ALS's ``type`` plus sequence, time, size, tiles,
    the raw data's dtype and DZI (docs/science.md), and the display image's URL and format
    (docs/imaging.md, "Line art")."""
    return {
        "type": "new_image",
        "seq": frame.seq,
        "time": round(frame.time, 6),
        "width": frame.width,
        "height": frame.height,
        "tiles": frame.tiles,
        "dtype": frame.dtype,
        "raw": frame.raw_url,
        "image": frame.image_url,
        "format": frame.image_format,
    }


def new_image_payload(frame: Described) -> dict[str, Any]:
    """The ``new_image`` notification: ALS's ``type`` plus sequence, time, size and metadata."""
    return {**_new_image_head(frame), "metadata": frame.data()}


def new_image_message(frame: Described, data_json: bytes) -> bytes:
    """The ``new_image`` message as UTF-8 JSON, around ``data_json`` (the frame's data.json,
    already encoded) so the metadata is encoded once per frame."""
    head = json_bytes(_new_image_head(frame))
    return head[:-1] + b',"metadata":' + data_json + b"}"


def new_image_text(frame: Described) -> str:
    """The ``new_image`` message as text (the frame's own rendering is the same bytes)."""
    return new_image_message(frame, json_bytes(frame.data())).decode()


def websocket_frame(payload: bytes, *, binary: bool) -> bytes:
    """One unmasked, uncompressed WebSocket frame carrying ``payload`` (RFC 6455 §5.2: FIN,
    opcode, length, payload), ready to be written as-is to any client."""
    opcode = 0x2 if binary else 0x1
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return header + payload


def sse_event(event: str, data: str | bytes, *, event_id: int | None = None) -> bytes:
    """One Server-Sent Event; ``data`` must not contain newlines (JSON text never does)."""
    head = f"event: {event}\ndata: "
    if event_id is not None:
        head = f"id: {event_id}\n{head}"
    body = data if isinstance(data, bytes) else data.encode()
    return head.encode() + body + b"\n\n"


# -- presenting and alerts on /ws (docs/together.md) -------------------------------------------

#: Viewer → server: ``{"type": "present", "view": FRAGMENT, "token"?: TOKEN}`` starts
#: presenting, or says the presenter's view changed.
PRESENT = "present"
#: Viewer → server: ``{"type": "stop_presenting"}``.
STOP_PRESENTING = "stop_presenting"
#: Server → every viewer of the stream: ``{"type": "presenter", "id": N, "view": FRAGMENT}``,
#: ``"view": null`` when presenting ended.
PRESENTER = "presenter"
#: Server → the viewer that asked to present: ``{"type": "presenting", "id": N}``, or
#: ``{"type": "presenting", "id": null, "error": "..."}`` when it may not.
PRESENTING = "presenting"
#: Server → every viewer of the stream: an alert rule fired (the webhook's JSON plus ``type``
#: and ``recent``, the stream's newest firings).
ALERT = "alert"
#: Firings an ``alert`` message lists under ``recent`` at most.
ALERTS_TOLD = 5


def parse_viewer_message(data: bytes, max_bytes: int) -> tuple[str, dict[str, Any]] | None:
    """A message a viewer sent on ``/ws``: its ``type`` and fields, or ``None`` when it is
    larger than ``max_bytes``, not a JSON object or has no string ``type`` (ignored: ``/ws``
    clients of the ALS protocol may send anything)."""
    if len(data) > max_bytes:
        return None
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return None
    return value["type"], value


def presenter_notice(ident: int, view: str | None) -> Notice:
    """``presenter``: who presents (the presentation's number) and their view, ``None`` when
    nobody does any more; the whole state of presenting, for every viewer of the stream."""
    return Notice.of(PRESENTER, {"id": ident, "view": view})


def presenting_reply(ident: int | None, error: str | None = None) -> str:
    """The answer to the viewer that asked to present."""
    reply: dict[str, Any] = {"type": PRESENTING, "id": ident}
    if error is not None:
        reply["error"] = error
    return json.dumps(reply, separators=(",", ":"))


def alert_notice(recent: list[dict[str, Any]]) -> Notice:
    """``alert``: the newest firing of a stream's rules (the webhook's JSON) with, under
    ``recent``, the newest :data:`ALERTS_TOLD` firings of the stream, newest first (``recent``
    must not be empty): a viewer that was busy while several fired still lists them all."""
    told = recent[:ALERTS_TOLD]
    return Notice.of(ALERT, {**told[0], "recent": told})


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for the live viewers of a stream that is not a frame (its shared marks, who
    presents, its alerts):
    JSON text with a ``type``, rendered once for ``/ws`` (the text) and ``/events`` (an event
    named after the type). Each says the whole state of its kind, so a viewer busy when
    several come needs only the newest (the hub keeps one per kind per viewer)."""

    kind: str
    text: bytes
    sse_event: bytes
    #: The text as one whole WebSocket frame, for the fast path of an idle ``/ws`` viewer.
    ws_message: bytes

    @classmethod
    def of(cls, kind: str, payload: dict[str, Any]) -> Notice:
        """The notice of ``kind`` saying ``payload`` (plain JSON types)."""
        text = json_bytes({"type": kind, **payload})
        return cls(kind, text, sse_event(kind, text), websocket_frame(text, binary=False))


# -- /control ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """A parsed control command: its name and every field the client sent."""

    name: str
    fields: dict[str, Any] = field(default_factory=dict)


class CommandError(Exception):
    """A message that is not a command; ``reply`` is what the client gets back."""

    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__(reply.get("error", "error"))
        self.reply = reply


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def parse_command(text: str | bytes) -> Command:
    """Parse one ``/control`` message or raise :class:`CommandError` with the reply to send.

    Not JSON (including invalid UTF-8, NaN/Infinity, nesting deeper than 32) → ``bad json``;
    JSON that is not an object with a string ``cmd`` → ``unknown command``.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise CommandError(BAD_JSON) from None
    if _depth(value, _MAX_DEPTH) > _MAX_DEPTH:
        raise CommandError(BAD_JSON)
    if not isinstance(value, dict) or not isinstance(value.get("cmd"), str):
        raise CommandError(UNKNOWN_COMMAND)
    fields = {k: v for k, v in value.items() if k != "cmd"}
    return Command(value["cmd"], fields)


def encode_reply(reply: dict[str, Any]) -> str:
    """A reply as JSON text; values JSON cannot hold become strings, non-finite floats null."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        return str(value)

    return json.dumps(clean(reply), separators=(",", ":"), allow_nan=False)
