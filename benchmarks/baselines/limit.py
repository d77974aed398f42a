"""The machine's ceiling: raw asyncio sockets, no HTTP, no WebSocket.

Each message is written as a 4-byte length and the payload, built once and written to
every connected transport. A client whose transport (user-space) buffer still holds
``max_buffer`` bytes or more — by default: anything — is skipped for that message, so a
stalled or slow peer costs nothing and never holds more than one message beyond what the
kernel's socket buffer takes: the same latest-wins rule framecast follows.
"""

from __future__ import annotations

import asyncio
import struct

from .loop import LoopThread

__all__ = ["LimitServer"]


class _Peer(asyncio.Protocol):
    def __init__(self, peers: set[asyncio.Transport]) -> None:
        self.peers = peers
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peers.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.peers.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        pass


class LimitServer:
    proto = "raw"
    path = ""

    def __init__(self, *, max_buffer: int = 1) -> None:
        self.max_buffer = max_buffer
        self.peers: set[asyncio.Transport] = set()
        self._loop = LoopThread("limit")
        self._server: asyncio.Server | None = None

    def start(self) -> int:
        async def listen() -> asyncio.Server:
            loop = asyncio.get_running_loop()
            return await loop.create_server(lambda: _Peer(self.peers), "127.0.0.1", 0, backlog=1024)

        self._server = self._loop.run(listen())
        return int(self._server.sockets[0].getsockname()[1])

    def publish(self, payload: str | bytes) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self._loop.call(self._fanout, struct.pack("!I", len(data)) + data)

    def _fanout(self, message: bytes) -> None:
        for transport in self.peers:
            if transport.get_write_buffer_size() < self.max_buffer:
                transport.write(message)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for transport in list(self.peers):
                transport.close()

        self._loop.run(close())
        self._loop.close()
