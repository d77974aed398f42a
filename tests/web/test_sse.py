"""/events read by a real HTTP client that parses the Server-Sent Events fields."""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from framecast import ImageServer
from framecast.web.sse import RETRY_MS, retry_hint
from tests.conftest import LOCAL, base, gradient, until


@dataclass
class Event:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)


async def next_event(response: aiohttp.ClientResponse, timeout: float = 5.0) -> Event:
    """Read one event (up to its blank line) as a browser's EventSource would parse it."""
    deadline = time.monotonic() + timeout
    event = Event()
    data: list[str] = []
    seen_field = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("timed out waiting for an event")
        raw = await asyncio.wait_for(response.content.readline(), remaining)
        if not raw:
            raise EOFError("the event stream ended")
        line = raw.decode().rstrip("\n").rstrip("\r")
        if not line:
            if seen_field:
                event.data = "\n".join(data)
                return event
            continue
        if line.startswith(":"):
            event.comments.append(line[1:].strip())
            seen_field = True
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        seen_field = True
        if name == "event":
            event.event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event.id = value
        elif name == "retry":
            event.retry = int(value)


async def next_real_event(response: aiohttp.ClientResponse, timeout: float = 5.0) -> Event:
    """The next event that carries data (skipping retry-only blocks and keep-alives)."""
    deadline = time.monotonic() + timeout
    while True:
        event = await next_event(response, max(0.01, deadline - time.monotonic()))
        if event.data:
            return event


async def test_stream_headers_retry_ids_and_disconnect(work: Path) -> None:
    """text/event-stream, no-cache, X-Accel-Buffering: no; a retry hint; new_image events
    whose ids increase and equal the seq; a disconnect event when the server stops."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    await srv.astart()
    stopped = False
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(base(srv) + "/events") as response,
        ):
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/event-stream")
            assert response.headers["Cache-Control"] == "no-cache"
            assert response.headers["X-Accel-Buffering"] == "no"
            first = await next_event(response)
            assert first.retry is not None and RETRY_MS <= first.retry < RETRY_MS + 2000
            await until(lambda: srv.status()["clients_by_kind"].get("events") == 1, what="sub")
            ids: list[int] = []
            for i in range(4):
                srv.publish(gradient(), metadata={"i": i})
                event = await next_real_event(response)
                assert event.event == "new_image"
                payload = json.loads(event.data)
                assert payload["type"] == "new_image" and payload["metadata"]["i"] == i
                assert event.id is not None and int(event.id) == payload["seq"]
                ids.append(int(event.id))
            assert ids == sorted(ids) and len(set(ids)) == 4
            stopping = asyncio.create_task(srv.astop())
            event = await next_real_event(response)
            assert event.event == "disconnect" and json.loads(event.data) == {"type": "disconnect"}
            await asyncio.wait_for(stopping, 5)
            stopped = True
    finally:
        if not stopped:
            await srv.astop()


async def test_fresh_client_gets_no_replay_and_resume_gets_current_state(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """Without Last-Event-ID nothing old is sent; with an older id, only the current image
    (not the ones in between); with the current id, nothing until the next image."""
    for i in range(3):
        server.publish(gradient(), metadata={"i": i})
        await until(lambda i=i: server.status()["latest_seq"] == i + 1, what=f"frame {i + 1}")
    async with http.get(base(server) + "/events") as response:
        await next_event(response)  # retry hint
        with pytest.raises((TimeoutError, AssertionError)):
            await next_real_event(response, timeout=0.3)
    async with http.get(base(server) + "/events", headers={"Last-Event-ID": "1"}) as response:
        event = await next_real_event(response)
        assert event.id == "3" and json.loads(event.data)["metadata"]["i"] == 2
    async with http.get(base(server) + "/events", headers={"Last-Event-ID": "3"}) as response:
        await next_event(response)
        await until(lambda: server.status()["clients_by_kind"].get("events") == 1, what="sub")
        server.publish(gradient(), metadata={"i": 3})
        event = await next_real_event(response)
        assert event.id == "4"


async def test_keepalive_comments_and_client_count(work: Path) -> None:
    """A quiet stream sends keep-alive comments; it counts as a client until it goes away."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, heartbeat=0.2)
    async with srv, aiohttp.ClientSession() as http:
        async with http.get(base(srv) + "/events") as response:
            await next_event(response)
            keepalive = await next_event(response, timeout=5)
            assert keepalive.comments and not keepalive.data
            assert srv.status()["clients_by_kind"] == {"events": 1}
        await until(lambda: srv.status()["clients"] == 0, what="stream client gone")


async def test_capacity_applies_to_event_streams(work: Path) -> None:
    """Beyond max_clients, /events is refused with 503."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_clients=1)
    async with (
        srv,
        aiohttp.ClientSession() as http,
        http.get(base(srv) + "/events") as response,
    ):
        await next_event(response)
        async with http.get(base(srv) + "/events") as refused:
            assert refused.status == 503


def test_retry_hint_has_jitter() -> None:
    """The advised reconnection delay varies between clients, within a bounded window."""
    rng = random.Random(5)
    hints = {retry_hint(rng) for _ in range(50)}
    assert len(hints) > 10
    assert all(RETRY_MS <= h < RETRY_MS + 2000 for h in hints)


async def test_private_session_needs_the_viewer_token(work: Path) -> None:
    """With a viewer token, /events and /frames answer 401 without it and work with it."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, viewer_token="view")
    async with srv, aiohttp.ClientSession() as http:
        async with http.get(base(srv) + "/events") as refused:
            assert refused.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await http.ws_connect(base(srv) + "/frames")
        assert info.value.status == 401
        async with http.get(base(srv) + "/events", params={"token": "view"}) as response:
            assert response.status == 200
            assert (await next_event(response)).retry is not None
        async with http.ws_connect(base(srv) + "/frames", params={"token": "view"}):
            pass


async def test_a_stream_that_stops_reading_is_evicted(work: Path) -> None:
    """An /events client that never reads is disconnected after send_timeout and counted;
    a healthy /ws client keeps getting every image meanwhile."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, send_timeout=1.0)
    big = {"profile": list(range(12_000))}
    async with srv, aiohttp.ClientSession() as http:
        stalled = await http.get(base(srv) + "/events")
        async with http.ws_connect(base(srv) + "/ws") as ws:
            await until(lambda: srv.status()["clients"] == 2, what="both clients")
            for i in range(400):
                srv.publish(gradient(8, 8), metadata={**big, "i": i})
                message = await asyncio.wait_for(ws.receive_json(), 5)
                assert message["metadata"]["i"] == i
                if srv.status()["clients_evicted"]:
                    break
            await until(lambda: srv.status()["clients_evicted"] == 1, timeout=10, what="evicted")
            await until(lambda: srv.status()["clients_by_kind"] == {"ws": 1}, what="one left")
        stalled.close()
