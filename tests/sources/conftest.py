"""Helpers for source tests: deadlines, a psi-bsread sender thread, free ports."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from framecast.live.frames import Incoming


async def next_frame(frames: AsyncIterator[Incoming], timeout: float = 5.0) -> Incoming:
    """The next item of a source's generator, failing after ``timeout`` seconds."""
    return await asyncio.wait_for(anext(frames), timeout)


async def until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "it") -> Any:
    """Poll ``predicate`` until truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)
    return value


class Pusher:
    """A plain PUSH socket bound to a random loopback port, for hand-made messages."""

    def __init__(self) -> None:
        import zmq

        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.PUSH)
        self.socket.bind("tcp://127.0.0.1:*")
        self.endpoint: str = self.socket.getsockopt(zmq.LAST_ENDPOINT).decode()

    def send(self, parts: list[bytes]) -> None:
        """Queue one message for the connected receiver: waits (at most 10 s) until this side
        of the connection is ready too — the receiver may see it first."""
        import zmq

        self.socket.setsockopt(zmq.SNDTIMEO, 10_000)
        self.socket.send_multipart(parts)

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()


@pytest.fixture
def pusher() -> Iterator[Pusher]:
    """A :class:`Pusher`, closed at the end of the test."""
    push = Pusher()
    yield push
    push.close()


async def connected(source: Any, frames: AsyncIterator[Incoming]) -> asyncio.Task[Incoming]:
    """Start ``frames`` (its first ``anext`` as a task) and wait until the socket is connected."""
    task = asyncio.ensure_future(next_frame(frames, timeout=30))
    try:
        await until(lambda: source.connected or task.done(), what="the connection")
    except AssertionError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise
    return task


def free_port() -> int:
    """A TCP port nobody listens on right now (for senders that must bind a given port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PsiSender:
    """psi-bsread's own Sender, bound to a random loopback port, sending from a thread.

    ``make(pulse_id)`` returns the channel dict of each message; sending continues until
    the test ends (a PUB socket loses what is sent before the subscriber joins).
    """

    def __init__(
        self,
        make: Callable[[int], dict[str, Any]],
        *,
        mode: str = "push",
        compression: str | None = None,
        interval: float = 0.01,
        port: int | str = "*",
    ) -> None:
        import bsread
        import zmq

        self.make = make
        self.interval = interval
        self.sender = bsread.Sender(
            port=port,
            address="tcp://127.0.0.1",
            mode=bsread.PUB if mode == "pub" else bsread.PUSH,
            data_compression=compression,
            block=True,  # non-blocking mflow drops single parts and garbles messages
            send_timeout=100,
            queue_size=1000,
        )
        self.sender.open()
        self.endpoint = self.sender.stream.socket.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import zmq

        pulse_id = 0
        while not self._stop.is_set():
            pulse_id += 1
            try:
                self.sender.send(data=self.make(pulse_id), pulse_id=pulse_id)
                self.sent += 1
            except zmq.Again:  # nobody connected yet (PUSH)
                pass
            self._stop.wait(self.interval)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sender.stream.socket.close(linger=0)
        self.sender.stream.context.term()


@pytest.fixture
def psi_sender() -> Iterator[Callable[..., PsiSender]]:
    """Factory of :class:`PsiSender` threads, all stopped at the end of the test."""
    senders: list[PsiSender] = []

    def start(make: Callable[[int], dict[str, Any]], **options: Any) -> PsiSender:
        sender = PsiSender(make, **options)
        senders.append(sender)
        return sender

    yield start
    for sender in senders:
        sender.close()
