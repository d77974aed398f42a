"""Frames and messages read from the broker are hostile input: each bad one is skipped
and logged (at most once per interval), and the node goes on (issue 13 item 3)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest

from framecast.broker.codec import encode_announcement, encode_frame
from tests.broker.conftest import Redis, node, running, status, url
from tests.broker.test_forwarding import _foreign_frame
from tests.conftest import gradient, until


async def test_garbage_on_the_broker_is_skipped_and_the_node_goes_on(
    redis: Redis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage announcements, a stored frame that is not a frame, one whose JPEG is not a
    JPEG, one over the size limit and a bad control message: the edge shows none of them,
    logs one line, counts them, and still shows the next good image."""
    caplog.set_level(logging.WARNING, logger="framecast.broker")
    a = node(tmp_path, "a", redis.url)
    b = node(tmp_path, "b", redis.url, max_ingest_bytes=4096, max_metadata_bytes=1024)
    async with running(a, b), aiohttp.ClientSession() as http:
        await until(lambda: b.status()["broker"] == "ok", 10)
        good = encode_frame(_foreign_frame("bad1", 3), "intruder")
        cases = {
            "bad1": good[:-200] + b"\x00" * 200,  # cut JPEG: its size no longer checks out
            "bad2": b"not a frame at all",
            "bad3": good.replace(b"\xff\xd8\xff", b"GIF89", 1),
            "bad4": good + b"\x00" * 8192,  # over max_ingest_bytes + max_metadata_bytes
        }
        for name, blob in cases.items():
            await redis.command("SET", f"framecast:frame:{name}", blob)
            await redis.command("PUBLISH", "framecast:frames", encode_announcement(name, 3, "x"))
        for junk in (b"{", b"[]", b'{"stream": "../etc", "seq": 1, "node": "x"}', b"\xff" * 600):
            await redis.command("PUBLISH", "framecast:frames", junk)
        await redis.command("PUBLISH", f"framecast:node:{b.status()['broker_node']}", b"{{{")
        await until(lambda: b.status()["broker_rejected"] >= 8, 10, "every bad message")
        a.publish(gradient(), stream="cam1")
        await until(lambda: (s := b._streams.get("cam1")) and s.latest, 10, "the good image")
        answer = await status(http, url(b))
        assert answer["broker"] == "ok" and answer["task_errors"] == 0
        assert not any(b._streams.get(name).latest for name in cases if b._streams.get(name))
        lines = [r for r in caplog.records if "skipped" in r.getMessage()]
        assert len(lines) == 2, [r.getMessage() for r in lines]  # one per node (A hears it too)
        assert not any(r.exc_info for r in caplog.records)


async def test_the_broker_url_password_is_never_shown(tmp_path: Path, redis: Redis) -> None:
    """A password in the broker URL appears neither in /api/status nor in the settings'
    repr, while the node works."""
    secret_url = f"redis://:pa55-w0rd@127.0.0.1:{redis.port}/0"
    a = node(tmp_path, "a", secret_url)
    async with running(a), aiohttp.ClientSession() as http:
        await until(
            lambda: (
                a.status()["broker"] in ("ok", "degraded")
                and a.status()["broker_reason"] != "connecting"
            ),
            10,
        )
        text = json.dumps(await status(http, url(a)))
        assert "pa55-w0rd" not in text
        assert "pa55-w0rd" not in repr(a.settings)


async def test_without_a_broker_the_status_says_off(tmp_path: Path) -> None:
    """A node without --broker says ``"broker": "off"``."""
    from framecast import ImageServer
    from tests.conftest import LOCAL

    server = ImageServer(work_folder=tmp_path / "w", port=0, displayed_address=LOCAL)
    async with running(server):
        answer = server.status()
        assert answer["broker"] == "off" and answer["broker_reason"] is None


async def test_ingest_on_an_edge_publishes_to_every_node(redis: Redis, tmp_path: Path) -> None:
    """An image POSTed to an edge's ingest reaches the viewers of every node."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        await until(lambda: a.status()["broker"] == "ok", 10)
        body = _foreign_frame("x", 1).jpeg
        async with http.post(url(b) + "/s/pushed/api/frames", data=body) as response:
            assert response.status == 202, await response.text()
            seq = (await response.json())["seq"]
        stream = await until(lambda: a._streams.get("pushed"), 10, "the pushed stream on A")
        await until(lambda: stream.latest and stream.latest.seq == seq, 10)
