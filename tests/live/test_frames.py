"""Frames and their renderings, without a server: what every client is sent, built once."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from framecast.live import protocol
from framecast.live.frames import MAX_DEPTH, Frame, jsonable


def nested(levels: int) -> dict[str, Any]:
    """``{"k": {"k": ... {"k": 1}}}`` with ``levels`` dicts."""
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    assert isinstance(value, dict)
    return value


def depth(value: Any) -> int:
    levels = 0
    while isinstance(value, dict):
        value, levels = value["k"], levels + 1
    return levels


def test_deep_metadata_becomes_short_text_instead_of_recursing() -> None:
    """Metadata nested 5000 levels renders: below MAX_DEPTH the structure is kept, the rest
    is one short string (no RecursionError, no huge text)."""
    frame = Frame(seq=1, time=1.0, jpeg=b"j", width=1, height=1, metadata={"deep": nested(5000)})
    data = json.loads(frame.renderings.data_json)
    kept = data["deep"]
    assert depth(kept) == MAX_DEPTH - 1
    for _ in range(MAX_DEPTH - 1):
        kept = kept["k"]
    assert isinstance(kept, str) and 0 < len(kept) <= 200
    assert data["framecast"]["seq"] == 1


def test_jsonable_keeps_shallow_values_and_converts_numpy() -> None:
    """Plain values pass through; numpy scalars and arrays become numbers and lists; NaN null."""
    value = {"a": np.float32(1.5), "b": np.arange(3), "c": float("nan"), "d": (1, [2])}
    assert jsonable(value) == {"a": 1.5, "b": [0, 1, 2], "c": None, "d": [1, [2]]}
    assert jsonable(nested(10)) == nested(10)


def test_renderings_are_one_message_in_every_form() -> None:
    """data.json, the new_image text, its WebSocket frame, the /frames binary frame and the
    SSE event all say the same thing about the same frame."""
    frame = Frame(
        seq=7, time=12.5, jpeg=b"\xff\xd8\xff jpeg", width=4, height=3, metadata={"EXPO": "6s"}
    )
    r = frame.renderings
    data = json.loads(r.data_json)
    assert data == {"EXPO": "6s", "framecast": frame.info()}
    message = json.loads(r.new_image)
    assert message == {
        "type": "new_image",
        "seq": 7,
        "time": 12.5,
        "width": 4,
        "height": 3,
        "tiles": None,
        "dtype": None,
        "raw": None,
        "image": "/image/7.jpg",
        "format": "jpeg",
        "metadata": data,
    }
    assert json.loads(protocol.new_image_text(frame)) == message
    assert r.ws_message == protocol.websocket_frame(r.new_image, binary=False)
    assert r.frames_message == protocol.websocket_frame(frame.jpeg, binary=True)
    assert r.sse_event == b"id: 7\nevent: new_image\ndata: " + r.new_image + b"\n\n"


def test_reserved_key_belongs_to_framecast() -> None:
    """A publisher's own "framecast" key is replaced by framecast's fields."""
    frame = Frame(seq=2, time=0.0, jpeg=b"", width=1, height=1, metadata={"framecast": "mine"})
    assert json.loads(frame.renderings.data_json)["framecast"]["seq"] == 2
