"""Fuzzing the pure parsers that take outside input: control commands, bsread messages and
image bytes. Each may only answer with its own documented error, whatever it is fed."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from framecast import imaging
from framecast.errors import ImageError
from framecast.live import protocol
from framecast.sources.bsread import wire as bsread_wire
from tests.robustness.conftest import FUZZ, GiB, memory_ceiling, small_jpeg

# -- strategies ------------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)
#: Commands that act (write files, reset counters) are never generated.
FUZZ_NAMES = st.text(max_size=12).filter(lambda name: name not in ("reset", "snapshot_now"))


def nesting(value: Any) -> int:
    """Containers nested inside each other (a scalar is 0, ``[]`` is 1, ``[[1]]`` is 2);
    iterative, so a value nested thousands deep is measured, not a RecursionError."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            stack.extend((v, depth) for v in (item.values() if isinstance(item, dict) else item))
        deepest = max(deepest, depth)
    return deepest


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few bytes changed, maybe truncated, maybe with junk inserted."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=16))
    return bytes(data)


# -- control commands ------------------------------------------------------------------------


def parsed(message: str | bytes) -> protocol.Command | dict[str, Any]:
    """The command, or the error reply; any other exception fails the test."""
    try:
        return protocol.parse_command(message)
    except protocol.CommandError as exc:
        assert exc.reply in (protocol.BAD_JSON, protocol.UNKNOWN_COMMAND), exc.reply
        return exc.reply


@FUZZ
@given(st.text() | st.binary())
def test_control_any_text_or_bytes_gets_a_documented_reply(message: str | bytes) -> None:
    """Arbitrary text or bytes (invalid UTF-8 too) parse to a command or to 'bad json' /
    'unknown command', never another exception."""
    parsed(message)


@FUZZ
@given(JSON_VALUES, FUZZ_NAMES)
def test_control_json_values_parse_as_documented(value: Any, name: str) -> None:
    """Any JSON value: an object with a string cmd is that command with its fields; other JSON
    is 'unknown command'; NaN and Infinity are 'bad json'."""
    for message in (value, {"cmd": name, "value": value}):
        text = json.dumps(message)
        result = parsed(text)
        try:  # bare NaN/Infinity constants, not the words inside a string (a cmd named "NaN")
            json.dumps(message, allow_nan=False)
            constants = False
        except ValueError:
            constants = True
        if constants and not isinstance(result, dict):
            raise AssertionError(f"non-JSON constants accepted: {text[:200]}")
        if isinstance(result, protocol.Command):
            assert isinstance(message, dict) and result.name == message["cmd"]
            assert result.fields == {k: v for k, v in message.items() if k != "cmd"}
        elif not constants:
            assert result == protocol.UNKNOWN_COMMAND
            assert not (isinstance(message, dict) and isinstance(message.get("cmd"), str))


@FUZZ
@given(st.integers(1, 30) | st.integers(34, 100_000), st.sampled_from("[{"))
def test_control_nesting_is_bounded(depth: int, opener: str) -> None:
    """Nesting up to 30 levels is a command; 34 levels and more (up to 100 000) is 'bad json',
    never a RecursionError."""
    inner = "[" * depth + "]" * depth if opener == "[" else '{"a":' * depth + "1" + "}" * depth
    result = parsed('{"cmd": "x", "v": ' + inner + "}")
    if depth <= 30:
        assert isinstance(result, protocol.Command)
    else:
        assert result == protocol.BAD_JSON


@FUZZ
@given(mutated(b'{"cmd": "focus", "x": 12.5, "label": "caf\xc3\xa9", "list": [1, {"a": null}]}'))
def test_control_mutated_commands(message: bytes) -> None:
    """A real command with flipped bytes (often invalid UTF-8) still gets one documented
    reply, as bytes and as text."""
    parsed(message)
    parsed(message.decode("utf-8", "surrogateescape"))


# -- bsread messages -------------------------------------------------------------------------


def _seed_messages() -> list[list[bytes]]:
    image = (np.arange(48, dtype=np.uint16).reshape(6, 8) * 1000).astype(np.uint16)
    profile = np.linspace(0, 1, 10)
    seeds = []
    for pulse, compression in enumerate((None, "lz4", "bitshuffle_lz4")):
        seeds.append(
            bsread_wire.encode_message(
                {"image": image, "profile": profile, "energy": 6.5, "name": "cam", "ok": True},
                pulse_id=pulse + 1,
                timestamp=1_700_000_000.5,
                compression=compression,
            )
        )
    return seeds


SEEDS = _seed_messages()


def _json_part(value: Any) -> bytes:
    return json.dumps(value).encode()


CHANNEL = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=6)},
    optional={
        "type": st.sampled_from([*bsread_wire.TYPES, "complex", "", "UINT16"]) | SCALARS,
        "shape": st.lists(st.integers(-2, 1 << 20), max_size=4) | SCALARS,
        "encoding": st.sampled_from(["little", "big", "<", ">", "middle"]),
        "compression": st.sampled_from([*bsread_wire.COMPRESSIONS, "zstd", None]),
    },
)


@st.composite
def bsread_messages(draw: st.DrawFn) -> list[bytes]:
    """A real message with parts mutated, dropped, repeated or replaced by made-up headers."""
    parts = list(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["mutate", "drop", "repeat", "header", "main", "junk"]))
        index = draw(st.integers(0, max(0, len(parts) - 1)))
        if action == "mutate" and parts:
            parts[index] = draw(mutated(parts[index]))
        elif action == "drop" and parts:
            del parts[index]
        elif action == "repeat" and parts:
            parts.insert(index, parts[index])
        elif action == "header" and len(parts) > 1:
            channels = draw(st.lists(CHANNEL, max_size=4))
            parts[1] = _json_part({"htype": "bsr_d-1.1", "channels": channels})
            main = {"htype": "bsr_m-1.1", "pulse_id": 1, "hash": draw(st.text(max_size=8))}
            parts[0] = _json_part(main)
        elif action == "main" and parts:
            main = draw(
                st.dictionaries(
                    st.sampled_from(
                        ["hash", "pulse_id", "htype", "global_timestamp", "dh_compression"]
                    ),
                    SCALARS | JSON_VALUES,
                    max_size=5,
                )
            )
            parts[0] = _json_part(main)
        elif action == "junk":
            parts.insert(index, draw(st.binary(max_size=64)))
    return parts


@FUZZ
@given(bsread_messages())
def test_bsread_decoder_only_raises_wire_errors(parts: list[bytes]) -> None:
    """Mutated bsread messages decode or raise WireError, headers and every value, with memory
    capped (a message of a few hundred bytes may never need gigabytes)."""
    with memory_ceiling(3 * GiB):
        decoder = bsread_wire.Decoder()
        try:
            message = decoder.decode(parts)
        except bsread_wire.WireError:
            return
        for index, spec in enumerate(message.header.channels):
            try:
                value = message.value(index)
            except bsread_wire.WireError:
                continue
            if isinstance(value, np.ndarray):
                assert value.shape == spec.shape


# -- image bytes -----------------------------------------------------------------------------


def _encoded(fmt: str, array: np.ndarray[Any, Any], **options: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _fits() -> bytes:
    from astropy.io import fits

    buffer = io.BytesIO()
    fits.PrimaryHDU(np.arange(64, dtype=np.int16).reshape(8, 8)).writeto(buffer)
    return buffer.getvalue()


def _image_seeds() -> dict[str, bytes]:
    rgb = np.random.default_rng(1).integers(0, 255, (12, 10, 3), dtype=np.uint8)
    mono16 = (np.arange(120, dtype=np.uint16).reshape(12, 10) * 500).astype(np.uint16)
    return {
        "jpeg": small_jpeg(3, 16, 12),
        "png": _encoded("PNG", rgb),
        "png16": _encoded("PNG", mono16),
        "tiff": _encoded("TIFF", rgb),
        "tiff-deflate": _encoded("TIFF", rgb, compression="tiff_adobe_deflate"),
        "gif": _encoded("GIF", rgb[:, :, 0]),
        "bmp": _encoded("BMP", rgb),
        "fits": _fits(),
    }


IMAGE_SEEDS = _image_seeds()


@FUZZ
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.filterwarnings("ignore::astropy.utils.exceptions.AstropyWarning")
@given(st.sampled_from(sorted(IMAGE_SEEDS)).flatmap(lambda name: mutated(IMAGE_SEEDS[name])))
def test_image_decoding_only_raises_image_errors(data: bytes) -> None:
    """Mutated JPEG/PNG/TIFF/GIF/BMP/FITS bytes are sniffed without error and decode to an array
    or raise ImageError, with memory capped: a header that claims a huge size must be refused
    before the pixels are allocated (Pillow's and astropy's warnings are not errors in
    production)."""
    kind = imaging.sniff(data)
    assert kind is None or isinstance(kind, str)
    with memory_ceiling(3 * GiB):
        try:
            array = imaging.load(data)
        except ImageError:
            return
    assert isinstance(array, np.ndarray) and array.size > 0


@FUZZ
@given(st.binary(max_size=64))
def test_sniff_never_fails(data: bytes) -> None:
    """Any short prefix is either a known format name or None."""
    kind = imaging.sniff(data)
    assert kind is None or isinstance(kind, str)
