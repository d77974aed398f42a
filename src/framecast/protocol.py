"""Message formats of the live sockets — pure, no I/O.

``/ws`` (the ALS protocol): ``{"type": "new_image", ...}`` after each image and
``{"type": "disconnect"}`` before shutdown. ``/events`` carries the same JSON as
Server-Sent Events. ``/control`` takes JSON commands and answers JSON replies.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from .frames import Frame

try:  # optional speed-up (pip install framecast[speed]): ~10× faster on large metadata
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised when orjson is absent
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "BAD_JSON",
    "DISCONNECT",
    "UNKNOWN_COMMAND",
    "Command",
    "CommandError",
    "encode_reply",
    "new_image_payload",
    "new_image_text",
    "parse_command",
    "sse_event",
]

DISCONNECT = json.dumps({"type": "disconnect"})

#: Replies to commands that cannot be dispatched (SPEC §4.3).
BAD_JSON: dict[str, Any] = {"error": "bad json"}
UNKNOWN_COMMAND: dict[str, Any] = {"error": "unknown command"}
_MAX_DEPTH = 32


def new_image_payload(frame: Frame) -> dict[str, Any]:
    """The ``new_image`` notification: ALS's ``type`` plus sequence, time, size and metadata."""
    return {
        "type": "new_image",
        "seq": frame.seq,
        "time": round(frame.time, 6),
        "width": frame.width,
        "height": frame.height,
        "metadata": frame.data(),
    }


@functools.lru_cache(maxsize=8)
def new_image_text(frame: Frame) -> str:
    """The ``new_image`` message as text, built once per frame and shared by every client.

    Uses orjson when installed (the same compact JSON: metadata is already plain JSON types
    with non-finite floats as null), the standard library otherwise."""
    payload = new_image_payload(frame)
    if _orjson is not None:
        try:
            return _orjson.dumps(payload).decode()
        except TypeError:  # e.g. an integer beyond 64 bits: the standard library takes it
            pass
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)


def sse_event(event: str, data: str, *, event_id: int | None = None) -> bytes:
    """One Server-Sent Event; ``data`` must not contain newlines (JSON text never does)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append(f"data: {data}")
    return ("\n".join(lines) + "\n\n").encode()


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
