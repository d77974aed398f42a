"""A frame's raw pixels, as published (docs/science.md). Pure.

:class:`Raw` is what a frame keeps of the numbers behind its picture: the array as it was
published (mono H×W or colour H×W×3/4, its own integer or float dtype), never a copy made
for display. An image that arrived as JPEG bytes is its own lossless record: its raw pixels
are the decoded JPEG (``uint8``), decoded on first use rather than with every frame, so that
a JPEG stream whose viewers never ask for numbers pays nothing. The decoded pixels are kept
in the cache the caller hands to :meth:`Raw.array` (the server's, bounded by
``max_frame_cache_bytes`` and counted in ``/api/status``), least recently used first out,
and leave with their frame.

Everything derived from the raw array later (tiles, statistics) belongs to the frame too and
is dropped with it.

With a broker (docs/scale-out.md, docs/science.md) a frame published by another node carries a
:class:`RemoteRaw`: the dtype and shape of the publisher's array, never the array. The
raw routes ask the publishing node for their :class:`RawAnswer` instead (the questions
one may ask are declared in :mod:`framecast.science.queries`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simplejpeg

from framecast.science.answers import Answers

__all__ = [
    "DECODED",
    "RAW_NOT_KEPT",
    "Raw",
    "RawAnswer",
    "RemoteRaw",
    "RemoteRawError",
]

#: The question a JPEG frame's decoded pixels answer in a cache of answers about frames.
DECODED = ("decoded pixels",)


class Raw:
    """The raw pixels of one frame: an array held, or JPEG bytes decoded on demand.

    Thread-safe. :meth:`array` returns a read-only array: the frame's numbers never change.
    """

    __slots__ = ("__weakref__", "_array", "_jpeg", "dtype", "shape")

    def __init__(
        self, array: np.ndarray[Any, Any] | None = None, *, jpeg: bytes | None = None
    ) -> None:
        if (array is None) == (jpeg is None):
            raise ValueError("Raw needs an array or JPEG bytes, not both")
        self._jpeg = jpeg
        self._array: np.ndarray[Any, Any] | None = None
        if array is not None:
            if array.ndim == 3 and array.shape[2] == 1:
                array = array[:, :, 0]
            if not array.dtype.isnative:
                array = array.astype(array.dtype.newbyteorder("="))
            array = array.view()
            array.flags.writeable = False
            self._array = array
            self.shape: tuple[int, ...] = tuple(int(n) for n in array.shape)
            self.dtype = str(array.dtype)
        else:
            assert jpeg is not None
            height, width, colorspace, _sub = simplejpeg.decode_jpeg_header(jpeg)
            mono = colorspace == "Gray"
            self.shape = (int(height), int(width)) if mono else (int(height), int(width), 3)
            self.dtype = "uint8"

    @classmethod
    def of(cls, published: np.ndarray[Any, Any] | bytes | None) -> Raw | None:
        """The raw pixels of what was published: an array, or a JPEG's own bytes."""
        if published is None:
            return None
        if isinstance(published, bytes):
            return cls(jpeg=published)
        return cls(published)

    @property
    def width(self) -> int:
        return self.shape[1]

    @property
    def height(self) -> int:
        return self.shape[0]

    @property
    def channels(self) -> int:
        """1 for mono, 3 or 4 for colour."""
        return self.shape[2] if len(self.shape) == 3 else 1

    @property
    def held(self) -> np.ndarray[Any, Any] | None:
        """The array this object holds for good, or ``None`` for a JPEG (its decoded pixels
        are a bounded cache; the JPEG bytes are the frame's own)."""
        return self._array

    def array(self, decoded: Answers | None = None) -> np.ndarray[Any, Any]:
        """The raw pixels (read-only). A JPEG's are decoded now, or found in ``decoded``
        (where they are kept once decoded: the server's cache of decoded pixels): call off
        the loop."""
        if self._array is not None:
            return self._array
        if decoded is None:
            return self._decode()
        return decoded.get(self, DECODED, self._decode, _nbytes)

    def _decode(self) -> np.ndarray[Any, Any]:
        assert self._jpeg is not None
        if len(self.shape) == 2:
            gray: np.ndarray[Any, Any] = simplejpeg.decode_jpeg(self._jpeg, colorspace="GRAY")
            pixels = gray[:, :, 0]
        else:
            pixels = simplejpeg.decode_jpeg(self._jpeg, colorspace="RGB")
        pixels.flags.writeable = False
        return pixels


def _nbytes(pixels: np.ndarray[Any, Any]) -> int:
    """What decoded pixels hold: their buffer (a mono JPEG's are a view of one)."""
    return pixels.nbytes


#: What every route about a frame's raw data answers (404) when the server keeps none.
RAW_NOT_KEPT = (
    "raw data is not kept: keep_raw is false; start the server with --keep-raw true "
    "(keep_raw = true) to serve it"
)


class RemoteRawError(RuntimeError):
    """The array of a :class:`RemoteRaw` was asked for: it lives on the publishing node."""


class RemoteRaw(Raw):
    """The raw data of a frame published by another node (``node``): its dtype and shape,
    no array. :meth:`array` raises :class:`RemoteRawError`; its answers come from ``node``
    through the broker."""

    __slots__ = ("node",)

    def __init__(self, dtype: str, shape: tuple[int, ...], node: str) -> None:
        if len(shape) not in (2, 3):
            raise ValueError("a raw shape is (height, width) or (height, width, channels)")
        self._array = None
        self._jpeg = None
        self.dtype = dtype
        self.shape = shape
        self.node = node

    def array(self, decoded: Answers | None = None) -> np.ndarray[Any, Any]:
        raise RemoteRawError(
            f"the raw array of this frame is kept by node {self.node}, which published it; "
            "ask that node through the broker"
        )


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """What one route of docs/science.md answers: status, content type, headers, body."""

    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def refusal(cls, status: int, message: str) -> RawAnswer:
        """A one-line refusal (``message`` says what to do)."""
        return cls(status, "text/plain; charset=utf-8", (message + "\n").encode())
