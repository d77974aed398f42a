"""ALS style: an aiohttp server that awaits ``send_str`` to each client in turn.

This is the pattern of ALS's server module, written minimally for the benchmark: every
new image starts one broadcast coroutine that loops over the connected sockets and awaits
each send. One client that stops reading makes that await wait on its full buffer, so every
client after it in the loop waits too.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from .loop import LoopThread

__all__ = ["AlsServer"]


class AlsServer:
    proto = "ws"
    path = "/ws"

    def __init__(self) -> None:
        self.clients: set[web.WebSocketResponse] = set()
        self._loop = LoopThread("als")
        self._runner: web.AppRunner | None = None

    async def _handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.clients.add(ws)
        try:
            async for _msg in ws:
                pass
        finally:
            self.clients.discard(ws)
        return ws

    def start(self) -> int:
        async def listen() -> int:
            app = web.Application()
            app.router.add_get("/ws", self._handler)
            self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
            await site.start()
            return int(self._runner.addresses[0][1])

        return self._loop.run(listen())

    def publish(self, payload: str | bytes) -> None:
        self._loop.call(lambda: self._loop.loop.create_task(self._broadcast(payload)))

    async def _broadcast(self, payload: str | bytes) -> None:
        for ws in list(self.clients):
            with contextlib.suppress(ConnectionError, RuntimeError):
                if isinstance(payload, str):
                    await ws.send_str(payload)
                else:
                    await ws.send_bytes(payload)

    def stop(self) -> None:
        if self._runner is not None:
            with contextlib.suppress(TimeoutError):
                self._loop.run(self._runner.cleanup(), timeout=5)
        self._loop.close()
