"""Frame value objects: what a source hands in, and what the hub fans out. Pure."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RESERVED_KEY", "Frame", "Incoming", "jsonable"]

#: The one key of data.json that belongs to framecast; every other key is the publisher's.
RESERVED_KEY = "framecast"


def jsonable(value: Any) -> Any:
    """Turn metadata values (numpy scalars and arrays, bytes, paths, …) into plain JSON types.

    Non-finite floats become ``None`` (JSON has no NaN); unknown objects become their ``str``.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return jsonable(tolist())
    return str(value)


@dataclass(frozen=True, slots=True)
class Incoming:
    """An image on its way in, not yet decoded or encoded.

    ``load`` returns something :func:`framecast.imaging.encode` accepts (an array, a PIL
    image, encoded bytes or a path). It is called at most once, off the event loop, and only
    if somebody wants the frame: a source that is faster than its viewers never pays for
    decoding frames that are dropped.
    """

    load: Callable[[], Any]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    time: float | None = None  # when the image was produced (epoch seconds), if known
    name: str | None = None  # for log messages: file name, stream pulse id, …
    #: Called once on the event loop with the frame's sequence number when it is published,
    #: or with ``None`` when it never will be (replaced by a newer image, undecodable, stop).
    on_published: Callable[[int | None], None] | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One published image, encoded once and shared by every client."""

    seq: int
    time: float  # epoch seconds when publish() was called
    jpeg: bytes
    width: int
    height: int
    metadata: Mapping[str, Any]
    original: Any = None  # the full-resolution input, kept for snapshots
    source_width: int = 0
    source_height: int = 0

    def info(self) -> dict[str, Any]:
        """framecast's own fields, stored under :data:`RESERVED_KEY` in data.json."""
        return {
            "seq": self.seq,
            "time": round(self.time, 6),
            "width": self.width,
            "height": self.height,
            "source_width": self.source_width or self.width,
            "source_height": self.source_height or self.height,
            "bytes": len(self.jpeg),
        }

    def data(self) -> dict[str, Any]:
        """The content of data.json: the publisher's keys as given, plus ours under one key."""
        data = {k: v for k, v in jsonable(self.metadata).items() if k != RESERVED_KEY}
        data[RESERVED_KEY] = self.info()
        return data
