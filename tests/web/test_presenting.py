"""Presenting on /ws (docs/together.md): the presenter's view reaches every viewer of the stream
as a small JSON message, needs the operator token when one is set, is size-limited, and ends
for everyone when the presenter stops or leaves."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp

from framecast import ImageServer
from framecast.runtime.deadline import within
from tests.conftest import LOCAL, base, gradient, next_json, until
from tests.web.test_ws import raw_upgrade


async def _present(ws: aiohttp.ClientWebSocketResponse, view: str, **extra: Any) -> None:
    await ws.send_str(json.dumps({"type": "present", "view": view, **extra}))


async def _next_of(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next message of type ``kind`` (frames' notifications are skipped)."""
    while True:
        message = await next_json(ws, timeout=5)
        if message.get("type") == kind:
            return message


async def _until_view(ws: aiohttp.ClientWebSocketResponse, view: str | None) -> dict[str, Any]:
    """Read ``presenter`` messages until one shows ``view``."""
    while True:
        message = await _next_of(ws, "presenter")
        if message["view"] == view:
            return message


async def test_fifty_followers_see_each_view_and_the_end(server: ImageServer) -> None:
    """50 viewers hear that someone presents, each of the presenter's views within 0.5 s,
    the last view of a burst, and the end when the presenter's socket closes; a viewer
    arriving later hears the current view at once."""
    url = base(server) + "/ws"
    async with aiohttp.ClientSession() as http, contextlib.AsyncExitStack() as stack:
        followers = await asyncio.gather(
            *(stack.enter_async_context(http.ws_connect(url)) for _ in range(50))
        )
        presenter = await stack.enter_async_context(http.ws_connect(url))
        await _present(presenter, "zoom=2.000&x=0.50000&y=0.40000")
        ident = (await _next_of(presenter, "presenting"))["id"]
        assert isinstance(ident, int)
        first = await asyncio.gather(*(_next_of(ws, "presenter") for ws in followers))
        assert {(m["id"], m["view"]) for m in first} == {(ident, "zoom=2.000&x=0.50000&y=0.40000")}

        started = time.monotonic()
        shown = "zoom=4.000&x=0.25000&y=0.40000&lv=10,200&cm=viridis"
        await _present(presenter, shown)
        second = await asyncio.gather(*(_next_of(ws, "presenter") for ws in followers))
        assert time.monotonic() - started < 0.5
        assert {m["view"] for m in second} == {shown}

        # A burst faster than the server sends: coalesced, and the last view always arrives.
        for i in range(20):
            await _present(presenter, f"zoom=5.000&x=0.{i:02d}000&y=0.40000")
        last = "zoom=5.000&x=0.19000&y=0.40000"
        await asyncio.gather(*(_until_view(ws, last) for ws in followers))

        async with http.ws_connect(url) as late:
            now = await _next_of(late, "presenter")
            assert now == {"type": "presenter", "id": ident, "view": last}

        await presenter.close()
        ended = await asyncio.gather(*(_until_view(ws, None) for ws in followers))
        assert {m["id"] for m in ended} == {ident}


async def _raw_text(reader: asyncio.StreamReader) -> bytes:
    """The payload of the next text message a raw WebSocket client reads (the server's
    frames are unmasked and, with no compression, each message is one frame)."""
    while True:
        head = await reader.readexactly(2)
        size = head[1] & 0x7F
        if size == 126:
            size = int.from_bytes(await reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await reader.readexactly(8), "big")
        payload = await reader.readexactly(size)
        if head[0] & 0x0F == 0x1:
            return payload


async def test_a_follower_that_stopped_reading_gets_the_latest_view(work: Path) -> None:
    """A follower whose socket is full (it stopped reading: a large frame is stuck in it)
    while the presenter changes its view ten times gets, once it reads again, the latest
    view: a busy viewer loses no view change for good."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        send_timeout=30.0,
        heartbeat=None,
        max_metadata_bytes=16_000_000,
    )
    async with srv, aiohttp.ClientSession() as http:
        reader, writer = await raw_upgrade(srv.port)
        try:
            while await within(reader.readline(), 5) != b"\r\n":  # the rest of the 101
                pass
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
            await until(lambda: srv.status()["clients"] == 1, what="the slow follower")
            # More than the socket buffers hold (a 256 KiB window, loopback's 4 MB at most).
            srv.publish(gradient(8, 8), metadata={"blob": "x" * 8_000_000})
            await until(lambda: srv.status()["latest_seq"] == 1, what="the large frame sent")
            url = base(srv) + "/ws"
            async with http.ws_connect(url) as presenter, http.ws_connect(url) as healthy:
                views = [f"zoom={z}.000&x=0.50000&y=0.50000" for z in range(1, 11)]
                for view in views:
                    await _present(presenter, view)
                    await _until_view(healthy, view)
                messages = 0
                while True:  # the slow follower reads again: the frame, then the notices
                    message = json.loads(await within(_raw_text(reader), 20))
                    messages += 1
                    if message == {"type": "presenter", "id": message.get("id"), "view": views[-1]}:
                        break
                assert messages < 12  # the frame and at most a few views, not each in turn
        finally:
            writer.transport.abort()


async def test_presenting_needs_the_operator_token(work: Path) -> None:
    """With an operator token set, a viewer without it is refused with a message and nobody
    hears of it; with the token in the message it presents, and stopping tells everyone."""
    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, token="op", viewer_token="see"
    )
    async with srv, aiohttp.ClientSession() as http:
        url = base(srv) + "/ws?token=see"
        async with http.ws_connect(url) as viewer, http.ws_connect(url) as other:
            await _present(viewer, "zoom=2.000&x=0.50000&y=0.50000")
            refused = await _next_of(viewer, "presenting")
            assert refused["id"] is None
            assert "operator token" in refused["error"]
            await _present(viewer, "zoom=2.000&x=0.50000&y=0.50000", token="op")
            ident = (await _next_of(viewer, "presenting"))["id"]
            heard = await _next_of(other, "presenter")
            assert heard == {
                "type": "presenter",
                "id": ident,
                "view": "zoom=2.000&x=0.50000&y=0.50000",
            }
            await viewer.send_str(json.dumps({"type": "stop_presenting"}))
            assert (await _next_of(other, "presenter"))["view"] is None


async def test_a_view_over_the_limit_is_refused(work: Path) -> None:
    """A view larger than max_view_bytes is refused with a message naming the setting, and
    the other viewers hear nothing of it."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_view_bytes=100)
    async with srv, aiohttp.ClientSession() as http:
        url = base(srv) + "/ws"
        async with http.ws_connect(url) as viewer, http.ws_connect(url) as other:
            await _present(viewer, "x" * 101)
            refused = await _next_of(viewer, "presenting")
            assert refused["id"] is None and "max_view_bytes" in refused["error"]
            await viewer.send_str("y" * 5000)  # not even JSON: refused as too large
            assert "max_view_bytes" in (await _next_of(viewer, "presenting"))["error"]
            try:
                message = await within(other.receive(), 0.3)
            except TimeoutError:
                message = None
            assert message is None
            await until(lambda: srv.status()["clients"] == 2, what="both still connected")


async def _next_event(events: aiohttp.ClientResponse, kind: str) -> dict[str, Any]:
    """The data of the next ``/events`` event named ``kind``, as JSON."""
    name = None
    while True:
        line = (await within(events.content.readline(), 5)).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name == kind:
            value: dict[str, Any] = json.loads(line[len("data: ") :])
            return value


async def test_a_page_on_events_hears_who_presents_and_the_alerts(work: Path) -> None:
    """A viewer on /events (a proxy that blocks WebSockets) hears at once who presents, each
    new view, the alerts with the stream's recent ones newest first, and the end."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, alerts=["level>0.5"])
    async with srv, aiohttp.ClientSession() as http, http.ws_connect(base(srv) + "/ws") as ws:
        presenter = ws  # the page that presents
        await _present(presenter, "zoom=2.000")
        ident = (await _next_of(presenter, "presenting"))["id"]
        events = await http.get(base(srv) + "/events")
        async with events:
            assert await _next_event(events, "presenter") == {
                "type": "presenter", "id": ident, "view": "zoom=2.000"
            }  # fmt: skip
            await _present(presenter, "zoom=3.000")
            assert (await _next_event(events, "presenter"))["view"] == "zoom=3.000"
            for seq, level in enumerate([1, 0, 1], 1):
                srv.publish(gradient(8, 8), metadata={"level": level})
                await until(lambda n=seq: srv.status()["latest_seq"] == n, what=f"frame {seq}")
            alert = await _next_event(events, "alert")
            while alert["seq"] != 3:
                alert = await _next_event(events, "alert")
            assert (alert["rule"], alert["value"]) == ("level>0.5", 1)
            assert [a["seq"] for a in alert["recent"]] == [3, 1]
            await presenter.close()
            assert await _next_event(events, "presenter") == {
                "type": "presenter", "id": ident, "view": None
            }  # fmt: skip
