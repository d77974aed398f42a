"""History over real sockets (docs/history.md): /api/history, /history/<seq>.jpg|json, the
bounds."""

from __future__ import annotations

import gc
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import psutil
import pytest
from PIL import Image

from framecast import ImageServer
from tests.conftest import LOCAL, base, gradient, until

IMMUTABLE = "public, max-age=31536000, immutable"


async def running(work: Path, **options: Any) -> ImageServer:
    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=50, **options
    )
    await srv.astart()
    return srv


@pytest.fixture
async def small_history(work: Path) -> AsyncIterator[ImageServer]:
    """A server whose streams keep their last 3 frames."""
    srv = await running(work, history=3)
    try:
        yield srv
    finally:
        await srv.astop()


def published(srv: ImageServer, stream: str) -> int:
    counters: dict[str, int] = srv.status()["streams"].get(stream, {})
    return counters.get("frames_published", 0)


async def publish(srv: ImageServer, image: Any, stream: str = "default", **metadata: Any) -> int:
    """Publish one image and wait until it is published; its number (a fresh server)."""
    before = published(srv, stream)
    srv.publish(image, metadata=metadata, stream=stream)
    await until(lambda: published(srv, stream) > before, timeout=30, what="frame published")
    return before + 1


async def get(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, bytes, Any]:
    async with http.get(url, **kwargs) as response:
        return response.status, await response.read(), response.headers


async def kept(http: aiohttp.ClientSession, srv: ImageServer, prefix: str = "") -> list[int]:
    status, body, _ = await get(http, base(srv) + prefix + "/api/history")
    assert status == 200
    return [f["seq"] for f in json.loads(body)["frames"]]


async def test_lists_and_serves_each_kept_frame(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """Each frame's JPEG and data.json stay served under its seq, byte for byte what
    /web_image.jpg and /data.json served when it was live, immutable with an ETag."""
    live: dict[int, tuple[bytes, bytes]] = {}
    for i in range(3):
        seq = await publish(server, gradient(64 + 8 * i, 48), i=i)
        _, jpeg, _ = await get(http, base(server) + "/web_image.jpg")
        _, data, _ = await get(http, base(server) + "/data.json")
        live[seq] = (jpeg, data)
    async with http.get(base(server) + "/api/history") as response:
        assert response.status == 200
        listing = (await response.json())["frames"]
    assert [f["seq"] for f in listing] == [1, 2, 3]
    assert [(f["width"], f["height"]) for f in listing] == [(64, 48), (72, 48), (80, 48)]
    assert all(isinstance(f["time"], float) for f in listing)
    for seq, (jpeg, data) in live.items():
        status, body, headers = await get(http, f"{base(server)}/history/{seq}.jpg")
        assert status == 200 and body == jpeg and headers["Content-Type"] == "image/jpeg"
        assert headers["Cache-Control"] == IMMUTABLE and headers["ETag"]
        assert Image.open(io.BytesIO(body)).size == (64 + 8 * (seq - 1), 48)
        status, body, headers = await get(http, f"{base(server)}/history/{seq}.json")
        assert status == 200 and body == data and headers["Cache-Control"] == IMMUTABLE
        etag = headers["ETag"]
        status, body, _ = await get(
            http, f"{base(server)}/history/{seq}.json", headers={"If-None-Match": etag}
        )
        assert status == 304 and body == b""


async def test_count_eviction_and_bad_seqs_are_refused(
    small_history: ImageServer, http: aiohttp.ClientSession
) -> None:
    """With history=3, five frames leave 3, 4, 5; older seqs are a 404 and non-numbers a 400,
    each with a one-line message (never a 500); /api/status counts the frames kept."""
    srv = small_history
    for i in range(5):
        await publish(srv, gradient(), i=i)
    assert await kept(http, srv) == [3, 4, 5]
    status, body, _ = await get(http, base(srv) + "/history/1.jpg")
    assert status == 404
    text = body.decode()
    assert text.count("\n") == 1 and "/api/history" in text and "not kept" in text
    for bad in ("abc", "-1", "1e3", "99999999999999999999999999", "%C2%B3", "4.5"):
        for kind in ("jpg", "json"):
            status, body, _ = await get(http, f"{base(srv)}/history/{bad}.{kind}")
            assert status == 400 and b"is not a frame number" in body, (bad, kind)
    status, _, _ = await get(http, base(srv) + "/history/4.json")
    assert status == 200
    stats = srv.status()
    assert stats["streams"]["default"]["history_frames"] == 3
    assert stats["history_bytes"] > 0


async def test_history_zero_keeps_none(work: Path, http: aiohttp.ClientSession) -> None:
    """history=0: the listing is empty, every seq is a 404, /data.json still has the latest."""
    srv = await running(work, history=0)
    try:
        for i in range(2):
            await publish(srv, gradient(), i=i)
        assert await kept(http, srv) == []
        for seq in (1, 2):
            status, _, _ = await get(http, f"{base(srv)}/history/{seq}.jpg")
            assert status == 404
        async with http.get(base(srv) + "/data.json") as response:
            assert (await response.json())["framecast"]["seq"] == 2
        assert srv.status()["history_bytes"] == 0
        assert srv.status()["streams"]["default"]["history_frames"] == 0
    finally:
        await srv.astop()


async def test_named_stream_has_its_own_history(
    small_history: ImageServer, http: aiohttp.ClientSession
) -> None:
    """/s/cam1/api/history and /s/cam1/history/<seq> speak of cam1 only; the default
    stream's history is its own (also under /s/default/); an unknown stream is a 404."""
    srv = small_history
    for i in range(4):
        await publish(srv, gradient(32, 16), stream="cam1", i=i)
    await publish(srv, gradient(64, 48))
    assert await kept(http, srv, "/s/cam1") == [2, 3, 4]
    assert await kept(http, srv) == [1]
    assert await kept(http, srv, "/s/default") == [1]
    status, body, headers = await get(http, base(srv) + "/s/cam1/history/3.jpg")
    assert status == 200 and headers["Cache-Control"] == IMMUTABLE
    assert Image.open(io.BytesIO(body)).size == (32, 16)
    status, body, _ = await get(http, base(srv) + "/s/cam1/history/3.json")
    assert status == 200 and b'"stream":"cam1"' in body.replace(b" ", b"")
    status, body, _ = await get(http, base(srv) + "/s/cam1/history/1.jpg")
    assert status == 404 and b"/s/cam1/api/history" in body
    status, _, _ = await get(http, base(srv) + "/s/nope/api/history")
    assert status == 404
    status, _, _ = await get(http, base(srv) + "/s/nope/history/1.jpg")
    assert status == 404
    assert srv.status()["streams"]["cam1"]["history_frames"] == 3


async def test_byte_budget_spans_streams_and_keeps_each_latest(
    work: Path, http: aiohttp.ClientSession
) -> None:
    """max_history_bytes=0: every stream keeps exactly its latest frame, served by seq; with
    a budget of a few frames the oldest frames of any stream go first."""
    srv = await running(work, max_history_bytes=0)
    try:
        for i in range(3):
            await publish(srv, gradient(), stream="cam1", i=i)
            await publish(srv, gradient(), i=i)
        assert await kept(http, srv, "/s/cam1") == [3]
        assert await kept(http, srv) == [3]
        status, _, _ = await get(http, base(srv) + "/s/cam1/history/3.jpg")
        assert status == 200
        status, _, _ = await get(http, base(srv) + "/s/cam1/history/2.jpg")
        assert status == 404
    finally:
        await srv.astop()
    rng = np.random.default_rng(1)
    noise = [rng.integers(0, 255, (200, 200, 3), dtype=np.uint8) for _ in range(6)]
    srv = await running(work, max_history_bytes=1_000_000)
    try:
        for image in noise[:3]:
            await publish(srv, image, stream="cam1")
        before = await kept(http, srv, "/s/cam1")
        assert len(before) >= 2  # the budget holds a few of these frames
        for image in noise[3:]:
            await publish(srv, image)
        after = await kept(http, srv, "/s/cam1")
        assert after[-1] == 3 and len(after) < len(before)  # cam1's oldest went first
        default = await kept(http, srv)
        assert default[-1] == 3 and default == list(range(4 - len(default), 4))
        assert 0 < srv.status()["history_bytes"] <= 1_000_000
    finally:
        await srv.astop()


async def test_history_needs_the_viewer_token(work: Path, http: aiohttp.ClientSession) -> None:
    """With a viewer token, the history answers 401 without it, as /data.json does."""
    srv = await running(work, viewer_token="look")
    try:
        await publish(srv, gradient())
        for path in ("/api/history", "/history/1.jpg", "/s/default/history/1.json"):
            status, _, _ = await get(http, base(srv) + path)
            assert status == 401, path
            status, _, _ = await get(http, base(srv) + path + "?token=look")
            assert status == 200, path
    finally:
        await srv.astop()


async def test_memory_stays_within_the_byte_bound(work: Path, http: aiohttp.ClientSession) -> None:
    """history=1000 but max_history_bytes 20 MB: 100 frames of ~1 MB noise keep only what
    fits in 20 MB, and the process's RSS grows far less than the 100 frames would weigh."""
    bound = 20 * 1024 * 1024
    srv = await running(work, history=1000, max_history_bytes=bound)
    process = psutil.Process()
    try:
        rng = np.random.default_rng(7)
        noise = rng.integers(0, 255, (600, 600, 3), dtype=np.uint8)
        await publish(srv, noise)  # warm up every path once
        gc.collect()
        before = process.memory_info().rss
        for i in range(100):
            noise[0, 0, 0] = i  # a new image each time, built once
            await publish(srv, noise, i=i)
        gc.collect()
        grown = process.memory_info().rss - before
        status = srv.status()
        frames = status["streams"]["default"]["history_frames"]
        print(f"kept {frames} frames, {status['history_bytes'] >> 20} MB; RSS +{grown >> 20} MB")
        assert status["history_bytes"] <= bound
        assert 2 <= frames < 30  # each frame weighs over 1 MB (its array alone)
        assert len(await kept(http, srv)) == frames
        assert grown < 80 * 1024 * 1024, f"RSS grew by {grown >> 20} MB"
    finally:
        await srv.astop()
