"""What is derived from a frame, computed once and kept with the frame. Pure.

What a viewer asks of a frame (a raw tile, its statistics, a profile, a histogram, a lower
level of its raw pyramid, a deep-zoom tile, the decoded pixels of a JPEG frame) never
changes for that frame, so it is computed at most once per frame and question and kept. An
:class:`Answers` holds such answers for every frame, least recently used first out, within
its bound; the answers of a frame leave with it (when the object they are about — its
:class:`~framecast.science.raw.Raw`, its :class:`~framecast.imaging.pyramid.Pyramid` — is
freed), whatever the bound. The server keeps one for everything (``max_frame_cache_bytes``):
answers about raw data, deep-zoom tiles and decoded JPEG pixels share its bound, so memory
goes to whatever viewers ask for now (docs/architecture.md says why one and not three).

The bound counts what an answer really costs in memory (:func:`size_of`): its bytes or
array with their object headers, what a dict, tuple or answer object holds, the question
it answers, and the bookkeeping of one entry (:data:`ENTRY_BYTES`). A 32-byte JSON answer
costs about 450 bytes in all; counting only its 32 would let the cache grow some 15 times
past its bound (see docs/reliability.md).

:meth:`Answers.get` blocks while it computes: callers run it in a worker thread. Several
threads asking the same question of the same frame at once compute it once; the others
wait for that answer.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["ENTRY_BYTES", "Answers", "size_of"]

T = TypeVar("T")

#: What keeping one answer costs besides the answer and its question, in bytes: the
#: ``(frame, question)`` key and the ``(answer, size)`` pair with their numbers, the slots
#: of the ordered dict and of the frame's set of keys. Measured with tracemalloc on
#: CPython 3.11 (260 to 330 bytes), less the 50 or so that :func:`size_of` already counts
#: for the name a question starts with ("pixel", "tile"), which is shared.
ENTRY_BYTES = 256
#: How deep :func:`size_of` looks into nested answers (theirs are shallow).
_DEPTH = 6
#: Objects shared by everybody: they cost an answer nothing.
_SHARED = (bool, type(None))


def size_of(value: object, depth: int = _DEPTH) -> int:
    """Bytes ``value`` holds in memory: its own size as Python counts it
    (:func:`sys.getsizeof`: object header included, an array's own data too), plus what a
    tuple, list, dict or dataclass holds. Small integers and ``True``/``False``/``None``
    are shared and count nothing."""
    if isinstance(value, _SHARED) or (isinstance(value, int) and -5 <= value <= 256):
        return 0
    size = sys.getsizeof(value)
    if depth <= 0 or isinstance(value, str | bytes | bytearray | int | float):
        return size
    if isinstance(value, tuple | list | set | frozenset):
        return size + sum(size_of(item, depth - 1) for item in value)
    if isinstance(value, dict):
        return size + sum(
            size_of(key, depth - 1) + size_of(item, depth - 1) for key, item in value.items()
        )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return size + sum(
            size_of(getattr(value, field.name), depth - 1) for field in dataclasses.fields(value)
        )
    return size


class Answers:
    """A server's cache of answers about frames, bounded in bytes. Thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.RLock()  # a frame freed while the lock is held re-enters
        self._items: OrderedDict[tuple[int, Hashable], tuple[Any, int]] = OrderedDict()
        self._pending: dict[tuple[int, Hashable], Future[Any]] = {}
        self._owners: dict[int, weakref.ref[Any]] = {}
        self._keys: dict[int, set[tuple[int, Hashable]]] = {}
        self._bytes = 0

    @property
    def bytes(self) -> int:
        """The bytes of every answer kept now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(
        self,
        raw: object,
        question: Hashable,
        compute: Callable[[], T],
        size: Callable[[T], int] = size_of,
    ) -> T:
        """The answer to ``question`` about ``raw``'s frame: kept, being computed by another
        thread (then waited for), or computed now by ``compute()`` and kept. ``size``: the
        bytes the answer holds (the question and the entry are added to it)."""
        key = (id(raw), question)
        with self._lock:
            found = self._items.get(key)
            owner = self._owners.get(id(raw))
            if found is not None and owner is not None and owner() is raw:
                self._items.move_to_end(key)
                value: T = found[0]
                return value
            pending = self._pending.get(key)
            if pending is None:
                mine: Future[Any] = Future()
                self._pending[key] = mine
        if pending is not None:
            waited: T = pending.result()
            return waited
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            mine.set_exception(exc)
            raise
        self._keep(raw, key, value, size(value) + size_of(question) + ENTRY_BYTES)
        mine.set_result(value)
        return value

    def keeps(self, nbytes: int) -> bool:
        """Whether an answer of ``nbytes`` is small enough to keep: at most half the bound,
        so that one answer never pushes out everything else."""
        return nbytes <= self.max_bytes // 2

    def peek(self, raw: object, question: Hashable) -> Any:
        """The answer kept for ``question`` about ``raw``'s frame, or ``None`` (nothing is
        computed, nothing waited for)."""
        key = (id(raw), question)
        with self._lock:
            found = self._items.get(key)
            owner = self._owners.get(id(raw))
            if found is None or owner is None or owner() is not raw:
                return None
            self._items.move_to_end(key)
            return found[0]

    def _keep(self, raw: object, key: tuple[int, Hashable], value: Any, nbytes: int) -> None:
        with self._lock:
            del self._pending[key]
            if not self.keeps(nbytes):
                return
            owner = self._owners.get(id(raw))
            if owner is None or owner() is not raw:
                self._drop_owner(id(raw))
                self._owners[id(raw)] = weakref.ref(raw, self._forget(id(raw)))
            self._items[key] = (value, nbytes)
            self._keys.setdefault(id(raw), set()).add(key)
            self._bytes += nbytes
            while self._bytes > self.max_bytes:
                oldest, (_, dropped) = self._items.popitem(last=False)
                self._keys[oldest[0]].discard(oldest)
                self._bytes -= dropped

    def _forget(self, ident: int) -> Callable[[weakref.ref[Any]], None]:
        def forget(ref: weakref.ref[Any]) -> None:
            with self._lock:
                if self._owners.get(ident) is ref:
                    self._drop_owner(ident)

        return forget

    def _drop_owner(self, ident: int) -> None:
        """Drop every answer about the frame ``ident`` (lock held)."""
        self._owners.pop(ident, None)
        for key in self._keys.pop(ident, set()):
            _, nbytes = self._items.pop(key)
            self._bytes -= nbytes
