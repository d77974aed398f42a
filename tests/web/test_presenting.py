"""Presenting on /ws (docs/together.md): the presenter's view reaches every viewer of the stream
as a small JSON message, needs the operator token when one is set, is size-limited, and ends
for everyone when the presenter stops or leaves."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from framecast import ImageServer
from framecast.runtime.deadline import within
from tests.conftest import LOCAL, base, next_json, until


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
