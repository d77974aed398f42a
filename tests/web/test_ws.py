"""The /ws notification socket under stress: stalled clients, origins, many clients."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from framecast import ImageServer

from ..conftest import LOCAL, base, gradient, next_json, until


async def test_a_stalled_client_does_not_delay_a_healthy_one(work: Path) -> None:
    """A client that never reads costs the healthy client nothing: it sees >= 95 % of images."""
    big_metadata = {"profile": list(range(3000))}  # ~15 KB per message fills buffers fast
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, send_timeout=2.0)
    await srv.astart()
    try:
        # The stalled client: a raw socket that completes the upgrade and then never reads.
        _reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.transport.set_write_buffer_limits(0)
        sock = writer.get_extra_info("socket")
        import socket as socket_module

        sock.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_RCVBUF, 4096)
        writer.write(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await writer.drain()
        async with aiohttp.ClientSession() as http, http.ws_connect(base(srv) + "/ws") as ws:
            await until(lambda: srv.status()["clients"] == 2, what="two clients")
            seen: list[int] = []
            total = 100
            for i in range(total):
                srv.publish(gradient(16, 16), metadata={**big_metadata, "i": i})
                message = await next_json(ws, timeout=5)
                seen.append(message["metadata"]["i"])
            assert len(seen) >= 0.95 * total
            assert seen[-1] == total - 1
        writer.close()
    finally:
        await srv.astop()


async def test_foreign_origin_is_refused(server: ImageServer, http: aiohttp.ClientSession) -> None:
    """A page from another origin cannot open the socket (403); same origin can."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await http.ws_connect(base(server) + "/ws", origin="http://evil.example")
    assert info.value.status == 403
    own = f"http://127.0.0.1:{server.port}"
    async with http.ws_connect(base(server) + "/ws", origin=own):
        pass


async def test_allowed_origin_list(work: Path) -> None:
    """An origin on the allow-list may connect."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        allowed_origins=("http://dashboard.lan:3000",),
    )
    async with (
        srv,
        aiohttp.ClientSession() as http,
        http.ws_connect(base(srv) + "/ws", origin="http://dashboard.lan:3000"),
    ):
        pass


async def test_many_clients_all_notified(server: ImageServer) -> None:
    """Fifty clients all receive the same new_image."""
    async with aiohttp.ClientSession() as http:
        sockets = [await http.ws_connect(base(server) + "/ws") for _ in range(50)]
        await until(lambda: server.status()["clients"] == 50, what="50 clients")
        server.publish(gradient(), metadata={"k": "v"})
        messages = await asyncio.gather(*(next_json(ws) for ws in sockets))
        assert {m["seq"] for m in messages} == {1}
        for ws in sockets:
            await ws.close()
    await until(lambda: server.status()["clients"] == 0, what="clients gone")


async def test_capacity_limit_refuses_cleanly(work: Path) -> None:
    """Beyond max_clients, a new socket is refused with 503 and counted."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_clients=2)
    async with srv, aiohttp.ClientSession() as http:
        a = await http.ws_connect(base(srv) + "/ws")
        b = await http.ws_connect(base(srv) + "/ws")
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await http.ws_connect(base(srv) + "/ws")
        assert info.value.status == 503
        assert srv.status()["clients_refused"] == 1
        await a.close()
        await b.close()


async def test_messages_from_clients_are_ignored_and_oversize_closes(server: ImageServer) -> None:
    """Text sent on /ws is ignored; a message over the size limit closes with 1009."""
    async with aiohttp.ClientSession() as http, http.ws_connect(base(server) + "/ws") as ws:
        await ws.send_str("hello")
        server.publish(gradient())
        assert (await next_json(ws))["type"] == "new_image"
        await ws.send_str("x" * 100_000)
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == 1009


async def test_no_compression_is_negotiated(server: ImageServer) -> None:
    """permessage-deflate offered by a client is declined (JPEG does not compress)."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(base(server) + "/ws", compress=15) as ws,
    ):
        assert ws.compress == 0
        server.publish(gradient())
        assert json.loads((await ws.receive()).data)["type"] == "new_image"


async def raw_upgrade(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open /ws with a hand-written handshake; the caller decides whether to ever read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await writer.drain()
    assert b"101" in await asyncio.wait_for(reader.readline(), 5)
    return reader, writer


async def test_a_client_that_stops_reading_is_evicted(work: Path) -> None:
    """When a client has not accepted a message within send_timeout it is disconnected."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, send_timeout=0.3)
    async with srv:
        _reader, writer = await raw_upgrade(srv.port)
        await until(lambda: srv.status()["clients"] == 1, what="client registered")
        payload = {"blob": "x" * 400_000}
        for i in range(60):
            srv.publish(gradient(8, 8), metadata={**payload, "i": i})
            await asyncio.sleep(0.02)
            if srv.status()["clients_evicted"]:
                break
        await until(lambda: srv.status()["clients_evicted"] == 1, timeout=10, what="eviction")
        await until(lambda: srv.status()["clients"] == 0, what="slot released")
        writer.close()


async def test_a_silent_peer_is_dropped_by_the_heartbeat(work: Path) -> None:
    """A client that never answers pings is disconnected after the heartbeat interval."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, heartbeat=0.2)
    async with srv:
        _reader, writer = await raw_upgrade(srv.port)
        await until(lambda: srv.status()["clients"] == 1, what="client registered")
        await until(lambda: srv.status()["clients"] == 0, timeout=5, what="heartbeat drop")
        writer.close()
