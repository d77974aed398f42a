"""Frame value objects: what a source hands in, and what the hub fans out. Pure.

A :class:`Frame` owns everything it is sent as (its :class:`Renderings`): they are built
once, when the frame is made (by the pipeline, in a worker thread), shared by every client
and dropped with the frame. Nothing else keeps per-frame data, so a superseded frame — and
its full-resolution array — is freed as soon as the last client has its bytes.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from framecast.config.streamname import DEFAULT_STREAM, STREAM_PREFIX
from framecast.live import protocol

if TYPE_CHECKING:
    from framecast.imaging.pyramid import Pyramid
    from framecast.science.raw import Raw

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_DEPTH",
    "RESERVED_KEY",
    "Frame",
    "Incoming",
    "Renderings",
    "jsonable",
]

#: The one key of data.json that belongs to framecast; every other key is the publisher's.
RESERVED_KEY = "framecast"
#: The file extension of each display image format (the ``image/<seq>.<ext>`` route).
IMAGE_EXTENSIONS = {"jpeg": "jpg", "png": "png"}
#: Metadata nested deeper than this becomes a (truncated) string. The door refuses deeper
#: input with a clear error (``max_metadata_depth``); this bound protects every other path
#: (sources, ``publish()``) so that no value can make rendering a frame recurse without end.
MAX_DEPTH = 64
_MAX_TEXT = 200
_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3
_SHORT.maxstring = _SHORT.maxother = _MAX_TEXT


def _truncated(value: Any) -> str:
    try:
        text = _SHORT.repr(value)
    except Exception:  # a repr that fails (or recurses too deep) says nothing useful
        text = f"<{type(value).__name__}>"
    return text[:_MAX_TEXT]


def jsonable(value: Any, _depth: int = 0) -> Any:
    """Turn metadata values (numpy scalars and arrays, bytes, paths, …) into plain JSON types.

    Non-finite floats become ``None`` (JSON has no NaN); unknown objects become their ``str``;
    containers nested deeper than :data:`MAX_DEPTH` become a short, truncated text.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping | list | tuple):
        if _depth >= MAX_DEPTH:
            return _truncated(value)
        if isinstance(value, Mapping):
            return {str(k): jsonable(v, _depth + 1) for k, v in value.items()}
        return [jsonable(v, _depth + 1) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        listed = tolist()
        if listed is value:  # pragma: no cover - a tolist() that returns itself
            return str(value)
        return jsonable(listed, _depth)
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
    #: Shapes drawn over this image only (docs/together.md), already checked
    #: (:func:`framecast.live.shapes.check_overlays`).
    overlays: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Renderings:
    """Every form a frame is sent in, as bytes, built once with the frame."""

    #: ``data.json``: served by ``GET /data.json`` and written to the web folder.
    data_json: bytes
    #: The ``new_image`` notification (UTF-8 JSON text) of ``/ws``.
    new_image: bytes
    #: ``new_image`` as one WebSocket text frame, written as-is to idle ``/ws`` clients.
    ws_message: bytes
    #: The JPEG as one WebSocket binary frame, written as-is to idle ``/frames`` clients.
    frames_message: bytes
    #: ``new_image`` as a Server-Sent Event with ``id: <seq>`` (``/events``).
    sse_event: bytes

    @classmethod
    def of(cls, frame: Frame) -> Renderings:
        """Render ``frame`` (pure; a few JSON encodings and byte copies)."""
        data_json = protocol.json_bytes(frame.data())
        new_image = protocol.new_image_message(frame, data_json)
        return cls(
            data_json=data_json,
            new_image=new_image,
            ws_message=protocol.websocket_frame(new_image, binary=False),
            frames_message=protocol.websocket_frame(frame.jpeg, binary=True),
            sse_event=protocol.sse_event("new_image", new_image, event_id=frame.seq),
        )


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One published image, encoded and rendered once and shared by every client.

    Making a frame renders it (:attr:`renderings`); the pipeline does that off the event
    loop. What is derived from a frame later (history, tiles, analysis answers) belongs here
    too, so that it lives exactly as long as the frame.
    """

    seq: int
    time: float  # epoch seconds when publish() was called
    jpeg: bytes
    width: int
    height: int
    metadata: Mapping[str, Any]
    #: The full-resolution display image (or the original JPEG bytes), for snapshots.
    original: Any = None
    source_width: int = 0
    source_height: int = 0
    #: The stream (camera) the frame belongs to (docs/streams.md).
    stream: str = "default"
    #: The deep-zoom pyramid of the full-resolution display image (docs/tiles.md), only for a frame
    #: larger than ``max_web_size``; the tiles cut from it leave the server's cache with it.
    pyramid: Pyramid | None = field(default=None, repr=False)
    #: The pixels as published, in their own dtype (docs/science.md), or ``None`` when raw data
    #: is not kept (``keep_raw = false``).
    raw: Raw | None = field(default=None, repr=False)
    #: The producer's shapes over this frame (docs/together.md), checked on the way in; in
    #: ``data.json`` under ``framecast.overlays`` when there are any.
    overlays: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)
    #: The lossless display image of line art (PNG bytes, docs/imaging.md "Line art"), which
    #: the viewer shows instead of :attr:`jpeg`; ``None`` for photographs and camera frames.
    lossless: bytes | None = field(default=None, repr=False)
    renderings: Renderings = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "renderings", Renderings.of(self))

    @property
    def tiles(self) -> str | None:
        """The URL path of the frame's DZI descriptor, or ``None`` without a pyramid."""
        if self.pyramid is None:
            return None
        prefix = "" if self.stream == DEFAULT_STREAM else f"/{STREAM_PREFIX}/{self.stream}"
        return f"{prefix}/tiles/{self.seq}.dzi"

    @property
    def image_format(self) -> str:
        """The display image's format: ``"png"`` for line art, else ``"jpeg"``."""
        return "png" if self.lossless is not None else "jpeg"

    @property
    def image_bytes(self) -> bytes:
        """The display image: the PNG of line art, else the JPEG."""
        return self.lossless if self.lossless is not None else self.jpeg

    @property
    def image_url(self) -> str:
        """The URL path of the display image (``image/<seq>.png`` or ``.jpg``)."""
        prefix = "" if self.stream == DEFAULT_STREAM else f"/{STREAM_PREFIX}/{self.stream}"
        return f"{prefix}/image/{self.seq}.{IMAGE_EXTENSIONS[self.image_format]}"

    @property
    def dtype(self) -> str | None:
        """The raw array's dtype (``"uint16"``, …), or ``None`` without raw data."""
        return self.raw.dtype if self.raw is not None else None

    @property
    def raw_url(self) -> str | None:
        """The URL path of the raw tiles' DZI descriptor (docs/science.md), or ``None``."""
        if self.raw is None:
            return None
        prefix = "" if self.stream == DEFAULT_STREAM else f"/{STREAM_PREFIX}/{self.stream}"
        return f"{prefix}/raw/{self.seq}.dzi"

    def info(self) -> dict[str, Any]:
        """framecast's own fields, stored under :data:`RESERVED_KEY` in data.json (with
        ``overlays`` only when the frame has some)."""
        info: dict[str, Any] = {
            "seq": self.seq,
            "time": round(self.time, 6),
            "width": self.width,
            "height": self.height,
            "source_width": self.source_width or self.width,
            "source_height": self.source_height or self.height,
            "bytes": len(self.jpeg),
            "stream": self.stream,
            "tiles": self.tiles,
            "dtype": self.dtype,
            "raw": self.raw_url,
            "image": self.image_url,
            "format": self.image_format,
        }
        if self.overlays:
            info["overlays"] = [dict(shape) for shape in self.overlays]
        return info

    def data(self) -> dict[str, Any]:
        """The content of data.json: the publisher's keys as given, plus ours under one key."""
        metadata = jsonable(self.metadata)
        if not isinstance(metadata, dict):
            metadata = {}
        data = {k: v for k, v in metadata.items() if k != RESERVED_KEY}
        data[RESERVED_KEY] = self.info()
        return data
