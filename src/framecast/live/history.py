"""History: the last frames of each stream, bounded by count and by bytes (docs/history.md). Pure.

Each stream owns a :class:`History`, a ring of its last ``history`` frames (the latest frame
included). Every stream's history draws on one :class:`HistoryBudget`, the server's
``max_history_bytes``: when the frames held together weigh more, the oldest frames of any
stream are dropped first, except each stream's latest frame, which is live and stays.

A frame's weight is what dropping it gives back: its JPEG, its renderings and any array it
holds (:func:`weight`). The history holds the :class:`~framecast.live.frames.Frame` objects
themselves, so a dropped frame takes its bytes with it and nothing is copied or encoded to
answer a history request.

The histories live on the event loop with their hubs; a lock keeps the shared budget
consistent should a reader (``status()``) look from another thread.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from framecast.live.frames import Frame
from framecast.science.raw import Raw

__all__ = ["History", "HistoryBudget", "weight"]


def weight(frame: Frame) -> int:
    """The bytes ``frame`` holds: its JPEG, every rendering and any array, its raw array
    included (each buffer counted once, so a frame whose original *is* its JPEG, or whose
    display image *is* its raw array, is not counted twice)."""
    seen: set[int] = set()
    return sum(_size(getattr(frame, f.name), seen) for f in dataclasses.fields(frame))


def _size(value: Any, seen: set[int]) -> int:
    if isinstance(value, Raw):
        return _size(value.held, seen)
    if isinstance(value, np.ndarray):  # count a buffer once, whatever views share it
        while isinstance(value.base, np.ndarray):
            value = value.base
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value) if not isinstance(value, memoryview) else value.nbytes
    nbytes = getattr(value, "nbytes", None)  # numpy arrays
    if isinstance(nbytes, int):
        return nbytes
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # the renderings
        return sum(_size(getattr(value, f.name), seen) for f in dataclasses.fields(value))
    return 0


class HistoryBudget:
    """The byte budget every stream's history shares (``max_history_bytes``)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()
        #: Every frame held by any history, oldest first: (history, seq) → weight.
        self._order: OrderedDict[tuple[History, int], int] = OrderedDict()

    @property
    def bytes(self) -> int:
        """The bytes all histories hold now."""
        return self._bytes

    def _admit(self, history: History, seq: int, size: int) -> list[tuple[History, int]]:
        """Count a new frame; return the frames to drop to fit (oldest first, never a
        history's latest frame)."""
        self._order[(history, seq)] = size
        self._bytes += size
        excess = self._bytes - self.max_bytes
        victims: list[tuple[History, int]] = []
        if excess <= 0:
            return victims
        for key, held in self._order.items():
            if excess <= 0:
                break
            owner, held_seq = key
            if held_seq == owner.latest_seq:
                continue  # live: each stream's latest frame stays whatever it weighs
            victims.append(key)
            excess -= held
        return victims

    def _release(self, history: History, seq: int) -> None:
        size = self._order.pop((history, seq), 0)
        self._bytes -= size


class History:
    """One stream's last ``limit`` frames, oldest first, within the shared ``budget``."""

    def __init__(self, limit: int, budget: HistoryBudget) -> None:
        self.limit = limit
        self._budget = budget
        self._frames: OrderedDict[int, Frame] = OrderedDict()
        self.latest_seq = 0

    def add(self, frame: Frame) -> None:
        """Keep ``frame`` as the newest; drop the oldest beyond ``limit`` frames, then the
        oldest of any stream beyond the budget. ``limit`` 0 keeps nothing."""
        if self.limit <= 0:
            return
        budget = self._budget
        with budget._lock:
            if frame.seq in self._frames:  # the same number again (a restart): replace it
                self._drop(frame.seq)
            self._frames[frame.seq] = frame
            self.latest_seq = frame.seq
            while len(self._frames) > self.limit:
                self._drop(next(iter(self._frames)))
            for owner, seq in budget._admit(self, frame.seq, weight(frame)):
                owner._drop(seq)

    def _drop(self, seq: int) -> None:
        """Forget frame ``seq`` (the caller holds the budget's lock)."""
        self._frames.pop(seq, None)
        self._budget._release(self, seq)

    def get(self, seq: int) -> Frame | None:
        """Frame ``seq`` if it is still kept."""
        return self._frames.get(seq)

    def frames(self) -> list[Frame]:
        """The frames kept, oldest first (the latest last)."""
        with self._budget._lock:
            return list(self._frames.values())

    def listing(self) -> dict[str, list[dict[str, Any]]]:
        """The body of ``GET /api/history``: each kept frame's number, time and size."""
        return {
            "frames": [
                {"seq": f.seq, "time": round(f.time, 6), "width": f.width, "height": f.height}
                for f in self.frames()
            ]
        }

    def clear(self) -> None:
        """Drop every frame (their bytes leave the budget)."""
        with self._budget._lock:
            for seq in list(self._frames):
                self._drop(seq)

    def __len__(self) -> int:
        return len(self._frames)
