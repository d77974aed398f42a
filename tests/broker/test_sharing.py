"""Frames cross the broker: a viewer of any node sees every node's streams (docs/scale-out.md)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import numpy as np

from tests.broker.conftest import REQUEST_TIMEOUT, Redis, node, running, status, streams, url
from tests.conftest import gradient, next_json, until
from tests.imaging.samples import chart, png_bytes

#: A camera's rate, and how long it runs, in the test of an edge viewer's rate.
CAMERA_RATE, CAMERA_IMAGES = 10.0, 30


async def _frame(ws: aiohttp.ClientWebSocketResponse) -> bytes:
    msg = await asyncio.wait_for(ws.receive(), 10)
    assert msg.type == aiohttp.WSMsgType.BINARY, msg
    return bytes(msg.data)


async def test_frame_published_on_a_reaches_viewers_of_b_with_same_seq_and_bytes(
    redis: Redis, tmp_path: Path
) -> None:
    """An image published on node A reaches a /ws and a /frames viewer of node B with the
    same seq, metadata and JPEG bytes as A's own viewers get."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(gradient(), {"exposure": 1.5}, stream="cam1")
        await until(lambda: b._streams and b._streams.get("cam1"), 10, "cam1 on node B")
        async with (
            http.ws_connect(url(a) + "/s/cam1/ws") as ws_a,
            http.ws_connect(url(b) + "/s/cam1/ws") as ws_b,
            http.ws_connect(url(a) + "/s/cam1/frames") as frames_a,
            http.ws_connect(url(b) + "/s/cam1/frames") as frames_b,
        ):
            await until(lambda: b.status()["clients"] == 2 and a.status()["clients"] == 2)
            a.publish(gradient()[::-1].copy(), {"exposure": 2.5}, stream="cam1")
            seen_a, seen_b = await next_json(ws_a, 10), await next_json(ws_b, 10)
            assert seen_a["type"] == seen_b["type"] == "new_image"
            assert seen_a["seq"] == seen_b["seq"] == 2
            assert seen_b["metadata"]["exposure"] == 2.5
            assert seen_a == seen_b
            assert await _frame(frames_a) == await _frame(frames_b)
        listed = await streams(http, url(b))
        assert listed["cam1"]["seq"] == 2 and listed["cam1"]["width"] == 64
        assert (await status(http, url(b)))["broker"] == "ok"


async def _get(http: aiohttp.ClientSession, address: str) -> bytes:
    async with http.get(address, timeout=REQUEST_TIMEOUT) as response:
        assert response.status == 200, address
        return await response.read()


async def test_a_node_that_joins_shows_every_current_image_at_once(
    redis: Redis, tmp_path: Path
) -> None:
    """A node started after the images were published shows each stream's current image
    (same bytes) without waiting for the next one; a chart's lossless PNG display image
    crosses too: the edge's data.json names ``png`` and its ``image/1.png`` is the host's."""
    a = node(tmp_path, "a", redis.url)
    async with running(a), aiohttp.ClientSession() as http:
        a.publish(gradient(), stream="cam1")
        a.publish(np.full((32, 40), 200, np.uint8), stream="cam2")
        a.publish(png_bytes(chart(200, 120)), stream="chart")
        await until(lambda: a.status()["broker_frames_sent"] >= 3, 10, "the frames sent")
        expected = await _get(http, url(a) + "/s/cam2/web_image.jpg")
        host_chart = json.loads(await _get(http, url(a) + "/s/chart/data.json"))["framecast"]
        assert (host_chart["format"], host_chart["image"]) == ("png", "/s/chart/image/1.png")
        png = await _get(http, url(a) + "/s/chart/image/1.png")
        b = node(tmp_path, "b", redis.url)
        async with running(b):
            listed = await until(
                lambda: (
                    (s := b._streams) and s.get("cam2") and s.get("cam1") and s.get("chart") and s
                ),
                5,
                "streams",
            )
            assert listed.get("cam2").latest.seq == 1
            assert await _get(http, url(b) + "/s/cam2/web_image.jpg") == expected
            names = await streams(http, url(b))
            assert names["cam1"]["seq"] == 1 and names["cam2"]["height"] == 32
            edge_chart = json.loads(await _get(http, url(b) + "/s/chart/data.json"))["framecast"]
            assert (edge_chart["format"], edge_chart["image"]) == ("png", "/s/chart/image/1.png")
            assert await _get(http, url(b) + "/s/chart/image/1.png") == png


async def test_sequence_numbers_are_shared_by_every_publisher(redis: Redis, tmp_path: Path) -> None:
    """Two nodes publishing to the same stream never give two images the same number, and
    each node shows the newest."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(a, b):
        a.publish(gradient(), stream="cam1")
        await until(lambda: (s := b._streams.get("cam1")) and s.latest, 10, "cam1 on B")
        b.publish(gradient(), stream="cam1")
        await until(lambda: a._streams.get("cam1").latest.seq == 2, 10, "B's image on A")
        a.publish(gradient(), stream="cam1")
        await until(lambda: b._streams.get("cam1").latest.seq == 3, 10, "A's second on B")


async def test_an_edge_viewer_gets_the_camera_rate_though_the_camera_host_serves_nobody(
    redis: Redis, tmp_path: Path
) -> None:
    """With nobody watching on the camera host (its web files due twice a second), a /ws
    viewer of an edge node gets at least 9 of every 10 images of a 10 images/s camera."""
    a = node(tmp_path, "a", redis.url, max_file_rate=2)
    b = node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        await until(lambda: a.status()["broker"] == b.status()["broker"] == "ok", 10)
        a.publish(gradient(), stream="cam1")
        await until(lambda: (s := b._streams.get("cam1")) and s.latest, 10, "cam1 on B")
        async with http.ws_connect(url(b) + "/s/cam1/ws") as ws:
            await until(lambda: b.status()["clients"] == 1, 10, "the edge viewer")
            seen: set[int] = set()

            async def watch() -> None:
                while True:
                    message = await next_json(ws, 30)
                    if message["type"] == "new_image":
                        seen.add(message["seq"])

            watcher = asyncio.create_task(watch())
            try:
                loop = asyncio.get_running_loop()
                start = loop.time()
                for n in range(CAMERA_IMAGES):  # the camera's clock, not a wait for readiness
                    a.publish(gradient()[:, ::-1].copy() if n % 2 else gradient(), stream="cam1")
                    await asyncio.sleep(max(0.0, start + (n + 1) / CAMERA_RATE - loop.time()))
                last = a._streams.get("cam1").pipeline.seq
                await until(lambda: last in seen, 10, "the camera's last image on the edge")
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
        assert a.status()["clients"] == 0
        assert len(seen) >= CAMERA_IMAGES * 2 // 3, sorted(seen)
