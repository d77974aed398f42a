"""Answers derived from a frame's raw data, computed once and kept with the frame. Pure.

What a viewer asks of a frame's numbers (a raw tile, its statistics, a profile, a
histogram) never changes for that frame, so it is computed at most once per frame and
question and kept. One :class:`Answers` per server holds them for every frame, least
recently used first out, within ``max_answer_cache_bytes``; the answers of a frame leave
with it (when its :class:`~framecast.science.raw.Raw` is freed, or the
:class:`~framecast.imaging.pyramid.RemotePyramid` of a frame whose tiles are asked of another node),
whatever the bound.

:meth:`Answers.get` blocks while it computes: callers run it in a worker thread. Several
threads asking the same question of the same frame at once compute it once; the others
wait for that answer.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["Answers", "size_of"]

T = TypeVar("T")


def size_of(value: object) -> int:
    """Bytes of an answer: ``len`` of bytes, ``nbytes`` of arrays, else a small constant
    (a dict of a few figures)."""
    if isinstance(value, bytes | bytearray):
        return len(value)
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    return 1024


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
        thread (then waited for), or computed now by ``compute()`` and kept."""
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
        self._keep(raw, key, value, size(value))
        mine.set_result(value)
        return value

    def _keep(self, raw: object, key: tuple[int, Hashable], value: Any, nbytes: int) -> None:
        with self._lock:
            del self._pending[key]
            if nbytes > self.max_bytes:
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
