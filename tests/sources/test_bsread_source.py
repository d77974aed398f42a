"""The bsread source against real ZeroMQ sockets: psi-bsread's sender, hand-made bad messages."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import zmq

from framecast.config.settings import Settings
from framecast.errors import ConfigError, ImageError
from framecast.sources import create_sources
from framecast.sources.bsread.source import BsreadSource, normalise_address
from framecast.sources.bsread.wire import encode_message
from tests.sources.conftest import PsiSender, Pusher, connected, free_port, next_frame, until


def camera(pulse_id: int) -> dict[str, Any]:
    """Channels of every bsread type, derived from the pulse id so the receiver can check them."""
    image = (np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) + pulse_id) % 4096
    return {
        "image": image,
        "flag": bool(pulse_id % 2),
        "i8": np.int8(-pulse_id % 100),
        "u8": np.uint8(pulse_id % 200),
        "i16": np.int16(-1000 - pulse_id),
        "u16": np.uint16(60000),
        "i32": np.int32(-(2**30)),
        "u32": np.uint32(2**31 + pulse_id),
        "i64": np.int64(-(2**40) - pulse_id),
        "u64": np.uint64(2**63 + pulse_id),
        "f32": np.float32(1.5),
        "f64": pulse_id * 0.25,
        "count": pulse_id,
        "label": f"shot {pulse_id}",
        "profile": np.linspace(0.0, 1.0, 17) * pulse_id,
        "profile_be": np.arange(10, dtype=">i4") * pulse_id,
    }


def assert_matches_camera(image: np.ndarray[Any, Any], metadata: dict[str, Any]) -> None:
    """What the source produced equals what :func:`camera` sent for that pulse."""
    pulse_id = metadata["pulse_id"]
    sent = camera(pulse_id)
    assert np.array_equal(image, sent["image"])
    assert image.shape == (48, 64)
    for key, value in sent.items():
        if key == "image":
            continue
        expected = value.tolist() if hasattr(value, "tolist") else value
        if isinstance(expected, list):
            assert metadata[key] == pytest.approx(expected), key
        else:
            assert metadata[key] == expected, key
            assert type(metadata[key]) is type(expected), key


@pytest.mark.parametrize("compression", [None, "lz4", "bitshuffle_lz4"])
@pytest.mark.parametrize("mode", ["push", "pub"])
async def test_psi_sender_frames_decode_to_what_was_sent(
    psi_sender: Callable[..., PsiSender], mode: str, compression: str | None
) -> None:
    """psi-bsread's sender (PUSH/PUB, every compression): image and all channel types round-trip."""
    sender = psi_sender(camera, mode=mode, compression=compression)
    source = BsreadSource(sender.endpoint, mode="sub" if mode == "pub" else "pull")
    frames = source.frames()
    try:
        for _ in range(3):
            incoming = await next_frame(frames)
            assert incoming.time is not None and abs(time.time() - incoming.time) < 5
            assert_matches_camera(incoming.load(), dict(incoming.metadata))
    finally:
        await frames.aclose()
    assert source.skipped == 0


async def test_fast_camera_frames_stay_fresh(psi_sender: Callable[..., PsiSender]) -> None:
    """With the camera 10x faster than the consumer, each frame taken is < 0.5 s old."""

    def big(pulse_id: int) -> dict[str, Any]:
        return {"image": np.full((512, 512), pulse_id, np.uint16)}

    sender = psi_sender(big, interval=0.01)  # ~100 Hz
    source = BsreadSource(sender.endpoint)
    frames = source.frames()
    ages = []
    try:
        for _ in range(8):
            incoming = await next_frame(frames)
            assert incoming.time is not None
            ages.append(time.time() - incoming.time)
            incoming.load()
            await asyncio.sleep(0.1)  # a consumer at ~10 Hz
    finally:
        await frames.aclose()
    assert max(ages[1:]) < 0.5, ages
    assert source.dropped > 0


def bad_messages(good: list[bytes]) -> list[list[bytes]]:
    """A corpus of malformed bsread messages (every one must be skipped)."""
    main = json.loads(good[0])
    header = json.loads(good[1])

    def with_header(channels: Any, digest: str) -> list[bytes]:
        fresh = dict(main, hash=digest)
        return [json.dumps(fresh).encode(), json.dumps({"channels": channels}).encode(), *good[2:]]

    channel = header["channels"][0]
    return [
        [b"only one part"],
        [b"not json", good[1], *good[2:]],
        [b"[1, 2, 3]", *good[1:]],
        [json.dumps({"pulse_id": 1}).encode(), *good[1:]],  # no hash
        [json.dumps(dict(main, pulse_id="x")).encode(), *good[1:]],
        [json.dumps(dict(main, hash="h1")).encode(), b"{bad json", *good[2:]],
        with_header("not a list", "h2"),
        with_header([dict(channel, type="complex128")], "h3"),
        with_header([dict(channel, compression="zstd")], "h4"),
        with_header([dict(channel, shape=[-1, 3])], "h5"),
        with_header([dict(channel, shape=[1 << 20, 1 << 20])], "h6"),
        with_header([dict(channel, encoding="middle")], "h7"),
        with_header([{"type": "uint16"}], "h8"),
        with_header([channel, channel], "h9"),  # same name twice
        [json.dumps(dict(main, dh_compression="zip")).encode(), *good[1:]],
        good[:-1],  # one part missing
        [*good, b"extra", b"parts"],
        [json.dumps(dict(main, hash="h10", dh_compression="lz4")).encode(), b"\x00\x01", *good[2:]],
    ]


async def test_malformed_messages_never_stop_the_source(pusher: Pusher) -> None:
    """Wrong part counts, bad JSON, bad sizes and unknown types are counted and skipped."""
    image = np.arange(12, dtype=np.uint16).reshape(3, 4)
    good = encode_message({"image": image, "energy": 5.5}, pulse_id=7)
    corpus = bad_messages(good)
    source = BsreadSource(pusher.endpoint)
    frames = source.frames()
    try:
        first = await connected(source, frames)
        for message in corpus:
            pusher.send(message)
        pusher.send(good)
        incoming = await first
        assert np.array_equal(incoming.load(), image)
        assert incoming.metadata == {"pulse_id": 7, "energy": 5.5}
        assert source.skipped == len(corpus)
        # a value whose size does not match its header passes the headers but is skipped
        after = asyncio.ensure_future(next_frame(frames))
        pusher.send([*good[:2], b"\x00" * 5, *good[3:]])
        await until(lambda: source.skipped == len(corpus) + 1, what="the skip")
        pusher.send(encode_message({"image": image * 2}, pulse_id=8))
        assert np.array_equal((await after).load(), image * 2)
    finally:
        await frames.aclose()


async def test_corrupt_compressed_image_fails_in_load_only(pusher: Pusher) -> None:
    """A corrupt bitshuffle image raises ImageError from load(); the source keeps going."""
    image = np.arange(64 * 8, dtype=np.uint16).reshape(8, 64)
    good = encode_message({"image": image}, pulse_id=1, compression="bitshuffle_lz4")
    broken = [*good[:2], good[2][:12] + b"\x00\x00\x00\x05garbage", good[3]]
    source = BsreadSource(pusher.endpoint)
    frames = source.frames()
    try:
        first = await connected(source, frames)
        pusher.send(broken)
        incoming = await first
        with pytest.raises(ImageError, match="pulse 1"):
            incoming.load()
        pusher.send(good)
        assert np.array_equal((await next_frame(frames)).load(), image)
    finally:
        await frames.aclose()


async def test_stream_without_image_is_skipped_with_a_hint(
    pusher: Pusher, caplog: pytest.LogCaptureFixture
) -> None:
    """Messages without a 2-D channel are skipped, and the log says how to choose one."""
    source = BsreadSource(pusher.endpoint)
    frames = source.frames()
    try:
        first = await connected(source, frames)
        with caplog.at_level(logging.WARNING, "framecast.sources.zmq"):
            pusher.send(encode_message({"energy": 1.0}, pulse_id=1))
            await until(lambda: source.skipped == 1, what="the skip")
        assert "zmq_image_channel=" in caplog.text  # as the Python API names it
        pusher.send(encode_message({"image": np.ones((2, 2), np.uint8)}, pulse_id=2))
        assert (await first).metadata["pulse_id"] == 2
    finally:
        await frames.aclose()


async def test_image_channel_chosen_by_name(pusher: Pusher) -> None:
    """--zmq-image-channel picks the named channel when there are several 2-D ones."""
    settings = Settings(zmq=pusher.endpoint, zmq_image_channel="b")
    (source,) = create_sources(settings)
    assert isinstance(source, BsreadSource)
    frames = source.frames()
    try:
        first = await connected(source, frames)
        channels = {"a": np.zeros((2, 3), np.uint8), "b": np.full((4, 5), 9, np.uint8)}
        pusher.send(encode_message(channels, pulse_id=1))
        incoming = await first
        assert np.array_equal(incoming.load(), channels["b"])
        assert "a" not in incoming.metadata  # 2-D channels are not metadata
    finally:
        await frames.aclose()


async def test_reconnects_after_camera_restart_with_a_new_format(
    psi_sender: Callable[..., PsiSender],
) -> None:
    """When the camera stops and comes back (new image size), frames flow again."""
    port = free_port()
    first = psi_sender(lambda n: {"image": np.full((4, 4), 1, np.uint16)}, port=port)
    source = BsreadSource(f"tcp://127.0.0.1:{port}")
    frames = source.frames()
    try:
        assert (await next_frame(frames)).load().shape == (4, 4)
        first.close()
        psi_sender(lambda n: {"image": np.full((6, 8), 2, np.uint16), "new": 1.0}, port=port)

        async def new_format() -> Any:
            while True:
                incoming = await next_frame(frames, timeout=10)
                if "new" in incoming.metadata:
                    return incoming

        incoming = await asyncio.wait_for(new_format(), 15)
        assert incoming.load().shape == (6, 8)
    finally:
        await frames.aclose()


async def test_oversized_message_is_refused_and_the_stream_recovers(pusher: Pusher) -> None:
    """A message over max_message_bytes is dropped by ZeroMQ; later small ones still arrive."""
    source = BsreadSource(pusher.endpoint, max_message_bytes=20_000)
    frames = source.frames()
    small = np.full((10, 10), 3, np.uint16)
    try:
        first = await connected(source, frames)
        pusher.send(encode_message({"image": np.zeros((200, 200), np.uint16)}, pulse_id=1))
        pulse = 2
        while not first.done():  # the connection is dropped and re-made: keep offering
            await until(lambda: source.connected or first.done(), what="a reconnection")
            with contextlib.suppress(zmq.Again):
                pusher.send(encode_message({"image": small}, pulse_id=pulse))
            pulse += 1
            await asyncio.wait({first}, timeout=0.1)
        incoming = await first
        assert np.array_equal(incoming.load(), small)
        assert incoming.metadata["pulse_id"] >= 2
    finally:
        await frames.aclose()


async def test_unreachable_address_keeps_trying_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nobody at the address: no crash, a warning naming the address, still waiting."""
    address = f"tcp://127.0.0.1:{free_port()}"
    source = BsreadSource(address, silence_warning=0.2)
    frames = source.frames()
    task = asyncio.ensure_future(next_frame(frames, timeout=30))
    try:
        with caplog.at_level(logging.WARNING, "framecast.sources.zmq"):
            await until(lambda: "no bsread data" in caplog.text, what="the warning")
        assert address in caplog.text
        assert not task.done()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await frames.aclose()


@pytest.mark.parametrize(
    "address", ["camera:9999", "tcp://camera", "http://x:1", "tcp://h:99999", ""]
)
def test_bad_addresses_are_config_errors(address: str) -> None:
    """Addresses that are not tcp://HOST:PORT raise ConfigError naming the fix."""
    if address == "camera:9999":
        assert normalise_address(address) == "tcp://camera:9999"
        return
    with pytest.raises(ConfigError, match="tcp://HOST:PORT"):
        BsreadSource(address)


def test_bad_mode_is_a_config_error() -> None:
    """Only pull and sub are socket modes."""
    with pytest.raises(ConfigError, match="pull or sub"):
        BsreadSource("tcp://127.0.0.1:9999", mode="req")


def declaring(shape: list[int], pulse_id: int, *, dtype: str = "uint16") -> list[bytes]:
    """A bsread message whose image channel declares ``shape`` (bsread order: width first)
    but carries a few lz4-compressed bytes; the main header's hash matches the new header."""
    parts = encode_message(
        {"image": np.zeros((4, 4), dtype), "energy": 5.8}, pulse_id=pulse_id, compression="lz4"
    )
    header = json.loads(parts[1])
    header["channels"][0]["shape"] = shape
    parts[1] = json.dumps(header).encode()
    main = json.loads(parts[0])
    main["hash"] = hashlib.md5(parts[1]).hexdigest()
    parts[0] = json.dumps(main).encode()
    return parts


@pytest.mark.parametrize("shape", [[40000, 40000], [30000, 30000]])
async def test_image_shape_over_the_pixel_limit_is_refused_and_the_stream_goes_on(
    pusher: Pusher, caplog: pytest.LogCaptureFixture, shape: list[int]
) -> None:
    """A message declaring a huge image is refused with one log line, before decompression;
    the next good message is published."""
    source = BsreadSource(pusher.endpoint)
    frames = source.frames()
    try:
        first = await connected(source, frames)
        with caplog.at_level(logging.WARNING, "framecast.sources.zmq"):
            pusher.send(declaring(shape, 1))
            await until(lambda: source.skipped == 1, what="the refusal")
            good = np.full((6, 8), 7, np.uint16)
            pusher.send(encode_message({"image": good}, pulse_id=2, compression="lz4"))
            incoming = await first
        assert incoming.metadata["pulse_id"] == 2
        assert np.array_equal(incoming.load(), good)
        lines = [r.getMessage() for r in caplog.records if "skipping bsread" in r.getMessage()]
        assert len(lines) == 1, lines
        assert "40000" in lines[0] or "30000x30000" in lines[0]
    finally:
        await frames.aclose()


async def test_pixel_limit_comes_from_settings_and_is_inclusive(pusher: Pusher) -> None:
    """--max-image-pixels reaches the source: 8x6 passes at 48 pixels, 8x7 is refused."""
    (source,) = create_sources(Settings(zmq=pusher.endpoint, max_image_pixels=48))
    assert isinstance(source, BsreadSource)
    frames = source.frames()
    try:
        first = await connected(source, frames)
        pusher.send(encode_message({"image": np.ones((7, 8), np.uint8)}, pulse_id=1))
        await until(lambda: source.skipped == 1, what="the refusal")
        pusher.send(encode_message({"image": np.ones((6, 8), np.uint8)}, pulse_id=2))
        assert (await first).load().shape == (6, 8)
    finally:
        await frames.aclose()
