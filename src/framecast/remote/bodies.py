"""Where the decoded bytes of an answer go, each with the most it will take. Pure.

The reader (:func:`framecast.remote.session.receive`) asks a body for its :attr:`room`,
decodes at most one byte more, and hands that over with :meth:`take`; the body refuses
what does not fit before it is kept (docs/client.md, "Limits"):

- :class:`Capped`: the bytes of a short answer (a refusal, a ``202``, ``data.json``) up to
  a limit; past it, either an error or, for a refusal whose first line is all that is
  shown, the first bytes only.
- :class:`NpyBody`: a ``.npy`` file received straight into its array. Its header (at most
  :data:`MAX_NPY_HEADER` bytes) declares dtype and shape, hence the exact size of what
  follows: a header declaring more than ``max_bytes`` is refused before a pixel is read,
  the array is allocated once, and one byte more than declared is an error.
"""

from __future__ import annotations

import io
import math
import struct
from typing import Any, Protocol

import numpy as np
from numpy.lib import format as npy

__all__ = [
    "MAX_NPY_HEADER",
    "ArrayTooLarge",
    "Body",
    "BodyError",
    "Capped",
    "NpyBody",
    "describe",
    "size",
]

#: Longest ``.npy`` header read (numpy's own default ``max_header_size``).
MAX_NPY_HEADER = 10_000
_MAGIC = b"\x93NUMPY"
_PREAMBLE = {(1, 0): ("<H", 10), (2, 0): ("<I", 12)}


class BodyError(ValueError):
    """The answer is not what it should be; the message says how (a phrase, no URL)."""


class ArrayTooLarge(BodyError):
    """A ``.npy`` header declares more bytes than the reader allows."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype[Any], nbytes: int, limit: int):
        super().__init__(f"it holds {describe(shape, dtype)}, {size(nbytes)}")
        self.shape, self.dtype, self.nbytes, self.limit = shape, dtype, nbytes, limit


def size(count: int) -> str:
    """``1536`` → ``"1.5 KiB"``: a byte count as people read it."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def describe(shape: tuple[int, ...], dtype: object) -> str:
    """``(768, 1024)``, ``uint16`` → ``"a 768×1024 uint16 array"``."""
    return f"a {'×'.join(str(n) for n in shape) or 'scalar'} {dtype} array"


class Body(Protocol):
    """What :func:`~framecast.remote.session.receive` fills."""

    @property
    def room(self) -> int:
        """Bytes it can still take."""
        ...

    @property
    def done(self) -> bool:
        """Whether it wants no more: the reader stops reading."""
        ...

    def take(self, data: bytes) -> None:
        """Keep ``data``; :class:`BodyError` if it does not fit."""
        ...

    def finish(self) -> None:
        """The answer has ended: :class:`BodyError` if that is too early."""
        ...


class Capped:
    """At most ``limit`` bytes; past them an error, or (``truncate``) the first ones only."""

    def __init__(self, limit: int, *, truncate: bool = False) -> None:
        self.limit = limit
        self.truncate = truncate
        self._parts: list[bytes] = []
        self._count = 0

    @property
    def room(self) -> int:
        return self.limit - self._count

    @property
    def done(self) -> bool:
        return self.truncate and self._count >= self.limit

    def take(self, data: bytes) -> None:
        if len(data) > self.room:
            if not self.truncate:
                raise BodyError(f"its body is larger than {size(self.limit)}")
            data = data[: self.room]
        self._parts.append(data)
        self._count += len(data)

    def finish(self) -> None:
        pass

    @property
    def value(self) -> bytes:
        return b"".join(self._parts)


class NpyBody:
    """A ``.npy`` file, received into its array; ``max_bytes`` bounds the array's bytes.

    ``expect`` (``(height, width, dtype name)``), when given, is what the server said of the
    frame elsewhere (its ``data.json``): a header that declares another size or dtype is
    refused before a pixel is read.
    """

    def __init__(self, max_bytes: int, expect: tuple[int, int, str] | None = None) -> None:
        self.max_bytes = max_bytes
        self.expect = expect
        self._head = b""
        self._array: np.ndarray[Any, Any] | None = None
        self._flat: memoryview | None = None
        self._filled = 0

    @property
    def room(self) -> int:
        if self._flat is None:
            return _preamble_max() - len(self._head)
        return self._flat.nbytes - self._filled

    @property
    def done(self) -> bool:
        return False  # one byte past the array is an error, so the reader reads to the end

    def take(self, data: bytes) -> None:
        if self._flat is None:
            self._head += data
            data = self._parse()
            if self._flat is None:
                return
        if len(data) > self.room:
            raise BodyError(
                f"it holds more bytes than its .npy header declares ({size(self._declared)})"
            )
        self._flat[self._filled : self._filled + len(data)] = data
        self._filled += len(data)

    def finish(self) -> None:
        if self._flat is None:
            raise BodyError(
                f"it ended after {len(self._head)} bytes, before the end of a .npy header"
            )
        if self._filled < self._flat.nbytes:
            raise BodyError(
                f"it ended after {self._filled} of the {self._flat.nbytes} bytes of data "
                "its .npy header declares"
            )

    def array(self) -> np.ndarray[Any, Any]:
        """The array, once :meth:`finish` found it complete."""
        assert self._array is not None and self._flat is not None
        assert self._filled == self._flat.nbytes
        return self._array

    @property
    def _declared(self) -> int:
        return self._flat.nbytes if self._flat is not None else 0

    def _parse(self) -> bytes:
        """Read the header once all of it is here; return the bytes after it."""
        head = self._head
        if len(head) < 8:
            return b""
        if head[:6] != _MAGIC:
            raise BodyError("it is not a NumPy .npy file")
        version = (head[6], head[7])
        if version not in _PREAMBLE:
            raise BodyError(f".npy format version {version[0]}.{version[1]} is not read")
        layout, start = _PREAMBLE[version]
        if len(head) < start:
            return b""
        (length,) = struct.unpack(layout, head[8:start])
        if length > MAX_NPY_HEADER:
            raise BodyError(f"its .npy header is {length} bytes long, more than {MAX_NPY_HEADER}")
        if len(head) < start + length:
            return b""
        reader = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        try:
            shape, fortran, dtype = reader(io.BytesIO(head[8:]), max_header_size=MAX_NPY_HEADER)
        except (ValueError, SyntaxError, TypeError) as exc:
            raise BodyError(f"its .npy header cannot be read ({exc})") from None
        self._allocate(tuple(shape), np.dtype(dtype), "F" if fortran else "C")
        rest, self._head = head[start + length :], b""
        return rest

    def _allocate(self, shape: tuple[int, ...], dtype: np.dtype[Any], order: str) -> None:
        if dtype.hasobject:
            raise BodyError(f"it holds Python objects ({dtype}), not numbers")
        if any(n < 0 for n in shape):
            raise BodyError(f"its .npy header declares a negative size {shape}")
        nbytes = math.prod(shape) * dtype.itemsize
        if self.expect is not None:
            height, width, name = self.expect
            if shape[:2] != (height, width) or len(shape) not in (2, 3) or dtype.name != name:
                raise BodyError(
                    f"it holds {describe(shape, dtype)} where the frame is "
                    f"{describe((height, width), name)} (its data.json)"
                )
        if nbytes > self.max_bytes:
            raise ArrayTooLarge(shape, dtype, nbytes, self.max_bytes)
        flat = np.empty(nbytes, np.uint8)
        try:
            self._array = flat.view(dtype).reshape(shape, order=order)  # type: ignore[call-overload]
        except (ValueError, TypeError) as exc:
            raise BodyError(f"its .npy header declares no usable array ({exc})") from None
        self._flat = flat.data


def _preamble_max() -> int:
    return max(start for _, start in _PREAMBLE.values()) + MAX_NPY_HEADER
