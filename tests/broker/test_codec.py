"""The broker's wire format and the link's pure parts, without a server."""

from __future__ import annotations

import dataclasses
import json
import struct
import sys
from pathlib import Path

import pytest

from framecast.broker import node as broker
from framecast.broker.codec import (
    ControlReply,
    ControlRequest,
    Limits,
    WireError,
    decode_announcement,
    decode_control,
    decode_frame,
    encode_announcement,
    encode_frame,
    encode_reply,
    encode_request,
)
from framecast.broker.relay import FrameRelay
from framecast.config.settings import Settings
from framecast.errors import ConfigError
from framecast.imaging import DisplayOptions, encode
from framecast.live.frames import Frame
from framecast.live.protocol import Command
from framecast.live.shapes import ShapeLimits
from tests.broker.test_forwarding import _foreign_frame
from tests.imaging.samples import chart, png_bytes

LIMITS = Limits(
    max_frame_bytes=1 << 20,
    max_metadata_bytes=4096,
    max_metadata_depth=4,
    max_pixels=10**6,
    shapes=ShapeLimits(max_bytes=0),  # no overlays: metadata alone fills data.json's room
)


def test_a_frame_crosses_unchanged() -> None:
    """A frame decoded from its stored form has the same seq, sizes, metadata, JPEG and
    data.json bytes, and names the node that stored it."""
    original = _foreign_frame("cam1", 42)
    original = type(original)(**{**_fields(original), "metadata": {"a": [1, 2.5, "x"]}})
    node, copy = decode_frame(encode_frame(original, "node-1"), "cam1", LIMITS)
    assert node == "node-1"
    assert copy.seq == 42 and copy.jpeg == original.jpeg
    assert copy.renderings.data_json == original.renderings.data_json
    assert copy.renderings.new_image == original.renderings.new_image


def _line_art(png: bytes | None = None) -> Frame:
    """A 200 × 120 chart's frame: its JPEG and its lossless PNG display image."""
    pixels = chart(200, 120)
    encoded = encode(png_bytes(pixels), DisplayOptions())
    assert encoded.lossless is not None  # line art: a PNG display image
    return Frame(
        seq=7, time=1.0, jpeg=encoded.jpeg, width=200, height=120, metadata={},
        stream="cam1", lossless=encoded.lossless if png is None else png,
    )  # fmt: skip


def test_a_line_art_frame_crosses_with_its_png() -> None:
    """A chart's frame crosses with its PNG display image byte for byte: the copy's
    data.json and new_image say ``"format": "png"`` and name ``image/7.png``."""
    original = _line_art()
    _node, copy = decode_frame(encode_frame(original, "node-1"), "cam1", LIMITS)
    assert copy.lossless == original.lossless and copy.jpeg == original.jpeg
    assert copy.renderings.data_json == original.renderings.data_json
    assert json.loads(copy.renderings.new_image)["format"] == "png"
    assert copy.image_url == "/s/cam1/image/7.png"


@pytest.mark.parametrize(
    ("png", "reason"),
    [
        (lambda p: p[:-12], "not a whole PNG"),  # no IEND
        (lambda p: p[:16] + struct.pack(">II", 201, 120) + p[24:], "size it claims"),
        (lambda p: b"GIF89a" + p[6:], "not a whole PNG"),
    ],
)
def test_a_bad_png_display_image_is_refused(png: object, reason: str) -> None:
    """A stored frame whose PNG display image is cut, of another size than the frame or not
    a PNG is refused with one line saying so; one whose PNG runs past its end too."""
    assert callable(png)
    good = _line_art().lossless
    assert good is not None
    with pytest.raises(WireError, match=reason):
        decode_frame(encode_frame(_line_art(png(good)), "node-1"), "cam1", LIMITS)
    blob = encode_frame(_line_art(), "node-1")
    at = blob.index(good) - 4  # the PNG's length, said longer than what follows
    with pytest.raises(WireError, match="cut short"):
        decode_frame(blob[:at] + struct.pack(">I", len(blob)) + blob[at + 4 :], "cam1", LIMITS)


def _edit(blob: bytes, old: bytes, new: bytes) -> bytes:
    """``blob`` with ``old`` replaced by ``new`` in its data.json (lengths kept right)."""
    (node_length,) = struct.unpack_from(">H", blob, 4)
    at = 6 + node_length
    (length,) = struct.unpack_from(">I", blob, at)
    data = blob[at + 4 : at + 4 + length]
    assert old in data
    data = data.replace(old, new)
    return blob[:at] + struct.pack(">I", len(data)) + data + blob[at + 4 + length :]


def _fields(frame: object) -> dict[str, object]:
    names = ("seq", "time", "jpeg", "width", "height", "metadata", "stream")
    return {name: getattr(frame, name) for name in names}


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda b: b[:3], "signature"),
        (lambda b: b"XXXX" + b[4:], "signature"),
        (lambda b: b + b"\x00" * (1 << 20), "max_broker_frame_bytes"),
        (lambda b: b[:-2], "JPEG"),
        (lambda b: _edit(b, b'"stream":"cam1"', b'"stream":"cam2"'), "another"),
        (lambda b: _edit(b, b'"seq":42', b'"seq":-1'), "seq"),
        (lambda b: _edit(b, b'"width":64', b'"width":65'), "size"),
        (lambda b: _edit(b, b'"width":64', b'"width":1e309'), "width"),
        (lambda b: _edit(b, b'"width":64', b'"width":NaN'), "JSON"),
        (lambda b: _edit(b, b'{"framecast"', b'{"x":[[[[[[1]]]]]],"framecast"'), "deeper"),
        (lambda b: _edit(b, b'{"framecast"', b'{"x":"' + b"y" * 5000 + b'","framecast"'), "max_"),
    ],
)
def test_a_bad_stored_frame_is_refused_with_a_reason(mangle: object, reason: str) -> None:
    """Each way a stored frame can be wrong is refused with one line saying what."""
    blob = encode_frame(_foreign_frame("cam1", 42), "node-1")
    assert callable(mangle)
    with pytest.raises(WireError, match=reason):
        decode_frame(mangle(blob), "cam1", LIMITS)


def test_announcements_round_trip_and_bad_ones_are_refused() -> None:
    """An announcement names a valid stream, a positive seq and a node, written exactly as
    a node writes it; anything else (other spacing or key order too) is refused."""
    note = decode_announcement(encode_announcement("cam1", 5, "n1"))
    assert (note.stream, note.seq, note.node) == ("cam1", 5, "n1")
    for bad in (
        b"{",
        b"[1]",
        json.dumps({"stream": "a/b", "seq": 1, "node": "n"}).encode(),
        json.dumps({"stream": "a", "seq": True, "node": "n"}).encode(),
        json.dumps({"stream": "a", "seq": 1, "node": "n" * 65}).encode(),
        b'{"stream": "a", "seq": 1, "node": "n", "pad": "' + b"x" * 600 + b'"}',
        json.dumps({"stream": "a", "seq": 0, "node": "n"}).encode(),
        json.dumps({"stream": "a", "seq": 1, "node": "n"}, separators=(",", ":")).encode(),
        json.dumps({"node": "n", "seq": 1, "stream": "a"}).encode(),
        encode_announcement("cam1", 5, "n1") + b" ",
    ):
        with pytest.raises(WireError):
            decode_announcement(bad)


def test_control_messages_round_trip() -> None:
    """A request keeps its command and fields; a reply its dict."""
    request = ControlRequest("id1", "n1", "cam1", None, Command("focus", {"steps": 3}))
    decoded = decode_control(encode_request(request), LIMITS)
    assert decoded == request
    assert decode_control(encode_reply("id1", {"ok": True}), LIMITS) == ControlReply(
        "id1", {"ok": True}
    )
    with pytest.raises(WireError):
        decode_control(b'{"type": "request", "id": "x", "from": "n", "stream": "s"}', LIMITS)


def test_reconnection_backs_off_with_jitter_up_to_a_cap() -> None:
    """The delay doubles from RETRY_DELAY up to MAX_RETRY_DELAY, each time a random 50-100 %
    of that ceiling."""
    assert broker.backoff(1, rng=lambda: 1.0) == pytest.approx(broker.RETRY_DELAY)
    assert broker.backoff(1, rng=lambda: 0.0) == pytest.approx(broker.RETRY_DELAY / 2)
    assert broker.backoff(3, rng=lambda: 1.0) == pytest.approx(broker.RETRY_DELAY * 4)
    assert broker.backoff(50, rng=lambda: 1.0) == broker.MAX_RETRY_DELAY
    delays = {broker.backoff(4) for _ in range(20)}
    assert len(delays) > 1 and all(0.4 <= d <= 0.8 for d in delays)


def test_the_broker_address_is_shown_without_credentials() -> None:
    """Log lines name the broker by scheme, host, port and database only."""
    assert broker.where("rediss://user:pw@redis.example:6380/2") == "rediss://redis.example:6380/2"


def test_a_broker_url_that_is_not_redis_is_refused_without_echoing_it() -> None:
    """``--broker`` takes redis://, rediss:// or unix:// URLs; the error never repeats the
    URL (it may carry a password)."""
    with pytest.raises(ConfigError) as caught:
        Settings(broker="http://:secret@host")
    assert "secret" not in str(caught.value) and "redis://" in str(caught.value)
    with pytest.raises(ConfigError, match="namespace"):
        Settings(broker_namespace="a b")


def test_a_node_behind_keeps_only_the_newest_announcement_of_each_stream() -> None:
    """Announcements that arrive faster than frames are fetched replace each other per
    stream: the node fetches the newest once, never a backlog; its own are ignored."""
    from framecast.live.commands import Commands

    link = broker.Broker(Settings(broker="redis://127.0.0.1:1/0"), Commands())
    for seq in range(1, 50):
        link._frames.announced(encode_announcement("cam1", seq, "other-node"))
    link._frames.announced(encode_announcement("cam2", 7, "other-node"))
    link._frames.announced(encode_announcement("cam3", 9, link.node))
    assert link._frames._wanted == {"cam1": 49, "cam2": 7}


async def test_without_the_redis_package_the_node_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--broker`` without redis-py installed stops the start with one line naming the
    extra to install (and the URL's password nowhere)."""
    from framecast import ImageServer

    monkeypatch.setitem(sys.modules, "redis.asyncio", None)  # import fails as if missing
    server = ImageServer(work_folder=tmp_path / "w", port=0, broker="redis://:pw9@h:1/0")
    with pytest.raises(ConfigError, match=r"framecast\[broker\]") as caught:
        await server.astart()
    assert "pw9" not in str(caught.value)
    assert not server.running


def test_made_up_streams_announced_at_once_are_bounded_by_max_streams() -> None:
    """A flood of announcements of streams this node does not show keeps at most
    max_streams of them to look up; the others are dropped and counted."""
    from framecast.live.commands import Commands

    link = broker.Broker(Settings(broker="redis://127.0.0.1:1/0", max_streams=4), Commands())
    for n in range(10):
        link._frames.announced(encode_announcement(f"made-up-{n}", 1, "intruder"))
    assert len(link._frames._wanted) == 4 and link.rejected == 6


@pytest.mark.parametrize(
    ("announced", "counter", "shown", "due"),
    [
        (0, None, 7, True),  # after connecting: whatever is stored
        (8, 8, 7, True),  # announced, and its number was given
        (8, None, 7, False),  # no counter: nobody made it
        (9, 8, 8, False),  # a number beyond the counter, nothing newer: forged
        (9, 8, 7, True),  # forged, but the counter says a newer frame is stored
        (7, 7, 7, False),  # already shown
        (None, 8, 7, True),  # polled: the counter moved
        (None, 7, 7, False),  # polled: nothing new
    ],
)
def test_a_frame_is_fetched_only_when_its_counter_says_it_was_made(
    announced: int | None, counter: int | None, shown: int, due: bool
) -> None:
    """The relay fetches a stored frame after connecting, for an announced number the
    shared counter has given, or when the counter is past what is shown; never for a
    forged number alone."""
    assert FrameRelay._due(announced, counter, shown) is due


def test_overlays_cross_with_their_frame_and_bad_ones_are_refused() -> None:
    """A frame's overlays reach the other node as published; overlays another node could
    not have sent (a shape that cannot be drawn) refuse the frame with one line."""
    circle = {"shape": "circle", "x": 2, "y": 1, "r": 1, "text": "beam", "colour": "#0f0"}
    original = _foreign_frame("cam1", 7)
    original = type(original)(**{**_fields(original), "overlays": (circle,)})
    limits = dataclasses.replace(LIMITS, shapes=ShapeLimits())
    _node, copy = decode_frame(encode_frame(original, "node-1"), "cam1", limits)
    assert copy.overlays == (circle,)
    assert json.loads(copy.renderings.data_json)["framecast"]["overlays"] == [circle]
    blob = _edit(encode_frame(original, "node-1"), b'"circle"', b'"star!!"')
    with pytest.raises(WireError, match='its overlays cannot be drawn: overlay 0: shape is "star'):
        decode_frame(blob, "cam1", limits)
