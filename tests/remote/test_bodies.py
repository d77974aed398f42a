"""The client's answer bodies and their decoding, without a server: each refuses what does not
fit after at most one byte too many, however the bytes are compressed or cut."""

from __future__ import annotations

import gzip
import io
import zlib

import numpy as np
import pytest

from framecast.remote.bodies import MAX_NPY_HEADER, ArrayTooLarge, BodyError, Capped, NpyBody
from framecast.remote.inflater import EncodingError, Inflater
from framecast.remote.session import decode_into


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _header(shape: tuple[int, ...], dtype: str) -> bytes:
    """The .npy header numpy writes for an array of ``shape`` and ``dtype``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def _fill(body: NpyBody | Capped, data: bytes, encoding: str = "", piece: int = 7) -> None:
    """Feed ``data`` as the wire would, ``piece`` bytes at a time, then end the answer."""
    inflater = Inflater(encoding)
    for start in range(0, len(data), piece):
        decode_into(inflater, data[start : start + piece], body)
        if body.done:
            return
    inflater.finish()
    body.finish()


@pytest.mark.parametrize("encoding", ["", "gzip"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.uint16).reshape(3, 4),
        np.array([[np.nan, np.inf], [-np.inf, -2.5]], np.float32),
        np.asfortranarray(np.arange(24, dtype=np.int32).reshape(2, 3, 4)),
        np.zeros((0, 5), np.uint8),
    ],
)
def test_npy_body_rebuilds_the_array_exactly(array: np.ndarray, encoding: str) -> None:
    """A .npy received a few bytes at a time, plain or gzip, is the array sent: same dtype,
    shape and values (NaN and Fortran order included)."""
    data = _npy(array)
    body = NpyBody(1 << 20)
    _fill(body, gzip.compress(data) if encoding else data, encoding)
    got = body.array()
    assert got.dtype == array.dtype and got.shape == array.shape
    assert np.array_equal(got, array, equal_nan=True)


def test_npy_body_refuses_a_declared_size_over_max_bytes_before_reading_it() -> None:
    """A header declaring 8 GiB is refused as soon as it is read, naming the array."""
    body = NpyBody(1 << 30)
    with pytest.raises(ArrayTooLarge, match=r"32768×32768 float64 array, 8\.0 GiB"):
        _fill(body, _header((32768, 32768), "<f8"))


def test_npy_body_refuses_one_byte_more_than_declared() -> None:
    """Bytes after the declared array, even one, are an error, not silently dropped."""
    with pytest.raises(BodyError, match=r"more bytes than its \.npy header declares"):
        _fill(NpyBody(1 << 20), _npy(np.zeros((4, 4), np.uint8)) + b"\0")


def test_gzip_bomb_is_stopped_after_one_byte_past_the_declared_size() -> None:
    """A small gzip answer that inflates to 64 MiB behind a 4×4 header is refused having
    decoded no more than the header, 16 bytes and one."""
    stream = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = stream.compress(_npy(np.zeros((4, 4), np.uint8)))
    zeros = bytes(1 << 20)
    data += b"".join(stream.compress(zeros) for _ in range(64)) + stream.flush()
    assert len(data) < 128 * 1024
    inflater = Inflater("gzip")
    body = NpyBody(1 << 30)
    with pytest.raises(BodyError, match="more bytes than"):
        decode_into(inflater, data, body)
    assert inflater.undecoded > len(data) // 2, "most of the bomb is still compressed"


def test_npy_body_checks_what_data_json_said() -> None:
    """A header whose size or dtype differs from the frame's data.json is refused."""
    with pytest.raises(BodyError, match=r"2048×2048 uint8 array where the frame is a 4×4 uint8"):
        _fill(NpyBody(1 << 30, (4, 4, "uint8")), _header((2048, 2048), "|u1"))
    with pytest.raises(BodyError, match="float32"):
        _fill(NpyBody(1 << 30, (4, 4, "float32")), _npy(np.zeros((4, 4), np.float64)))
    body = NpyBody(1 << 30, (2, 3, "uint16"))
    _fill(body, _npy(np.ones((2, 3, 4), np.uint16)))  # colour: H×W×4 of a 3×2 frame
    assert body.array().shape == (2, 3, 4)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"PK\x03\x04not numpy", "not a NumPy .npy file"),
        (b"\x93NUMPY\x09\x00", "version 9.0"),
        (b"\x93NUMPY\x01\x00" + (MAX_NPY_HEADER + 1).to_bytes(2, "little"), "header is"),
        (b"\x93NUMPY\x01\x00\x10\x00{'descr': 'O'}   ", "cannot be read|objects"),
        (_npy(np.zeros(4, np.uint8))[:-1], "ended after 3 of the 4 bytes"),
        (b"\x93NUM", "before the end of a .npy header"),
    ],
)
def test_npy_body_refuses_what_is_not_a_whole_npy_file(data: bytes, words: str) -> None:
    """Not .npy, an unknown version, a header too long, objects, a cut answer: BodyError."""
    with pytest.raises(BodyError, match=words):
        _fill(NpyBody(1 << 20), data)


def test_capped_refuses_or_keeps_the_first_bytes() -> None:
    """A strict cap refuses an answer one byte over; a truncating one keeps the first bytes
    and says it wants no more."""
    with pytest.raises(BodyError, match="larger than 16 bytes"):
        _fill(Capped(16), b"x" * 17)
    exact = Capped(16)
    _fill(exact, b"y" * 16)
    assert exact.value == b"y" * 16
    first = Capped(16, truncate=True)
    _fill(first, gzip.compress(b"z" * 10_000), "gzip")
    assert first.value == b"z" * 16 and first.done


def test_inflater_reads_several_gzip_members_and_refuses_damage() -> None:
    """Two gzip members decode as one body; a cut or damaged stream and an unknown encoding
    are EncodingErrors."""
    body = Capped(100)
    _fill(body, gzip.compress(b"one ") + gzip.compress(b"two"), "gzip", piece=5)
    assert body.value == b"one two"
    with pytest.raises(EncodingError, match="middle of its gzip stream"):
        _fill(Capped(100), gzip.compress(b"x" * 50)[:-6], "gzip")
    with pytest.raises(EncodingError, match="damaged"):
        _fill(Capped(100), b"\x1f\x8b\x08\x00garbage-garbage", "gzip")
    with pytest.raises(EncodingError, match="'br'"):
        Inflater("br")
