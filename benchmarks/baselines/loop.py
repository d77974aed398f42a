"""An asyncio loop on its own thread, shared by the asyncio baselines."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

__all__ = ["LoopThread", "Target"]

T = TypeVar("T")


class Target(Protocol):
    """What the benchmark driver needs from a server under test."""

    proto: str  # "ws", "sio" or "raw": how the load clients talk to it
    path: str

    def start(self) -> int: ...
    def publish(self, payload: str | bytes) -> None: ...
    def stop(self) -> None: ...


class LoopThread:
    """Runs an event loop in a daemon thread; ``run`` waits for a coroutine's result."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[T], timeout: float = 10.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def call(self, callback: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(callback, *args)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
