"""Live frames first: background work waits while a live frame is being made. Pure.

On a machine with few cores, cutting deep-zoom tiles and answering analysis requests for
one viewer must not delay the next live frame for everybody. :class:`LiveFirst` is the
one rule between them: each pipeline marks the time from receiving an image to handing its
frame to every viewer (:meth:`LiveFirst.begin`, :meth:`LiveFirst.end`), and a background
job, before it starts, waits until no frame is on its way (:meth:`LiveFirst.wait_turn`) —
for at most ``max_wait`` seconds, so a stream that keeps the encoder busy all the time slows
background work down but never starves it.
A job already running is not stopped, but a long one (statistics of a big frame) calls
:func:`pause` between its pieces: in a :class:`BackgroundPool` job it waits there, briefly,
while a live frame is on its way.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["BACKGROUND_NICE", "MAX_PAUSE", "MAX_WAIT", "BackgroundPool", "LiveFirst", "pause"]

#: The longest a background job waits for the encoder to be idle, in seconds.
MAX_WAIT = 0.25
#: The longest :func:`pause` waits (it is called many times in one job).
MAX_PAUSE = 0.03

_job = threading.local()  # the LiveFirst of the BackgroundPool job this thread runs, if any


def pause() -> None:
    """A yield point for long background work: in a :class:`BackgroundPool` job, wait here
    (at most :data:`MAX_PAUSE`) while a live frame is on its way; elsewhere, nothing."""
    priority: LiveFirst | None = getattr(_job, "priority", None)
    if priority is not None:
        priority.wait_turn(MAX_PAUSE)


P = ParamSpec("P")
T = TypeVar("T")


class LiveFirst:
    """Counts the live frames being made; lets background jobs wait for none. Thread-safe."""

    def __init__(self, max_wait: float = MAX_WAIT) -> None:
        self.max_wait = max_wait
        self._making = 0
        self._idle = threading.Condition()
        #: Background jobs that waited for a live frame (for status and tests).
        self.yielded = 0

    @property
    def making(self) -> int:
        """Live frames being made right now."""
        return self._making

    def begin(self) -> None:
        """A live frame is on its way (until the matching :meth:`end`)."""
        with self._idle:
            self._making += 1

    def end(self) -> None:
        """That frame reached its viewers (or was given up)."""
        with self._idle:
            self._making -= 1
            if self._making == 0:
                self._idle.notify_all()

    @contextmanager
    def live(self) -> Iterator[None]:
        """Mark the enclosed work as making a live frame."""
        self.begin()
        try:
            yield
        finally:
            self.end()

    def wait_turn(self, timeout: float | None = None) -> None:
        """Return when no live frame is being made, or after ``timeout`` (default
        ``max_wait``) seconds."""
        if self._making == 0:  # the common case, without the lock
            return
        with self._idle:
            if self._making == 0:
                return
            self.yielded += 1
            wait = self.max_wait if timeout is None else min(timeout, self.max_wait)
            self._idle.wait_for(lambda: self._making == 0, timeout=wait)


#: How much lower (Linux ``nice``) background threads run than the rest of the process.
BACKGROUND_NICE = 10


def _lower_priority() -> None:
    """Let this thread yield the CPU to live work and to other processes (Linux, where
    ``nice`` is per thread; elsewhere it would be the whole process's, so nothing)."""
    if sys.platform == "linux":
        me = threading.get_native_id()
        with contextlib.suppress(OSError):
            nice = os.getpriority(os.PRIO_PROCESS, me)  # inherited from the starting thread
            os.setpriority(os.PRIO_PROCESS, me, min(19, nice + BACKGROUND_NICE))


class BackgroundPool(ThreadPoolExecutor):
    """A thread pool whose jobs each wait their turn behind live frames (:class:`LiveFirst`)."""

    def __init__(self, workers: int, priority: LiveFirst, *, name: str) -> None:
        super().__init__(workers, thread_name_prefix=name, initializer=_lower_priority)
        self.priority = priority

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        def job() -> T:
            self.priority.wait_turn()
            _job.priority = self.priority
            try:
                return fn(*args, **kwargs)
            finally:
                _job.priority = None

        return super().submit(job)
