"""Deep zoom over real sockets (docs/tiles.md): the .dzi, every level's tiles, 404s, named streams,
and tile cutting that never holds up the live fan-out."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import math
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer
from tests.conftest import LOCAL, base, gradient, next_json, until

IMMUTABLE = "public, max-age=31536000, immutable"
NS = "{http://schemas.microsoft.com/deepzoom/2008}"


def scene(width: int, height: int) -> np.ndarray:
    """A smooth colour picture (JPEG keeps it within a few levels)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [
            (x * 255 // (width - 1)).astype(np.uint8),
            (y * 255 // (height - 1)).astype(np.uint8),
            (128 + 100 * np.sin(x / 37.0) * np.cos(y / 23.0)).astype(np.uint8),
        ],
        axis=2,
    )


def published(srv: ImageServer, stream: str, count: int) -> bool:
    return srv.status()["streams"].get(stream, {}).get("frames_published", 0) >= count


@pytest.fixture
async def zoom_server(work: Path) -> AsyncIterator[ImageServer]:
    """A server whose web image is at most 256 px, so a 1000×700 frame has a pyramid."""
    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=50, max_web_size=256
    )
    await srv.astart()
    try:
        yield srv
    finally:
        await srv.astop()


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes, Any]:
    async with http.get(url) as response:
        return response.status, await response.read(), response.headers


async def test_large_frame_has_a_pyramid_with_every_level(
    zoom_server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """A 1000×700 frame is announced with its .dzi URL (new_image and data.json), the .dzi
    gives its full size, every level has the DZI number and sizes of tiles, and the top
    level's tiles are the frame's pixels, overlap included, within JPEG error."""
    srv = zoom_server
    url = base(srv)
    picture = scene(1000, 700)
    async with http.ws_connect(url + "/ws") as ws:
        await until(lambda: srv.status()["clients"] == 1, what="the viewer")
        srv.publish(picture)
        message = await next_json(ws)
    seq = message["seq"]
    assert message["tiles"] == f"/tiles/{seq}.dzi"
    assert message["width"] == 256
    status, body, _ = await get(http, url + "/data.json")
    assert json.loads(body)["framecast"]["tiles"] == f"/tiles/{seq}.dzi"

    status, body, headers = await get(http, url + message["tiles"])
    assert status == 200 and headers["Cache-Control"] == IMMUTABLE
    root = ET.fromstring(body)
    assert root.attrib == {"TileSize": "254", "Overlap": "1", "Format": "jpg"}
    size = root.find(NS + "Size")
    assert size is not None and size.attrib == {"Width": "1000", "Height": "700"}

    top = math.ceil(math.log2(1000))
    files = f"{url}/tiles/{seq}_files"
    for level in range(top + 1):
        lw, lh = math.ceil(1000 / 2 ** (top - level)), math.ceil(700 / 2 ** (top - level))
        cols, rows = math.ceil(lw / 254), math.ceil(lh / 254)
        for col in range(cols):
            for row in range(rows):
                status, body, headers = await get(http, f"{files}/{level}/{col}_{row}.jpg")
                assert status == 200, (level, col, row)
                assert headers["Content-Type"] == "image/jpeg"
                assert headers["Cache-Control"] == IMMUTABLE
                x0, y0 = max(0, col * 254 - 1), max(0, row * 254 - 1)
                x1, y1 = min(lw, (col + 1) * 254 + 1), min(lh, (row + 1) * 254 + 1)
                with Image.open(io.BytesIO(body)) as tile:
                    assert tile.size == (x1 - x0, y1 - y0), (level, col, row)
                    if level == top:
                        pixels = np.asarray(tile.convert("RGB")).astype(np.int16)
                        error = np.abs(pixels - picture[y0:y1, x0:x1].astype(np.int16))
                        assert error.mean() < 3 and error.max() < 40
        status, _, _ = await get(http, f"{files}/{level}/{cols}_0.jpg")
        assert status == 404
        status, _, _ = await get(http, f"{files}/{level}/0_{rows}.jpg")
        assert status == 404
    status, _, _ = await get(http, f"{files}/{top + 1}/0_0.jpg")
    assert status == 404


async def test_small_frames_old_frames_and_unknown_seqs_have_no_tiles(
    zoom_server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """A frame no larger than max_web_size says tiles: null and answers 404; an unknown
    seq's tiles answer 404 with a message, a seq that is not a number 400; a replaced frame
    still in the history keeps its pyramid (docs/tiles.md: as long as the frame is kept)."""
    srv = zoom_server
    url = base(srv)
    srv.publish(scene(1000, 700))
    await until(lambda: published(srv, "default", 1))
    status, _, _ = await get(http, url + "/tiles/1.dzi")
    assert status == 200
    srv.publish(gradient(256, 100))
    await until(lambda: published(srv, "default", 2))
    status, body, _ = await get(http, url + "/data.json")
    assert json.loads(body)["framecast"]["tiles"] is None
    status, _, _ = await get(http, url + "/tiles/1.dzi")
    assert status == 200  # frame 1 is in the history
    for path in (
        "/tiles/1_files/11/0_0.jpg",
        "/tiles/1_files/10/9_0.jpg",
        "/tiles/2.dzi",
        "/tiles/9.dzi",
    ):
        status, body, _ = await get(http, url + path)
        assert status == 404, path
        assert b"\n" in body and len(body.splitlines()) == 1
    status, body, _ = await get(http, url + "/tiles/2_files/0/0_0.jpg")
    assert status == 404 and b"max_web_size" in body
    status, body, _ = await get(http, url + "/tiles/" + "9" * 30 + ".dzi")
    assert status == 400 and b"is not a frame number" in body


async def test_a_named_stream_has_its_own_pyramid(
    zoom_server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """A named stream's frame is tiled under /s/<name>/tiles/; the default stream's root
    routes do not serve it, and an unknown stream's tiles answer 404."""
    srv = zoom_server
    url = base(srv)
    srv.publish(scene(600, 900), stream="cam1")
    await until(lambda: published(srv, "cam1", 1))
    status, body, _ = await get(http, url + "/s/cam1/data.json")
    assert json.loads(body)["framecast"]["tiles"] == "/s/cam1/tiles/1.dzi"
    status, body, _ = await get(http, url + "/s/cam1/tiles/1.dzi")
    assert status == 200 and b'Width="600" Height="900"' in body
    status, body, _ = await get(http, url + "/s/cam1/tiles/1_files/10/2_3.jpg")
    assert status == 200
    with Image.open(io.BytesIO(body)) as tile:
        assert tile.size == (600 - 507, 900 - 761)
    assert (await get(http, url + "/tiles/1.dzi"))[0] == 404
    assert (await get(http, url + "/s/nope/tiles/1.dzi"))[0] == 404


async def test_tile_requests_never_hold_up_the_live_fan_out(work: Path) -> None:
    """While 200 tile requests of a big frame are being cut, a /ws viewer of another
    stream still hears each new_image within 0.5 s of its publish."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        max_file_rate=50,
        max_web_size=512,
        max_frame_cache_bytes=0,
    )
    await srv.astart()
    rng = np.random.default_rng(2)
    try:
        srv.publish(rng.integers(0, 256, (4000, 6000, 3), dtype=np.uint8), stream="big")
        await until(lambda: published(srv, "big", 1), timeout=30)
        url = base(srv)
        top = math.ceil(math.log2(6000))
        paths = [
            f"{url}/s/big/tiles/1_files/{top - 1 - i % 2}/{i % 6}_{i // 6 % 4}.jpg"
            for i in range(200)
        ]
        done = 0

        async def burst() -> list[int]:
            """The 200 requests at once, from a client loop of their own (another thread),
            so that they reach the server together."""
            nonlocal done
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as client:

                async def fetch(path: str) -> int:
                    nonlocal done
                    async with client.get(path) as response:
                        await response.read()
                        done += 1
                        return response.status

                return list(await asyncio.gather(*(fetch(path) for path in paths)))

        async with aiohttp.ClientSession() as http, http.ws_connect(url + "/ws") as ws:
            await until(lambda: srv.status()["clients"] == 1, what="the viewer")
            requests = asyncio.create_task(asyncio.to_thread(asyncio.run, burst()))
            await until(lambda: done >= 10, timeout=30, what="tiles being cut")
            delays = []
            for n in range(3):
                started = time.monotonic()
                srv.publish(gradient(64, 48))
                message = await next_json(ws)
                delays.append(time.monotonic() - started)
                assert message["seq"] == n + 1
            still_cutting = done < len(paths)
            statuses = await asyncio.wait_for(requests, 60)
        assert max(delays) < 0.5, delays
        assert still_cutting, "the burst ended before the live frames were published"
        assert statuses == [200] * len(paths)
    finally:
        await srv.astop()


async def test_a_frame_dropped_from_the_history_loses_its_pyramid(
    work: Path, http: aiohttp.ClientSession
) -> None:
    """With history = 1, a replaced frame is no longer kept: its tiles answer 404, and the
    tiles cut from it leave the server's tile cache with it."""
    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, max_web_size=256, history=1
    )
    async with srv:
        url = base(srv)
        srv.publish(scene(1000, 700))
        await until(lambda: published(srv, "default", 1))
        assert (await get(http, url + "/tiles/1.dzi"))[0] == 200
        assert (await get(http, url + "/tiles/1_files/10/0_0.jpg"))[0] == 200
        assert srv.status()["frame_cache_bytes"] > 0
        srv.publish(scene(1000, 700))
        await until(lambda: published(srv, "default", 2))
        status, body, _ = await get(http, url + "/tiles/1.dzi")
        assert status == 404 and b"not kept" in body
        assert (await get(http, url + "/tiles/2.dzi"))[0] == 200

        def no_tiles() -> bool:
            gc.collect()
            return bool(srv.status()["frame_cache_bytes"] == 0)

        await until(no_tiles, timeout=10, what="frame 1's tiles to leave with it")


async def test_tile_cache_bound_holds_across_all_kept_frames(
    work: Path, http: aiohttp.ClientSession
) -> None:
    """max_frame_cache_bytes bounds the tiles of every kept frame together, on two streams:
    after cutting all top-level tiles of eight kept frames, /api/status reports at most the
    bound (one frame's tiles alone fill it), and an evicted tile is cut again byte for byte."""
    bound = 300_000
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        max_file_rate=50,
        max_web_size=256,
        max_frame_cache_bytes=bound,
    )
    await srv.astart()
    try:
        url = base(srv)
        rng = np.random.default_rng(5)
        for k in range(8):
            stream = "default" if k % 2 == 0 else "cam2"
            srv.publish(rng.integers(0, 256, (700, 1000, 3), dtype=np.uint8), stream=stream)
            await until(lambda k=k, stream=stream: published(srv, stream, k // 2 + 1))
        total = 0
        first = b""
        for seq in range(1, 5):
            for prefix in ("", "/s/cam2"):
                for col in range(4):
                    for row in range(3):
                        path = f"{url}{prefix}/tiles/{seq}_files/10/{col}_{row}.jpg"
                        status, body, _ = await get(http, path)
                        assert status == 200, path
                        total += len(body)
                        first = first or body
        assert total > 4 * bound  # what per-frame caches would have kept
        status, body, _ = await get(http, url + "/api/status")
        kept = json.loads(body)["frame_cache_bytes"]
        assert 0 < kept <= bound
        status, again, _ = await get(http, f"{url}/tiles/1_files/10/0_0.jpg")
        assert again == first  # long evicted: cut again, the same JPEG
    finally:
        await srv.astop()
