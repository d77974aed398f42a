"""Faults with a real redis-server: outages, crashes, restarts, refused passwords and a
broker that never answers (issue 13 item 2). Nothing crashes, local streams stay live,
and no viewer stays on a stale image once the broker is back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from framecast.broker import node as broker_node
from tests.broker.conftest import Redis, free_port, node, running, status, streams, url
from tests.conftest import gradient, next_json, until


async def _state(server: Any, wanted: str, timeout: float = 15.0) -> None:
    await until(lambda: server.status()["broker"] == wanted, timeout, f"broker {wanted}")


async def _next_image(ws: aiohttp.ClientWebSocketResponse, timeout: float = 15.0) -> dict[str, Any]:
    while True:
        message = await next_json(ws, timeout)
        if message["type"] == "new_image":
            return message


async def test_redis_killed_and_restarted_mid_stream(redis: Redis, tmp_path: Path) -> None:
    """Redis killed mid-stream: both nodes say degraded, the edge's own stream stays live;
    Redis back on the same port: both say ok and the edge's viewer gets the image published
    during the outage, then fresh ones, with numbers that never go backwards."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(gradient(), stream="cam1")
        b.publish(gradient(), stream="local")
        await until(lambda: (s := b._streams.get("cam1")) and s.latest, 10, "cam1 on B")
        async with (
            http.ws_connect(url(b) + "/s/cam1/ws") as remote_viewer,
            http.ws_connect(url(b) + "/s/local/ws") as local_viewer,
        ):
            await until(lambda: b.status()["clients"] == 2)
            redis.kill()
            await _state(a, "degraded")
            await _state(b, "degraded")
            assert "cannot reach the broker" in (await status(http, url(b)))["broker_reason"]
            b.publish(gradient(), stream="local")  # the edge's own stream is still live
            assert (await _next_image(local_viewer))["seq"] == 2
            a.publish(gradient()[::-1].copy(), {"during": "outage"}, stream="cam1")
            await until(lambda: a._streams.get("cam1").latest.seq == 2, 5, "A numbers on")
            await redis.start()
            await _state(a, "ok")
            await _state(b, "ok")
            missed = await _next_image(remote_viewer)
            assert missed["seq"] == 2 and missed["metadata"]["during"] == "outage"
            a.publish(gradient(), stream="cam1")
            assert (await _next_image(remote_viewer))["seq"] == 3
        assert (await status(http, url(b)))["task_errors"] == 0


async def test_edge_killed_with_sigkill_and_restarted(
    redis: Redis, tmp_path: Path, serve: Any
) -> None:
    """An edge node killed with SIGKILL and started again shows the current image at once
    and the next ones; the publisher never notices."""
    a = node(tmp_path, "a", redis.url)
    async with running(a), aiohttp.ClientSession() as http:
        a.publish(gradient(), stream="cam1")
        edge = serve("edge", "--broker", redis.url)
        base = await edge.start()
        await until_async(lambda: streams(http, base), "cam1")
        edge.kill()
        await edge.stop()
        a.publish(gradient(), stream="cam1")
        base = await edge.start()
        listed = await until_async(lambda: streams(http, base), "cam1")
        assert listed["cam1"]["seq"] == 2
        async with http.ws_connect(base + "/s/cam1/ws") as ws:
            await until_async(lambda: status(http, base), "clients")
            a.publish(gradient(), stream="cam1")
            assert (await _next_image(ws))["seq"] == 3
        assert a.status()["broker"] == "ok" and a.status()["task_errors"] == 0


async def until_async(fetch: Any, key: str, timeout: float = 15.0) -> dict[str, Any]:
    """Poll an async ``fetch()`` until its answer has a truthy ``key``."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(aiohttp.ClientError):
            value: dict[str, Any] = await fetch()
            if value.get(key):
                return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {key}")
        await asyncio.sleep(0.05)


async def test_publisher_restarted_numbers_on(redis: Redis, tmp_path: Path) -> None:
    """A publisher restarted from scratch goes on from the shared number: the edge's viewer
    gets its next image, never an older number that it would ignore."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(b), aiohttp.ClientSession() as http:
        async with running(a):
            for count in range(1, 4):
                a.publish(gradient(), stream="cam1")
                await until(lambda n=count: a.status()["frames_published"] == n)
            await until(lambda: (s := b._streams.get("cam1")) and s.latest and s.latest.seq == 3)
        again = node(tmp_path, "a2", redis.url)
        async with http.ws_connect(url(b) + "/s/cam1/ws") as ws, running(again):
            await until(lambda: b.status()["clients"] == 1)
            again.publish(gradient(), stream="cam1")
            assert (await _next_image(ws))["seq"] == 4


async def test_wrong_password_is_degraded_with_a_reason_that_hides_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis that wants a password refuses a wrong one: the node serves its own streams,
    says degraded with a clear reason, and neither the status nor the log shows the
    password; the right password connects."""
    redis = Redis(tmp_path / "redis", "--requirepass", "the-right-one")
    await redis.start()
    try:
        wrong = f"redis://:hunter2-wrong@127.0.0.1:{redis.port}/0"
        caplog.set_level(logging.INFO)
        a = node(tmp_path, "a", wrong)
        async with running(a), aiohttp.ClientSession() as http:
            await until(lambda: a.status()["broker_reason"] not in (None, "connecting"), 10)
            text = json.dumps(await status(http, url(a)))
            answer = json.loads(text)
            assert answer["broker"] == "degraded"
            assert "refused the credentials" in answer["broker_reason"]
            assert "password" in answer["broker_reason"]
            a.publish(gradient())
            await until(lambda: a.status()["latest_seq"] == 1, 5, "the local image")
        assert "hunter2-wrong" not in text
        assert "hunter2-wrong" not in caplog.text
        assert "refused the credentials" in caplog.text
        right = node(tmp_path, "b", f"redis://:the-right-one@127.0.0.1:{redis.port}/0")
        async with running(right):
            await _state(right, "ok")
        assert "the-right-one" not in caplog.text
    finally:
        redis.kill()


@contextlib.asynccontextmanager
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections, reads everything and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    port = free_port()
    server = await asyncio.start_server(swallow, "127.0.0.1", port)
    try:
        yield port
    finally:
        server.close()
        for writer in held:
            writer.close()
        await server.wait_closed()


async def test_broker_that_never_answers_is_degraded_not_hung(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broker address that accepts but never answers: the node starts without waiting for
    it, serves, says degraded ("did not answer") and stops promptly."""
    # The broker's deadline well above a start on loaded cores: a start that waited for the
    # broker would take all of it, one that does not takes a fraction.
    monkeypatch.setattr(broker_node, "IO_TIMEOUT", 6.0)
    async with silent_port() as port:
        a = node(tmp_path, "a", f"redis://127.0.0.1:{port}/0")
        began = time.monotonic()
        await a.astart()
        try:
            assert time.monotonic() - began < 5
            a.publish(gradient())
            await until(lambda: a.status()["latest_seq"] == 1, 5, "the local image")
            await until(lambda: "did not answer" in (a.status()["broker_reason"] or ""), 20)
            assert a.status()["broker"] == "degraded"
        finally:
            began = time.monotonic()
            await a.astop()
            assert time.monotonic() - began < 3
