"""The bsread wire format (PSI's ZeroMQ camera protocol): decode and encode, pure.

A bsread message is one ZeroMQ multipart message::

    part 0        main header, JSON: {"htype": "bsr_m-1.1", "pulse_id": N, "hash": "<md5>",
                  "global_timestamp": {"sec": S, "ns": NS}, "dh_compression": optional}
    part 1        data header, JSON (maybe compressed): {"htype": "bsr_d-1.1", "channels": [
                  {"name", "type", "shape", "encoding", "compression"}, …]}
    part 2+2i     value of channel i (raw bytes, maybe compressed; empty = no value)
    part 3+2i     timestamp of channel i (two int64: seconds, nanoseconds)

The data header repeats in every message; its ``hash`` lets a receiver parse it once
(:class:`Decoder` keeps a small cache, so a format change mid-stream just adds an entry).
Shapes are listed fastest dimension first (``[width, height]`` for an image); numpy
arrays come back slowest first (``height x width``). Types: ``bool``, ``int8``…``uint64``,
``float32``, ``float64``, ``string``; ``encoding`` is ``little`` (default) or ``big``.

Compression of a value (and of the data header, ``dh_compression``), decoded by
:mod:`framecast.sources.bsread.compression`:

``none``
    the raw bytes.
``lz4``
    a 4-byte uncompressed size (in the value's byte order) and one LZ4 block.
``bitshuffle_lz4``
    an 8-byte big-endian uncompressed size, a 4-byte big-endian block size in bytes,
    then the bitshuffle/LZ4 stream: per block of elements a 4-byte big-endian compressed
    length and an LZ4 block of the bit-transposed elements; the last ``n % 8`` elements
    are appended uncompressed. Decoded with the ``bitshuffle`` package when installed,
    with numpy otherwise.

Nothing here touches a socket; :mod:`framecast.sources.bsread.source` does the I/O.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from framecast.sources.bsread.compression import (
    COMPRESSIONS,
    MAX_ELEMENTS,
    MAX_EXPANSION,
    Buffer,
    WireError,
    check_expansion,
    compress,
    decompress,
)

__all__ = [
    "COMPRESSIONS",
    "MAX_ELEMENTS",
    "MAX_EXPANSION",
    "TYPES",
    "Buffer",
    "ChannelSpec",
    "DataHeader",
    "Decoder",
    "Message",
    "WireError",
    "compress",
    "decompress",
    "encode_message",
]

#: bsread type name → numpy type code (byte order added from the channel's encoding).
TYPES: dict[str, str] = {
    "bool": "?",
    "int8": "i1",
    "uint8": "u1",
    "int16": "i2",
    "uint16": "u2",
    "int32": "i4",
    "uint32": "u4",
    "int64": "i8",
    "uint64": "u8",
    "float32": "f4",
    "float64": "f8",
    "string": "u1",
}
#: Data headers remembered by hash.
HEADER_CACHE = 16


# -- headers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelSpec:
    """One channel of a data header."""

    name: str
    type: str
    shape: tuple[int, ...]  # numpy order: slowest dimension first
    dtype: np.dtype[Any]  # with byte order
    compression: str | None

    @property
    def count(self) -> int:
        return math.prod(self.shape)

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 2 and self.type != "string"

    @property
    def is_scalar(self) -> bool:
        return self.count == 1 or self.type == "string"

    @classmethod
    def parse(cls, entry: object) -> ChannelSpec:
        if not isinstance(entry, dict):
            raise WireError("a channel of the data header is not an object")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise WireError("a channel of the data header has no name")
        kind = entry.get("type", "float64")
        if not isinstance(kind, str) or kind.lower() not in TYPES:
            raise WireError(f"channel {name!r} has unknown type {kind!r}")
        kind = kind.lower()
        shape = entry.get("shape", [1])
        if shape is None:
            shape = [1]
        if (
            not isinstance(shape, list)
            or not shape
            or len(shape) > 3
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
        ):
            raise WireError(f"channel {name!r} has an invalid shape {shape!r}")
        if math.prod(shape) > MAX_ELEMENTS:
            raise WireError(f"channel {name!r} declares too many elements {shape!r}")
        encoding = entry.get("encoding", "little")
        if encoding not in ("little", "big", "<", ">"):
            raise WireError(f"channel {name!r} has unknown encoding {encoding!r}")
        order = ">" if encoding in ("big", ">") else "<"
        compression = entry.get("compression")
        if compression is not None and compression not in COMPRESSIONS:
            raise WireError(f"channel {name!r} has unknown compression {compression!r}")
        dtype = np.dtype(order + TYPES[kind]) if kind != "bool" else np.dtype("?")
        return cls(name, kind, tuple(reversed(shape)), dtype, compression)


@dataclass(frozen=True)
class DataHeader:
    """The parsed data header: the channels, in the order of the value parts."""

    channels: tuple[ChannelSpec, ...]

    def channel(self, name: str) -> int | None:
        for index, spec in enumerate(self.channels):
            if spec.name == name:
                return index
        return None

    def image_channel(self, name: str | None = None) -> int | None:
        """Index of the channel called ``name``, or of the first 2-D channel."""
        if name is not None:
            return self.channel(name)
        for index, spec in enumerate(self.channels):
            if spec.is_image:
                return index
        return None


def _json_object(raw: Buffer, what: str) -> dict[str, Any]:
    try:
        value = json.loads(bytes(raw))
    except (ValueError, UnicodeDecodeError):
        raise WireError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise WireError(f"{what} is not a JSON object")
    return value


# -- messages --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Message:
    """A received message whose headers are parsed and whose values are still raw bytes."""

    pulse_id: int
    timestamp: float | None  # epoch seconds of the global timestamp
    hash: str
    header: DataHeader
    values: tuple[Buffer, ...]  # one raw value part per channel
    format_changed: bool = False

    def raw_size(self, index: int) -> int:
        return memoryview(self.values[index]).nbytes

    def value(self, index: int) -> Any:
        """Decode channel ``index``: a numpy array, a scalar, a str, or None (no value)."""
        spec = self.header.channels[index]
        return decode_value(spec, self.values[index])

    def decode_all(self) -> dict[str, Any]:
        """Every channel by name, decoded."""
        return {spec.name: self.value(i) for i, spec in enumerate(self.header.channels)}


def decode_value(spec: ChannelSpec, raw: Buffer) -> Any:
    """One channel value from its (maybe compressed) bytes."""
    view = memoryview(raw).cast("B")
    if len(view) == 0:
        return None
    string = spec.type == "string"
    expected = spec.count * spec.dtype.itemsize
    if spec.compression not in (None, "none") and not string:
        check_expansion(expected, len(view))  # before the size header is even read
    data = decompress(view, spec.compression, spec.dtype, None if string else expected)
    if string:
        return bytes(data).decode("utf-8", "replace")
    if len(data) != expected:
        raise WireError(
            f"channel {spec.name!r} has {len(data)} bytes, its header promises {expected}"
        )
    array = np.frombuffer(data, dtype=spec.dtype)
    if spec.count == 1:
        return array[0]
    return array.reshape(spec.shape)


class Decoder:
    """Parses messages, caching data headers by their hash."""

    def __init__(self) -> None:
        self._headers: OrderedDict[str, DataHeader] = OrderedDict()

    def decode(self, parts: Sequence[Buffer]) -> Message:
        """Parse the headers of one multipart message; raise :class:`WireError` if malformed."""
        if len(parts) < 2:
            raise WireError(f"message has {len(parts)} part(s); bsread needs at least 2")
        main = _json_object(parts[0], "main header")
        digest = main.get("hash")
        if not isinstance(digest, str):
            raise WireError("main header has no hash")
        pulse_id = main.get("pulse_id")
        if isinstance(pulse_id, bool) or not isinstance(pulse_id, int):
            raise WireError("main header has no integer pulse_id")
        header = self._headers.get(digest)
        changed = header is None
        if header is None:
            header = self._parse_data_header(parts[1], main.get("dh_compression"))
            self._headers[digest] = header
            if len(self._headers) > HEADER_CACHE:
                self._headers.popitem(last=False)
        else:
            self._headers.move_to_end(digest)
        expected = 2 + 2 * len(header.channels)
        if len(parts) != expected:
            raise WireError(
                f"message has {len(parts)} parts; its {len(header.channels)} channels need "
                f"{expected}"
            )
        return Message(
            pulse_id=pulse_id,
            timestamp=_timestamp(main.get("global_timestamp")),
            hash=digest,
            header=header,
            values=tuple(parts[2::2]),
            format_changed=changed,
        )

    @staticmethod
    def _parse_data_header(raw: Buffer, compression: object) -> DataHeader:
        if compression is not None and compression not in COMPRESSIONS:
            raise WireError(f"unknown data header compression {compression!r}")
        data = decompress(
            raw, compression if isinstance(compression, str) else None, np.dtype("u1")
        )
        header = _json_object(data, "data header")
        channels = header.get("channels")
        if not isinstance(channels, list):
            raise WireError("data header has no channel list")
        specs = tuple(ChannelSpec.parse(entry) for entry in channels)
        if len({spec.name for spec in specs}) != len(specs):
            raise WireError("data header names a channel twice")
        return DataHeader(specs)


def _timestamp(value: object) -> float | None:
    if not isinstance(value, dict):
        return None
    seconds = value.get("sec", value.get("epoch"))
    nanoseconds = value.get("ns", 0)
    if not isinstance(seconds, int | float) or not isinstance(nanoseconds, int | float):
        return None
    return float(seconds) + float(nanoseconds) * 1e-9


# -- encoding (for the simulator and tests) --------------------------------------------------


def _channel_array(value: Any) -> tuple[str, np.ndarray[Any, Any] | bytes]:
    if isinstance(value, str):
        return "string", value.encode("utf-8")
    if isinstance(value, bool | np.bool_):
        return "bool", np.array([value], dtype="?")
    if isinstance(value, int) and not isinstance(value, bool):
        return "int64", np.array([value], dtype="<i8")
    if isinstance(value, float):
        return "float64", np.array([value], dtype="<f8")
    array = np.asarray(value)
    if array.dtype.kind == "b":
        return "bool", array
    names = {v: k for k, v in TYPES.items() if k != "string"}
    code = array.dtype.kind + str(array.dtype.itemsize)
    if code not in names:
        raise WireError(f"cannot send a value of dtype {array.dtype}")
    return names[code], (array if array.ndim else array.reshape(1))


def encode_message(
    channels: Mapping[str, Any],
    *,
    pulse_id: int,
    timestamp: float | None = None,
    compression: str | None = None,
) -> list[bytes]:
    """The multipart frames of one bsread message carrying ``channels`` (name → value).

    Values may be numpy arrays (any bsread dtype, either byte order), Python scalars or
    strings. ``compression`` applies to array values with more than one element.
    """
    now = time.time() if timestamp is None else timestamp
    seconds = int(now)
    nanoseconds = round((now - seconds) * 1e9)
    specs: list[dict[str, Any]] = []
    values: list[bytes] = []
    stamps: list[bytes] = []
    for name, value in channels.items():
        kind, array = _channel_array(value)
        entry: dict[str, Any] = {"name": name, "type": kind}
        if isinstance(array, bytes):
            entry["shape"] = [1]
            entry["encoding"] = "little"
            raw = array
            order = "<"
        else:
            entry["shape"] = list(reversed(array.shape)) if array.size != 1 else [1]
            order = ">" if array.dtype.byteorder == ">" else "<"
            entry["encoding"] = "big" if order == ">" else "little"
            raw = np.ascontiguousarray(array).tobytes()
            if compression not in (None, "none") and array.size > 1:
                entry["compression"] = compression
                raw = compress(raw, compression, array.dtype)
        specs.append(entry)
        values.append(raw)
        stamps.append(struct.pack(order + "qq", seconds, nanoseconds))
    data_header = json.dumps({"htype": "bsr_d-1.1", "channels": specs}).encode()
    main = {
        "htype": "bsr_m-1.1",
        "pulse_id": pulse_id,
        "global_timestamp": {"sec": seconds, "ns": nanoseconds},
        "hash": hashlib.md5(data_header).hexdigest(),
    }
    frames = [json.dumps(main).encode(), data_header]
    for raw, stamp in zip(values, stamps, strict=True):
        frames.append(raw)
        frames.append(stamp)
    return frames
