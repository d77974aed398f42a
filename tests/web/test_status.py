"""``/api/status`` and ``ImageServer.status()``: one report, every key documented in
docs/status.md (and every documented key reported), every counter reset by ``reset``."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from framecast import ImageServer
from framecast.config.settings import Settings
from framecast.live.counters import ServerCounters, StreamCounters
from tests.broker.conftest import Redis
from tests.conftest import LOCAL, base, gradient, next_json, until

DOCS = Path(__file__).resolve().parents[2] / "docs" / "status.md"
#: The section of docs/status.md that explains the keys of each stream's entry.
STREAM_SECTION = "## Each stream"
#: Keys whose value differs between two reads of an idle server.
MOVING = {"uptime"}


def documented() -> tuple[set[str], set[str]]:
    """The keys docs/status.md explains: the top-level ones, and those of each stream's
    entry (under :data:`STREAM_SECTION`). A key is a name in backticks in the first column
    of a table."""
    top: set[str] = set()
    per_stream: set[str] = set()
    names = top
    for line in DOCS.read_text().splitlines():
        if line.startswith("## "):
            names = per_stream if line.startswith(STREAM_SECTION) else top
        elif line.startswith("|") and not line.startswith("|---"):
            first = line.split("|")[1]
            names.update(re.findall(r"`([a-z_]+)`", first))
    return top, per_stream


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[Redis]:
    server = Redis(tmp_path / "redis")
    await server.start()
    try:
        yield server
    finally:
        server.kill()


async def reports(srv: ImageServer, http: aiohttp.ClientSession) -> list[dict[str, Any]]:
    """What a user reads of ``srv``: ``/api/status``, ``status()`` (checked to be the same
    report: same keys, same values but the uptime, which moves) and a stream's
    ``/s/cam1/api/status``, after images on two streams."""
    srv.publish(gradient(), stream="default")
    srv.publish(gradient(), stream="cam1")
    await until(lambda: srv.status()["frames_published"] == 2, 20, "both images shown")
    if srv.settings.broker is not None:
        await until(lambda: srv.status()["broker_frames_sent"] == 2, 20, "both on the broker")
    found = []
    for path in ("/api/status", "/s/cam1/api/status"):
        async with http.get(base(srv) + path) as response:
            assert response.status == 200
            found.append(await response.json())
    here = srv.status()
    assert {k: v for k, v in here.items() if k not in MOVING} == {
        k: v for k, v in found[0].items() if k not in MOVING
    }, "status() answers what GET /api/status does"
    return [*found, here]


async def test_status_md_documents_exactly_the_keys_reported(
    tmp_path: Path, http: aiohttp.ClientSession, redis: Redis
) -> None:
    """Every key /api/status and status() report, with and without a broker, at the root and
    for a stream, is explained in docs/status.md (each stream's entry under "Each stream"),
    every key explained there is reported, and every limit is a setting. status() is the
    same report as /api/status."""
    seen: list[dict[str, Any]] = []
    for name, broker in (("alone", None), ("shared", redis.url)):
        srv = ImageServer(
            work_folder=tmp_path / name, port=0, displayed_address=LOCAL, broker=broker
        )
        await srv.astart()
        try:
            seen += await reports(srv, http)
        finally:
            await srv.astop()
    assert {"off", "ok"} <= {report["broker"] for report in seen}
    top = set().union(*seen)
    per_stream = set().union(*(entry for report in seen for entry in report["streams"].values()))
    top_documented, stream_documented = documented()
    assert sorted(top - top_documented) == [], "reported, missing from docs/status.md"
    assert sorted(top_documented - top) == [], "in docs/status.md, never reported"
    assert sorted(per_stream - stream_documented) == [], "a stream's, missing from the docs"
    assert sorted(stream_documented - per_stream) == [], "documented for a stream, not reported"
    settings = {item.name for item in dataclasses.fields(Settings)}
    assert sorted(set().union(*(report["limits"] for report in seen)) - settings) == []


async def test_reset_zeroes_every_counter_reported(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """Each counter the server and its streams hold shows in /api/status under its own name
    (a stream's summed over the streams); the default stream's reset zeroes them all, the
    server's and its own, and /s/cam1/control's reset only cam1's."""
    server.publish(gradient(), stream="cam1")
    await until(lambda: server.status()["frames_published"] == 1, what="cam1's image shown")
    running = server._running
    assert running is not None
    context = running.context
    mine = [item.name for item in dataclasses.fields(ServerCounters)]
    theirs = [item.name for item in dataclasses.fields(StreamCounters) if item.init]
    for number, name in enumerate(mine, start=1):
        setattr(context.counters, name, number)
    for stream in running.streams:
        for number, name in enumerate(theirs, start=1):
            setattr(stream.counters, name, 100 * number)

    async def status() -> dict[str, Any]:
        async with http.get(base(server) + "/api/status") as response:
            found: dict[str, Any] = await response.json()
            return found

    before = await status()
    assert set(mine) - set(before) == {"broker_raw_joined"}, "reported with a broker only"
    mine.remove("broker_raw_joined")
    assert {name: before[name] for name in mine} == {
        name: n for n, name in enumerate(mine, start=1)
    }
    assert {name: before[name] for name in theirs} == {
        name: 200 * n for n, name in enumerate(theirs, start=1)
    }, "each stream's counter, summed over the default stream and cam1"
    async with http.ws_connect(base(server) + "/s/cam1/control") as ws:
        await ws.send_json({"cmd": "reset"})
        assert await next_json(ws) == {"ok": True, "counters": "reset"}
    after_cam1 = await status()
    assert after_cam1["frames_published"] == 400, "the default stream's are left"
    assert after_cam1["clients_refused"] == before["clients_refused"], "and the server's"
    async with http.ws_connect(base(server) + "/control") as ws:
        await ws.send_json({"cmd": "reset"})
        assert await next_json(ws) == {"ok": True, "counters": "reset"}
    after = await status()
    assert {name: after[name] for name in (*mine, *theirs)} == dict.fromkeys((*mine, *theirs), 0)
    assert after["frames_dropped"] == after["client_skips"] == 0
    assert after["streams"]["cam1"]["frames_published"] == 0
