"""What crosses the broker for raw data: the raw descriptor of a frame and the raw
questions and answers between nodes, checked like any input (pure, no server)."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest

from framecast.broker.codec import (
    Limits,
    RawReply,
    RawRequest,
    WireError,
    decode_control,
    decode_frame,
    encode_frame,
    encode_raw_reply,
    encode_raw_request,
)
from framecast.imaging import DisplayOptions, encode
from framecast.live.frames import Frame
from framecast.science.raw import Raw, RawAnswer, RemoteRaw, RemoteRawError
from tests.conftest import gradient

LIMITS = Limits(
    max_frame_bytes=1 << 20, max_metadata_bytes=4096, max_metadata_depth=4, max_pixels=10**6
)


def _frame(raw: Raw | None) -> Frame:
    shown = encode(gradient(), DisplayOptions())
    return Frame(
        seq=5,
        time=time.time(),
        jpeg=shown.jpeg,
        width=shown.width,
        height=shown.height,
        metadata={},
        stream="cam1",
        raw=raw,
    )


@pytest.mark.parametrize(
    "array",
    [np.zeros((48, 64), np.uint16), np.zeros((48, 64, 3), np.float32), np.zeros((4, 5), np.int16)],
)
def test_a_frame_carries_its_raw_dtype_and_shape_not_its_array(array: Any) -> None:
    """The receiving node's frame has a RemoteRaw with the publisher's dtype and shape and
    the publishing node; it says the same dtype and raw URL; its array cannot be read."""
    original = _frame(Raw(array))
    blob = encode_frame(original, "node-1")
    assert len(blob) < len(original.jpeg) + len(original.renderings.data_json) + 200
    _node, copy = decode_frame(blob, "cam1", LIMITS)
    assert isinstance(copy.raw, RemoteRaw)
    assert (copy.raw.dtype, copy.raw.shape, copy.raw.node) == (
        str(array.dtype),
        array.shape,
        "node-1",
    )
    assert copy.renderings.data_json == original.renderings.data_json
    with pytest.raises(RemoteRawError, match="node-1"):
        copy.raw.array()


def test_a_frame_without_raw_data_crosses_without() -> None:
    """``keep_raw = false`` on the publisher: no raw data on the receiving node either."""
    _node, copy = decode_frame(encode_frame(_frame(None), "node-1"), "cam1", LIMITS)
    assert copy.raw is None and copy.info()["raw"] is None


@pytest.mark.parametrize(
    ("descriptor", "reason"),
    [
        (b'{"dtype":"object","shape":[4,5]}', "dtype"),
        (b'{"dtype":"uint16","shape":[4]}', "shape"),
        (b'{"dtype":"uint16","shape":[4,5,2]}', "channels"),
        (b'{"dtype":"uint16","shape":[4,-5]}', "raw side"),
        (b'{"dtype":"uint16","shape":[4,5],"x":"' + b"y" * 300 + b'"}', "too long"),
        (b"[1]", "not an object"),
    ],
)
def test_a_bad_raw_descriptor_is_refused(descriptor: bytes, reason: str) -> None:
    """A raw descriptor with a dtype numpy would not publish, a wrong shape or too many
    bytes is refused with one line saying what."""
    blob = encode_frame(_frame(Raw(np.zeros((4, 5), np.uint16))), "node-1")
    good = b'{"dtype":"uint16","shape":[4,5]}'
    at = blob.index(good)
    length = len(descriptor).to_bytes(2, "big")
    mangled = blob[: at - 2] + length + descriptor + blob[at + len(good) :]
    with pytest.raises(WireError, match=reason):
        decode_frame(mangled, "cam1", LIMITS)


def test_raw_questions_and_answers_round_trip() -> None:
    """A raw request and the head of its answer decode to what was sent."""
    request = RawRequest("ab12", "node-2", "cam1", 9, "stats", {"seq": "9", "x": "1"}, True)
    assert decode_control(encode_raw_request(request), LIMITS) == request
    answer = RawAnswer(200, "application/json", b"{}", {"Cache-Control": "no-cache"})
    head = decode_control(encode_raw_reply("ab12", answer), LIMITS)
    assert isinstance(head, RawReply)
    assert head.answer(b"{}") == answer


_REQUEST = {
    "type": "raw",
    "id": "x",
    "from": "node-2",
    "stream": "cam1",
    "seq": 1,
    "route": "pixel",
    "params": {"x": "1", "y": "2"},
    "gzip": False,
}
_REPLY = {
    "type": "raw-reply",
    "id": "x",
    "status": 200,
    "content_type": "application/json",
    "headers": {},
    "bytes": 2,
}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"route": "system"}, "route"),
        ({"params": {"x": "1", "evil": "2"}}, "no parameter"),
        ({"params": {"x": "1" * 65}}, "at most 64"),
        ({"params": {"x": 1}}, "not text"),
        ({"params": []}, "params"),
        ({"gzip": "yes"}, "gzip"),
        ({"seq": 0}, "seq"),
        ({"stream": "../x"}, "stream"),
        ({"from": "a b"}, "node"),
    ],
)
def test_a_bad_raw_request_is_refused(change: dict[str, Any], reason: str) -> None:
    """A raw request naming an unknown route, a parameter the route does not take, a long
    value or a bad field is refused with one line (route names come from a fixed set)."""
    with pytest.raises(WireError, match=reason):
        decode_control(json.dumps({**_REQUEST, **change}).encode(), LIMITS)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": 99}, "status"),
        ({"status": True}, "status"),
        ({"content_type": "text/html\r\nSet-Cookie: a=b"}, "content type"),
        ({"headers": {"Set-Cookie": "a=b"}}, "headers"),
        ({"headers": {"Cache-Control": "a\nb"}}, "headers"),
        ({"bytes": (1 << 20) + 1}, "more than"),
        ({"bytes": -1}, "size"),
    ],
)
def test_a_bad_raw_reply_is_refused(change: dict[str, Any], reason: str) -> None:
    """An answer's head with a status that is not HTTP's, a header the routes never send,
    a line break in a header or a body beyond the broker's frame limit is refused."""
    with pytest.raises(WireError, match=reason):
        decode_control(json.dumps({**_REPLY, **change}).encode(), LIMITS)


def test_a_remote_raw_is_not_an_array_holder() -> None:
    """A RemoteRaw holds no array (it weighs nothing in the history) and says where the
    array lives when asked for it."""
    raw = RemoteRaw("uint16", (4, 5), "node-9")
    assert raw.held is None and (raw.width, raw.height, raw.channels) == (5, 4, 1)
    with pytest.raises(RemoteRawError, match="node-9"):
        raw.array()
