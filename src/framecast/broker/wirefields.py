"""The fields every message between nodes is made of, each checked on the way in — pure.

A node id, a whole number in bounds, a stream name, JSON no larger and no deeper than allowed:
:mod:`~framecast.broker.storedframe` and :mod:`~framecast.broker.codec` build their messages
from these, and anything off raises :class:`WireError` with one line (docs/scale-out.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from framecast.config.streamname import check_name
from framecast.errors import FramecastError
from framecast.live.metadata import check_text_depth
from framecast.live.shapes import ShapeLimits

__all__ = ["NODE", "Limits", "WireError", "bounded_json", "checked_node", "count", "stream_name"]

#: A node id: what a node calls itself on the broker.
NODE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class WireError(FramecastError, ValueError):
    """A message read from the broker that is not what a framecast node sends."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What a message from the broker may weigh (the node's own settings)."""

    max_frame_bytes: int
    max_metadata_bytes: int
    max_metadata_depth: int
    max_pixels: int
    #: What a frame's overlays may hold (docs/together.md): checked like any producer's.
    shapes: ShapeLimits = field(default_factory=ShapeLimits)


def checked_node(value: object) -> str:
    """``value`` if it is a node id (:data:`NODE`)."""
    if not isinstance(value, str) or not NODE.fullmatch(value):
        raise WireError("the node id is missing or malformed")
    return value


def count(value: object, what: str, *, low: int = 1, high: int | None = None) -> int:
    """``value`` if it is a whole number from ``low`` to ``high``; ``what`` names it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise WireError(f"{what} is not a whole number from {low}")
    if high is not None and value > high:
        raise WireError(f"{what} {value} is more than {high}")
    return value


def stream_name(value: object) -> str:
    """``value`` if it is a valid stream name (docs/streams.md)."""
    if not isinstance(value, str):
        raise WireError("the stream name is missing")
    try:
        return check_name(value)
    except FramecastError:
        raise WireError("the stream name is not a valid name") from None


def bounded_json(data: bytes, limit: int, depth: int) -> Any:
    """``data`` parsed as JSON, refused when over ``limit`` bytes or ``depth`` levels deep."""
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
