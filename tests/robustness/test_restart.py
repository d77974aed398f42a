"""Restart storm: viewers reconnecting with jittered exponential backoff are all back within
10 s of a kill -9 and a restart on the same port."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import aiohttp
import pytest

from tests.robustness.conftest import serving, start_server, until

BACK_WITHIN = 10.0


class Reconnecting:
    """A /ws viewer that reconnects after losing the server, waiting 0.1 s doubled per failed
    attempt up to 2 s, each wait jittered by ±50 % (so a restart is not met all at once)."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url, self.session = url, session
        self.connected = False
        self.connections = 0

    async def run(self) -> None:
        attempt = 0
        while True:
            try:
                async with self.session.ws_connect(self.url, heartbeat=None) as ws:
                    self.connected, attempt = True, 0
                    self.connections += 1
                    async for _ in ws:
                        pass
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass
            self.connected = False
            attempt += 1
            await asyncio.sleep(min(2.0, 0.1 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5))


async def restart_storm(tmp_path: Path, viewers: int) -> float:
    """Kill -9 a server with ``viewers`` connected, restart it; seconds until all are back."""
    options = ("--max-clients-per-address", str(viewers + 50), "--max-clients", str(viewers + 50))
    first = start_server(tmp_path / "first", *options, work=tmp_path / "work")
    port = first.port
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        clients = [Reconnecting(f"{first.ws_url}/ws", session) for _ in range(viewers)]
        tasks = [asyncio.create_task(client.run()) for client in clients]
        try:
            await until(lambda: all(c.connected for c in clients), 60, "every viewer connected")
            first.kill()
            await until(lambda: not any(c.connected for c in clients), 20, "every viewer lost")
            started = time.monotonic()
            with serving(tmp_path / "second", *options, port=port, work=tmp_path / "work") as again:
                await until(
                    lambda: all(c.connected for c in clients), BACK_WITHIN, "every viewer back"
                )
                took = time.monotonic() - started
                await until(
                    lambda: again.status()["clients"] == viewers, 10, "the server counts them all"
                )
            assert took < BACK_WITHIN
            assert all(client.connections == 2 for client in clients)
            return took
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            first.stop()


async def test_restart_storm(tmp_path: Path) -> None:
    """50 viewers are back within 10 s of a kill -9 restart."""
    await restart_storm(tmp_path, 50)


@pytest.mark.long
@pytest.mark.timeout(600)
async def test_restart_storm_1000(tmp_path: Path) -> None:
    """1000 viewers are back within 10 s of a kill -9 restart."""
    await restart_storm(tmp_path, 1000)
