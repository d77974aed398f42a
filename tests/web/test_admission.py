"""Whole-frame downloads take one of a few places, per server and per client address: one
more gets a 503 with Retry-After and a line naming the limit; /api/status counts what the
running downloads hold; a place comes back when its client is cut off."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import numpy as np

from framecast import ImageServer
from tests.conftest import LOCAL, until
from tests.web.test_downloads import load, same
from tests.web.test_senddeadline import stalled_get

PLAIN = {"Accept-Encoding": "identity"}


async def get_from(source: str, url: str) -> tuple[int, bytes, dict[str, str]]:
    """GET ``url`` from the loopback address ``source``."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as http,
        http.get(url, headers=PLAIN) as response,
    ):
        return response.status, await response.read(), dict(response.headers)


async def test_downloads_beyond_the_limits_are_refused_with_503(work: Path) -> None:
    """With max_downloads 3 and max_downloads_per_address 2: two stalled downloads from
    127.0.0.1 fill that address (a third gets 503 naming max_downloads_per_address, while
    127.0.0.2 still gets in); a fourth download from anywhere gets 503 naming max_downloads;
    both with Retry-After. /api/status shows 3 running holding bytes and 2 refused; once the
    stalled clients are cut off (send_timeout) the places come back and a download works."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        max_file_rate=50,
        max_downloads=3,
        max_downloads_per_address=2,
        send_timeout=2.0,
    )
    await srv.astart()
    stalled: list[asyncio.StreamWriter] = []
    try:
        frame = np.random.default_rng(6).integers(0, 65536, (2000, 3000), dtype=np.uint16)
        srv.publish(frame)
        await until(lambda: srv.status()["frames_published"] >= 1, 30, "the frame")
        seq = srv.status()["latest_seq"]
        url = f"http://127.0.0.1:{srv.port}/raw/{seq}.npy"
        identity = "Accept-Encoding: identity\r\n"

        async def stall(source: str) -> None:
            path = f"/raw/{seq}.npy"
            _, writer = await stalled_get(srv.port, path, source=source, headers=identity)
            stalled.append(writer)
            count = len(stalled)
            await until(lambda: srv.status()["downloads_running"] == count, 10, "running")

        for source in ("127.0.0.1", "127.0.0.1"):
            await stall(source)
        status, body, headers = await get_from("127.0.0.1", url)
        assert status == 503 and headers["Retry-After"].isdigit(), body
        assert b"max_downloads_per_address" in body and body.count(b"\n") == 1
        await stall("127.0.0.2")
        status, body, headers = await get_from("127.0.0.3", url)
        assert status == 503 and headers["Retry-After"].isdigit(), body
        assert b"(max_downloads)" in body and body.count(b"\n") == 1
        report = srv.status()
        assert report["downloads_running"] == 3 and report["downloads_refused"] == 2
        assert report["download_bytes_in_flight"] > 0
        assert report["limits"]["max_downloads"] == 3
        await until(lambda: srv.status()["downloads_running"] == 0, 20, "the cut-offs")
        report = srv.status()
        assert report["http_answers_cut_off"] == 3 and report["download_bytes_in_flight"] == 0
        status, body, headers = await get_from("127.0.0.1", url)
        assert status == 200 and same(load(body, headers), frame)
    finally:
        for writer in stalled:
            writer.transport.abort()
        await srv.astop()
