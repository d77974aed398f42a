"""The websockets library's fan-out: ``websockets.broadcast()`` to every open connection.

``broadcast()`` writes the frame to each connection without waiting for it to drain: it
never blocks, and a client that stops reading accumulates the frames in its write buffer.
Compression is disabled, as for every server here.
"""

from __future__ import annotations

from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve

from .loop import LoopThread

__all__ = ["BroadcastServer"]


class BroadcastServer:
    proto = "ws"
    path = "/ws"

    def __init__(self) -> None:
        self.clients: set[ServerConnection] = set()
        self._loop = LoopThread("broadcast")
        self._server: Any = None

    async def _handler(self, ws: ServerConnection) -> None:
        self.clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            self.clients.discard(ws)

    def start(self) -> int:
        async def listen() -> int:
            self._server = await serve(
                self._handler, "127.0.0.1", 0, compression=None, backlog=1024
            )
            return int(next(iter(self._server.sockets)).getsockname()[1])

        return self._loop.run(listen())

    def publish(self, payload: str | bytes) -> None:
        self._loop.call(broadcast, self.clients, payload)

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        if self._server is not None:
            self._loop.run(close(), timeout=5)
        self._loop.close()
