"""Alerts that need no open page (docs/together.md, "Alerts"), with a real webhook receiver on
a loopback port: one POST per crossing, retried after a failure, never delaying viewers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiohttp import web

from framecast import ImageServer
from framecast.errors import ConfigError
from framecast.web import webhooks
from tests.conftest import LOCAL, base, next_json, until

Answer = Callable[[int], web.StreamResponse]


class Receiver:
    """A webhook: records each POST's JSON; ``answer(n)`` says what the n-th POST gets."""

    def __init__(self, answer: Callable[[int], Any] | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.answer = answer
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.bodies.append(await request.json())
        if self.answer is not None:
            return await self.answer(len(self.bodies))
        return web.Response(text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    hook.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield hook
    finally:
        await runner.cleanup()


def _made(srv: ImageServer, stream: str) -> int:
    """The sequence number of the stream's newest frame (0 before its first)."""
    streams = srv._streams
    found = streams.get(stream) if streams is not None else None
    return found.latest.seq if found is not None and found.latest is not None else 0


def _server(work: Path, hook: Receiver, *rules: str, **options: Any) -> ImageServer:
    return ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        alerts=list(rules),
        alert_webhooks=[hook.url],
        **options,
    )


async def test_one_post_per_crossing_with_no_page_open(work: Path, receiver: Receiver) -> None:
    """With nobody watching, a metadata rule and a frame.max rule each POST once per crossing,
    with the documented JSON, and <stream>/api/alerts lists them newest first."""
    srv = _server(work, receiver, "cam1:temperature>25", "frame.max>200")
    async with srv, aiohttp.ClientSession() as http:
        plan = [(20, 10), (26, 250), (27, 250), (24, 100), (30, 100)]
        for seq, (temperature, peak) in enumerate(plan, 1):
            image = np.full((8, 8), 5, np.uint8)
            image[0, 0] = peak
            srv.publish(image, metadata={"temperature": temperature}, stream="cam1")
            await until(lambda n=seq: _made(srv, "cam1") == n, what=f"frame {seq} made")
        await until(lambda: len(receiver.bodies) == 3, what="three POSTs")
        by_rule = sorted((b["rule"], b["seq"]) for b in receiver.bodies)
        assert by_rule == [
            ("cam1:temperature>25", 2),
            ("cam1:temperature>25", 5),
            ("frame.max>200", 2),
        ]
        first = next(b for b in receiver.bodies if b["rule"] == "frame.max>200")
        assert set(first) == {"stream", "seq", "rule", "key", "value", "threshold", "time"}
        assert (first["stream"], first["key"], first["value"], first["threshold"]) == (
            "cam1",
            "frame.max",
            250,
            200,
        )
        async with http.get(base(srv) + "/s/cam1/api/alerts") as answer:
            listed = await answer.json()
        assert [a["seq"] for a in listed] == [5, 2, 2]  # newest first
        assert listed[0]["rule"] == "cam1:temperature>25"
        async with http.get(base(srv) + "/api/alerts") as answer:
            assert await answer.json() == []  # the default stream: nothing fired


async def test_a_failed_post_is_tried_again(
    work: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hook that answers 500 gets the same alert again; once it answers 200, the next POST
    is the next crossing's."""
    monkeypatch.setattr(webhooks, "RETRY_DELAYS", (0.05, 0.1))  # the schedule, not its length

    async def flaky(count: int) -> web.Response:
        return web.Response(status=500 if count == 1 else 200)

    receiver.answer = flaky
    srv = _server(work, receiver, "temperature>25")
    async with srv:
        srv.publish(np.zeros((4, 4), np.uint8), metadata={"temperature": 30})
        await until(lambda: len(receiver.bodies) == 2, timeout=10, what="the retry")
        assert receiver.bodies[0] == receiver.bodies[1]
        assert receiver.bodies[0]["value"] == 30
        for seq, temperature in [(2, 31), (3, 20), (4, 40)]:  # still above, below, above
            srv.publish(np.zeros((4, 4), np.uint8), metadata={"temperature": temperature})
            await until(lambda n=seq: _made(srv, "default") == n, what=f"frame {seq}")
        await until(lambda: len(receiver.bodies) == 3, what="the next crossing")
        assert receiver.bodies[2]["seq"] == 4


async def test_a_hanging_hook_never_delays_the_viewers(work: Path, receiver: Receiver) -> None:
    """While the hook takes every POST and never answers, a /ws viewer still gets each frame
    at once, and each crossing as an alert message (the viewer's banner)."""
    release = asyncio.Event()

    async def hang(count: int) -> web.Response:
        await release.wait()
        return web.Response()

    receiver.answer = hang
    srv = _server(work, receiver, "level>0.5", alert_webhook_timeout=30.0)
    try:
        async with srv, aiohttp.ClientSession() as http, http.ws_connect(base(srv) + "/ws") as ws:
            await until(lambda: srv.status()["clients"] == 1, what="the viewer")
            slowest = 0.0
            alerts = 0
            for i in range(20):
                started = time.monotonic()
                srv.publish(np.zeros((4, 4), np.uint8), metadata={"level": i % 2})
                while (message := await next_json(ws))["type"] != "new_image":
                    alerts += message["type"] == "alert"
                slowest = max(slowest, time.monotonic() - started)
                assert message["metadata"]["level"] == i % 2
            assert slowest < 1.0, f"a frame took {slowest:.2f} s to reach the viewer"
            # Each odd frame crossed; its alert came before or after its frame: read the rest.
            while alerts < 10:
                message = await next_json(ws)
                alerts += message["type"] == "alert"
            assert len(receiver.bodies) >= 1  # the hook took the first and hangs on it
    finally:
        release.set()


def test_a_malformed_rule_or_webhook_stops_the_construction(work: Path) -> None:
    """ImageServer(alerts=[...]) refuses a bad rule, a webhook that is not http(s), and a
    frame.* rule without raw data, with one line naming it."""
    with pytest.raises(ConfigError, match=r"'cam1:temperature=>3'.*alerts="):
        ImageServer(work_folder=work, alerts=["temperature>25", "cam1:temperature=>3"])
    with pytest.raises(ConfigError, match=r"'ftp://ops/hook'.*alert_webhooks="):
        ImageServer(work_folder=work, alerts=["t>1"], alert_webhooks=["ftp://ops/hook"])
    with pytest.raises(ConfigError, match=r"'frame.max>9'.*keep_raw=True"):
        ImageServer(work_folder=work, alerts=["frame.max>9"], keep_raw=False)
