"""``/control`` on any node reaches the node that publishes the stream (docs/scale-out.md)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import aiohttp

from framecast.broker.codec import encode_frame
from framecast.imaging import DisplayOptions, encode
from framecast.live.frames import Frame
from tests.broker.conftest import Redis, node, running, url
from tests.conftest import gradient, until


async def _ask(http: aiohttp.ClientSession, address: str, command: dict[str, Any]) -> Any:
    async with http.ws_connect(address) as ws:
        await ws.send_json(command)
        msg = await asyncio.wait_for(ws.receive(), 15)
        return msg.json()


async def test_command_sent_to_an_edge_runs_on_the_publisher(redis: Redis, tmp_path: Path) -> None:
    """A command sent to node B for a stream node A publishes runs on A (its handler, its
    snapshot folder) and B's client gets A's reply; B's own streams answer locally."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    a.on_command("where", lambda fields: {"ok": True, "node": "A", "stream": fields["stream"]})
    b.on_command("where", lambda fields: {"ok": True, "node": "B", "stream": fields["stream"]})
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(gradient(), stream="cam1")
        b.publish(gradient(), stream="own")
        await until(lambda: (s := b._streams.get("cam1")) and s.latest, 10, "cam1 on B")
        reply = await _ask(http, url(b) + "/s/cam1/control", {"cmd": "where"})
        assert reply == {"ok": True, "node": "A", "stream": "cam1"}
        local = await _ask(http, url(b) + "/s/own/control", {"cmd": "where"})
        assert local == {"ok": True, "node": "B", "stream": "own"}
        saved = await _ask(http, url(b) + "/s/cam1/control", {"cmd": "snapshot_now"})
        assert saved["ok"] is True
        assert Path(saved["saved"]).is_relative_to((tmp_path / "a").resolve())
        assert await asyncio.to_thread(os.path.isfile, saved["saved"])


async def test_the_publisher_keeps_its_stream_limit_for_every_node(
    redis: Redis, tmp_path: Path
) -> None:
    """Commands for a stream node A publishes, sent through A and through B, share A's
    max_stream_command_burst: past it they are refused naming the stream and A's handler
    does not run; B's own connection limit refuses before forwarding anything."""
    limits = {"max_stream_command_burst": 3, "max_stream_command_rate": 0.01}
    a = node(tmp_path, "a", redis.url, **limits)
    b = node(tmp_path, "b", redis.url, max_command_burst=6, max_command_rate=0.01)
    ran: list[str] = []
    a.on_command("focus", lambda fields: ran.append(fields["stream"]))
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(gradient(), stream="cam1")
        await until(lambda: (s := b._streams.get("cam1")) and s.latest, 10, "cam1 on B")
        replies = [await _ask(http, url(a) + "/s/cam1/control", {"cmd": "focus"})]
        async with http.ws_connect(url(b) + "/s/cam1/control") as ws:
            for _ in range(7):
                await ws.send_json({"cmd": "focus"})
                replies.append((await asyncio.wait_for(ws.receive(), 15)).json())
    assert replies[:3] == [{"ok": True}] * 3
    assert all("for stream 'cam1' from all its clients" in r["reason"] for r in replies[3:7])
    assert "on this connection" in replies[7]["reason"]
    assert ran == ["cam1"] * 3


async def test_no_publisher_answers_when_it_is_gone(redis: Redis, tmp_path: Path) -> None:
    """Once the publishing node has stopped, a command for its stream gets the
    no-publisher reply at once (nobody listens on its channel)."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(b), aiohttp.ClientSession() as http:
        async with running(a):
            a.publish(gradient(), stream="cam1")
            await until(lambda: (s := b._streams.get("cam1")) and s.latest, 10, "cam1 on B")
        began = time.monotonic()
        reply = await _ask(http, url(b) + "/s/cam1/control", {"cmd": "snapshot_now"})
        assert reply == {"ok": False, "error": "no publisher answered"}
        assert time.monotonic() - began < 4.0  # not after broker_answer_timeout (5 s)


def _foreign_frame(stream: str, seq: int) -> Frame:
    encoded = encode(gradient(), DisplayOptions())
    return Frame(
        seq=seq,
        time=time.time(),
        jpeg=encoded.jpeg,
        width=encoded.width,
        height=encoded.height,
        metadata={},
        stream=stream,
    )


async def test_a_publisher_that_never_answers_gets_the_reply_after_the_timeout(
    redis: Redis, tmp_path: Path
) -> None:
    """A publisher that listens but never answers: after broker_answer_timeout the client is
    told ``{"ok": false, "error": "no publisher answered"}`` and the socket stays usable."""
    b = node(tmp_path, "b", redis.url, broker_answer_timeout=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", redis.port)
    try:
        channel = b"framecast:node:mute-node"
        writer.write(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel))
        await writer.drain()
        await asyncio.wait_for(reader.readuntil(b":1\r\n"), 5)  # subscribed
        async with running(b), aiohttp.ClientSession() as http:
            frame = encode_frame(_foreign_frame("cam9", 7), "mute-node")
            await redis.store("cam9", frame, 7, "mute-node")
            await until(lambda: (s := b._streams.get("cam9")) and s.latest, 10, "cam9 on B")
            async with http.ws_connect(url(b) + "/s/cam9/control") as ws:
                began = time.monotonic()
                await ws.send_json({"cmd": "reset"})
                reply = (await asyncio.wait_for(ws.receive(), 15)).json()
                waited = time.monotonic() - began
                assert reply == {"ok": False, "error": "no publisher answered"}
                assert 0.2 <= waited < 4.0  # the setting, not the 5 s default
                assert b"cam9" in await asyncio.wait_for(reader.read(65536), 5)  # it was asked
    finally:
        writer.close()
        await writer.wait_closed()
