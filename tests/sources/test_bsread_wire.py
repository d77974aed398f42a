"""The bsread wire format, pure: round trips, psi-bsread's own bytes, bitshuffle, errors."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest

from framecast.sources.bsread import compression as bsread_codec
from framecast.sources.bsread import wire as wire
from framecast.sources.bsread.wire import Decoder, WireError, decode_value, encode_message


def psi_message(channels: dict[str, Any], compression: str | None) -> list[bytes]:
    """The parts psi-bsread's Sender puts on the wire for ``channels`` (captured, no socket)."""
    import bsread

    parts: list[bytes] = []

    class Capture:
        def send(self, data: bytes, send_more: bool = False, block: bool = True) -> None:
            parts.append(bytes(data))

    sender = bsread.Sender(data_compression=compression)
    sender.main_header = {"htype": "bsr_m-1.1"}
    sender.stream = Capture()
    sender.status_stream_open = True
    sender.pulse_id = 0
    sender.send(data=channels, pulse_id=42, timestamp=1700000000.25)
    return parts


VALUES: dict[str, Any] = {
    "image_le": np.arange(6 * 10, dtype="<u2").reshape(6, 10),
    "image_be": np.arange(4 * 9, dtype=">f4").reshape(4, 9) / 3,
    "flag": True,
    "i8": np.int8(-5),
    "u8": np.uint8(250),
    "i16": np.int16(-300),
    "u16": np.uint16(65000),
    "i32": np.int32(-70000),
    "u32": np.uint32(4_000_000_000),
    "i64": np.int64(-(2**50)),
    "u64": np.uint64(2**63 + 1),
    "f32": np.float32(0.5),
    "f64": 2.75,
    "text": "héllo",
    "wave": np.linspace(-1, 1, 33),
    "wave_be": np.arange(20, dtype=">i8"),
}


def check_values(decoded: dict[str, Any]) -> None:
    """Every channel decodes to the value, dtype kind and shape that was sent."""
    for name, sent in VALUES.items():
        got = decoded[name]
        if isinstance(sent, np.ndarray):
            assert got.shape == sent.shape, name
            assert np.array_equal(got, sent), name
        else:
            assert got == sent, name


@pytest.mark.parametrize("compression", [None, "lz4", "bitshuffle_lz4"])
def test_psi_bsread_sender_bytes_decode_to_what_was_sent(compression: str | None) -> None:
    """Messages built by psi-bsread's Sender decode to the sent values, every compression."""
    message = Decoder().decode(psi_message(VALUES, compression))
    assert message.pulse_id == 42
    assert message.timestamp == pytest.approx(1700000000.25)
    check_values(message.decode_all())
    assert message.header.image_channel() == 0


@pytest.mark.parametrize("compression", [None, "lz4", "bitshuffle_lz4"])
def test_own_encoder_round_trips(compression: str | None) -> None:
    """encode_message → Decoder gives back every channel type, either byte order."""
    parts = encode_message(VALUES, pulse_id=9, timestamp=12.5, compression=compression)
    message = Decoder().decode(parts)
    assert message.pulse_id == 9 and message.timestamp == pytest.approx(12.5)
    check_values(message.decode_all())


@pytest.mark.parametrize("compression", [None, "lz4", "bitshuffle_lz4"])
def test_own_encoder_is_read_by_psi_bsread(compression: str | None) -> None:
    """psi-bsread's receiving handler decodes the messages framecast sends."""
    from bsread.handlers.compact import Handler

    parts = encode_message(VALUES, pulse_id=3, compression=compression)

    class Receiver:
        def __init__(self) -> None:
            self.parts = list(parts)

        def next(self, as_json: bool = False) -> Any:
            part = self.parts.pop(0)
            return json.loads(part) if as_json else part

        def has_more(self) -> bool:
            return bool(self.parts)

    message = Handler().receive(Receiver())
    assert message.pulse_id == 3
    check_values({name: value.value for name, value in message.data.items()})


@pytest.mark.parametrize("count", [1, 7, 8, 9, 100, 1023, 1024, 5000])
@pytest.mark.parametrize("dtype", ["u1", "<u2", ">i4", "<f8"])
def test_numpy_bitshuffle_interoperates_with_the_bitshuffle_package(
    monkeypatch: pytest.MonkeyPatch, count: int, dtype: str
) -> None:
    """Without the bitshuffle package, numpy decodes its streams and writes streams it reads."""
    from bsread.data.compression import BitshuffleLZ4

    values = np.random.default_rng(count).integers(0, 100, count).astype(dtype)
    with_package = BitshuffleLZ4.pack_data(values, values.dtype)
    monkeypatch.setattr(bsread_codec, "_package_bitshuffle", lambda: None)
    assert bytes(wire.decompress(with_package, "bitshuffle_lz4", values.dtype)) == values.tobytes()
    without = wire.compress(values.tobytes(), "bitshuffle_lz4", values.dtype)
    monkeypatch.undo()
    decoded = BitshuffleLZ4.unpack_data(without, values.dtype, [count])
    assert np.asarray(decoded).tobytes() == values.tobytes()


def test_truncated_bitshuffle_stream_is_an_error_not_a_crash() -> None:
    """Every cut of a bitshuffle_lz4 value raises WireError (never reaches unchecked C code)."""
    values = np.arange(5000, dtype="<u2")
    packed = wire.compress(values.tobytes(), "bitshuffle_lz4", values.dtype)
    spec = wire.ChannelSpec.parse(
        {"name": "a", "type": "uint16", "shape": [5000], "compression": "bitshuffle_lz4"}
    )
    for cut in range(13, len(packed) - 1, 97):
        with pytest.raises(WireError):
            decode_value(spec, packed[:cut])
    flipped = bytearray(packed)
    for index in range(16, len(flipped), 211):
        flipped[index] ^= 0xFF
    with pytest.raises(WireError):
        decode_value(spec, bytes(flipped))


def test_header_cache_follows_format_changes() -> None:
    """A new data-header hash is parsed once; the old format still decodes afterwards."""
    decoder = Decoder()
    first = encode_message({"image": np.zeros((2, 2), np.uint8)}, pulse_id=1)
    second = encode_message({"image": np.zeros((3, 4), np.uint16)}, pulse_id=2)
    assert decoder.decode(first).format_changed
    assert not decoder.decode(first).format_changed
    assert decoder.decode(second).format_changed
    assert decoder.decode(second).value(0).shape == (3, 4)
    assert decoder.decode(first).value(0).shape == (2, 2)


def test_cached_header_is_used_even_if_later_data_header_part_is_junk() -> None:
    """Once a hash is known, the repeated data header is not parsed again (cheap receive)."""
    decoder = Decoder()
    parts = encode_message({"x": 1.0}, pulse_id=1)
    decoder.decode(parts)
    assert decoder.decode([parts[0], b"junk", *parts[2:]]).value(0) == 1.0


def test_empty_value_is_none() -> None:
    """A channel sent without a value decodes to None."""
    parts = encode_message({"x": 1.0}, pulse_id=1)
    message = Decoder().decode([*parts[:2], b"", parts[3]])
    assert message.value(0) is None


@pytest.mark.parametrize(
    ("spec", "raw", "words"),
    [
        ({"name": "a", "type": "uint16", "shape": [4]}, b"\x00" * 7, "promises 8"),
        ({"name": "a", "type": "uint16", "shape": [4], "compression": "lz4"}, b"\x01", "shorter"),
        (
            {"name": "a", "type": "uint16", "shape": [4], "compression": "lz4"},
            b"\x08\x00\x00\x00garbage",
            "corrupt lz4|promises 8",
        ),
        (
            {"name": "a", "type": "uint16", "shape": [4], "compression": "bitshuffle_lz4"},
            b"\x00" * 11,
            "shorter",
        ),
        (
            {"name": "a", "type": "uint16", "shape": [4], "compression": "bitshuffle_lz4"},
            b"\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x10",
            "invalid",
        ),
        (
            {"name": "a", "type": "uint16", "shape": [64], "compression": "bitshuffle_lz4"},
            b"\x00\x00\x00\x00\x00\x00\x00\x80\x00\x00\x00\x10" + b"\x00\x00\x00\x40xx",
            "block",
        ),
    ],
)
def test_bad_values_raise_wire_errors(spec: dict[str, Any], raw: bytes, words: str) -> None:
    """Values that do not match their header raise WireError, never another exception."""
    with pytest.raises(WireError, match=words):
        decode_value(wire.ChannelSpec.parse(spec), raw)


@pytest.mark.parametrize("compression", ["lz4", "bitshuffle_lz4"])
def test_compressed_value_claiming_more_than_lz4_can_expand_is_refused_unallocated(
    compression: str,
) -> None:
    """A 20-byte value of a channel declaring 2**27 float64 (1 GiB) is refused unallocated."""
    import tracemalloc

    spec = wire.ChannelSpec.parse(
        {"name": "big", "type": "float64", "shape": [2**27], "compression": compression}
    )
    if compression == "lz4":
        raw = struct.pack("<I", 2**30) + b"\x00" * 16
    else:
        raw = struct.pack(">qi", 2**30, 8192) + b"\x00" * 8
    tracemalloc.start()
    try:
        with pytest.raises(WireError, match="more than LZ4 can expand"):
            decode_value(spec, raw)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 1024 * 1024


def test_highly_compressed_real_values_still_decode() -> None:
    """Zeros compress about 250:1 with LZ4; such real values stay within the bound."""
    zeros = np.zeros((1024, 1024), np.uint16)
    for compression in ("lz4", "bitshuffle_lz4"):
        parts = encode_message({"image": zeros}, pulse_id=1, compression=compression)
        assert len(parts[2]) < len(zeros.tobytes()) // 100
        assert np.array_equal(Decoder().decode(parts).value(0), zeros)
