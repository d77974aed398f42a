"""The peers of a served ``framecast serve`` process: a WebSocket opened by hand (to stall or
drop it), an abrupt drop, a publisher posting images through ingest, and a viewer timing how
late each image arrives. The robustness suite's tests and the soak's attackers use them."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import struct
import time
from collections.abc import Callable

import aiohttp
import numpy as np

from tests.robustness.conftest import Served, post_image, small_jpeg

__all__ = ["Publisher", "Viewer", "drop", "raw_ws"]


async def raw_ws(
    served: Served,
    path: str = "/ws",
    *,
    rcvbuf: int | None = None,
    source: str = "127.0.0.1",
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket opened by hand on a plain TCP socket (to stall it or drop it abruptly).

    ``rcvbuf`` shrinks the kernel receive buffer; ``source`` picks the client address (any
    127.x.y.z works on Linux loopback). Raises AssertionError unless the server answers 101.
    """
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", served.port)), 10)
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    except BaseException:
        sock.close()
        raise
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    writer.write(request.encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status_line = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status_line:
        writer.transport.abort()
        raise AssertionError(f"{path} answered {status_line!r}")
    return reader, writer


def drop(writer: asyncio.StreamWriter) -> None:
    """Close abruptly: RST, no close handshake (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    writer.close()


class Publisher:
    """Posts an image every ``interval`` s through ingest until stopped: ``body(n)`` for the
    n-th (a small JPEG by default), each given ``total`` s. Keeps every status and the
    ``seq`` of each image accepted and shown."""

    def __init__(
        self,
        served: Served,
        interval: float = 0.2,
        *,
        body: Callable[[int], bytes] = small_jpeg,
        total: float = 10.0,
    ) -> None:
        self.served, self.interval = served, interval
        self.body, self.total = body, total
        self.statuses: list[int] = []
        self.seqs: list[int] = []
        self.shown = asyncio.Event()  # set once an image is accepted and shown
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            n = 0
            while True:
                n += 1
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    status, answer = await post_image(
                        session, self.served, self.body(n), total=self.total
                    )
                    self.statuses.append(status)
                    if isinstance(answer, dict) and isinstance(answer.get("seq"), int):
                        self.seqs.append(answer["seq"])
                        self.shown.set()
                await asyncio.sleep(self.interval)

    async def __aenter__(self) -> Publisher:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        if self._task.done():
            self._task.result()  # the publisher's own failure, if any
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class Viewer:
    """A real viewer on ``path``: on ``/ws`` it records how late each new image arrives
    (receive time minus the frame's time, both on this machine's clock) and its ``seq``; on
    ``/frames`` it counts the images (binary messages). ``frames`` counts both."""

    def __init__(self, served: Served, source: str = "127.0.0.1", path: str = "/ws") -> None:
        self.served, self.source, self.path = served, source, path
        self.delays: list[float] = []
        self.seqs: list[int] = []
        self.frames = 0
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def _run(self) -> None:
        connector = aiohttp.TCPConnector(local_addr=(self.source, 0))
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.ws_connect(f"{self.served.ws_url}{self.path}", heartbeat=None) as ws,
        ):
            self.connected.set()
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    self.frames += 1
                    continue
                data = json.loads(message.data)
                if data.get("type") == "new_image":
                    self.delays.append(time.time() - data["time"])
                    self.seqs.append(data["seq"])
                    self.frames += 1

    async def __aenter__(self) -> Viewer:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.connected.wait(), 10)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        if self._task.done():
            self._task.result()  # the viewer's own failure, if any
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def p99(self) -> float:
        assert self.delays, "the viewer received no image"
        return float(np.percentile(self.delays, 99))
