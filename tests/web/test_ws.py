"""The /ws notification socket under stress: stalled clients, origins, many clients."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
from pathlib import Path

import aiohttp
import psutil
import pytest
from multidict import CIMultiDict

from framecast import ImageServer
from framecast.errors import ConfigError
from tests.conftest import LOCAL, base, gradient, next_json, until


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


async def test_a_stalled_client_is_evicted_even_when_no_frame_follows(work: Path) -> None:
    """A frame written by the fast path that the peer never takes: the client is evicted
    after send_timeout, though no further frame comes to find it stalled."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        send_timeout=0.5,
        heartbeat=None,
        max_metadata_bytes=16_000_000,
    )
    async with srv:
        _reader, writer = await raw_upgrade(srv.port)
        try:
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await until(lambda: srv.status()["clients"] == 1, what="client registered")
            # More than loopback's socket buffers hold (at most 4 MB sent + a 4 kB window).
            srv.publish(gradient(8, 8), metadata={"blob": "x" * 12_000_000})
            await until(lambda: srv.status()["clients_evicted"] == 1, timeout=10, what="eviction")
            await until(lambda: srv.status()["connections"] == 0, what="connection released")
            assert srv.status()["latest_seq"] == 1
        finally:
            writer.transport.abort()


async def test_a_client_stalled_by_small_frames_is_evicted_once_the_stream_goes_quiet(
    work: Path,
) -> None:
    """Small frames to a peer that stopped reading: the one that leaves bytes unsent, and one
    more after it (a small write returns before the peer takes it), are not the end of the
    deadline: with no further frame the client is evicted after send_timeout."""
    from framecast.web.liveclient import LiveClient

    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, send_timeout=0.5, heartbeat=None
    )
    async with srv:
        _reader, writer = await raw_upgrade(srv.port)
        try:
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await until(lambda: srv.status()["clients"] == 1, what="client registered")
            # The server's side of this one connection, to see when its bytes stop going (the
            # LiveClients of earlier tests in this process may not be collected yet).
            [client] = [
                o
                for o in gc.get_objects()
                if isinstance(o, LiveClient)
                and o.transport is not None
                and o.transport.get_extra_info("sockname")[1] == srv.port
            ]
            assert client.transport is not None
            blob = "x" * 20_000
            seq = 0
            while not client.transport.get_write_buffer_size():  # the kernel's buffers are full
                seq += 1
                srv.publish(gradient(8, 8), metadata={"blob": blob, "i": seq})
                await until(lambda n=seq: srv.status()["latest_seq"] == n, what=f"frame {seq}")
                assert seq < 2000, "the peer's socket never filled up"
            srv.publish(gradient(8, 8), metadata={"blob": blob, "i": seq + 1})  # one more
            await until(lambda: srv.status()["latest_seq"] == seq + 1, what="the last frame")
            await until(lambda: srv.status()["clients_evicted"] == 1, timeout=10, what="eviction")
            await until(lambda: srv.status()["connections"] == 0, what="connection released")
        finally:
            writer.transport.abort()


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


async def test_one_address_cannot_take_every_slot(work: Path) -> None:
    """Beyond max_clients_per_address from one address, /ws and /events are refused with
    503 and a one-line reason, counted; a slot freed by that address can be taken again."""
    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, max_clients=10, max_clients_per_address=2
    )
    async with srv, aiohttp.ClientSession() as http:
        first = await http.ws_connect(base(srv) + "/ws")
        second = await http.ws_connect(base(srv) + "/ws")
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await http.ws_connect(base(srv) + "/ws")
        assert info.value.status == 503
        async with http.get(base(srv) + "/events") as refused:
            assert refused.status == 503
            text = await refused.text()
        assert "too many connections from this address" in text and text.count("\n") == 1
        assert srv.status()["clients_refused"] == 2
        await first.close()
        await until(lambda: srv.status()["connections"] == 1, what="slot freed")
        async with http.ws_connect(base(srv) + "/ws"):
            pass
        await second.close()


@pytest.mark.parametrize("trusted", ["127.0.0.1", ""])
async def test_behind_a_trusted_proxy_each_client_has_its_own_cap(work: Path, trusted: str) -> None:
    """With the proxy's address in trusted_proxies, the per-address cap counts the client
    its X-Forwarded-For names (the entry the proxy appended, whatever the client put in
    front); from an untrusted peer the header is ignored, so it cannot dodge the cap."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        max_clients_per_address=1,
        trusted_proxies=trusted,
    )

    def via(client: str) -> dict[str, str]:
        return {"X-Forwarded-For": client}

    async with srv, aiohttp.ClientSession() as http:
        url = base(srv) + "/ws"
        first = await http.ws_connect(url, headers=via("192.0.2.1"))
        if trusted:
            second = await http.ws_connect(url, headers=via("192.0.2.7, 192.0.2.2"))
            spoofed = via("192.0.2.2, 192.0.2.1")  # claims .2, but the proxy saw .1
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await http.ws_connect(url, headers=spoofed)
            # the client's own line first, the proxy's line after it (HAProxy does this)
            two_lines = [("X-Forwarded-For", "192.0.2.99"), ("X-Forwarded-For", "192.0.2.1")]
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(url, headers=CIMultiDict(two_lines))
            await second.close()
        else:
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await http.ws_connect(url, headers=via("192.0.2.2"))
        assert info.value.status == 503
        assert srv.status()["clients_refused"] == (2 if trusted else 1)
        await first.close()


def test_a_trusted_proxy_must_be_an_address_or_network(work: Path) -> None:
    """A trusted_proxies entry that is not an IP address or network is refused at start with
    the option to fix, named as the Python API writes it."""
    with pytest.raises(ConfigError, match=r"'proxy\.lan' is not an IP address.*trusted_proxies="):
        ImageServer(work_folder=work, port=0, trusted_proxies="127.0.0.1, proxy.lan")


def server_sockets(port: int) -> int:
    """Open TCP sockets of this process on the server's side of ``port``."""
    return sum(
        1
        for c in psutil.Process().net_connections(kind="tcp")
        if c.laddr and c.laddr.port == port and c.status != psutil.CONN_LISTEN
    )


@pytest.mark.parametrize("dropped_by", ["send_timeout", "heartbeat"])
async def test_clients_that_never_read_release_their_sockets(work: Path, dropped_by: str) -> None:
    """200 /ws clients that never read while large messages are published: once evicted
    (send_timeout) or dropped by the heartbeat, their server-side sockets are closed at
    once (aborted, not left closing on unsent bytes) and the process's fds are back near
    the baseline, while the clients still hold their ends open."""
    timeouts = (
        {"send_timeout": 1.0, "heartbeat": None}
        if dropped_by == "send_timeout"
        else {"send_timeout": 60.0, "heartbeat": 2.0}  # time for all 200 to register first
    )
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, **timeouts)
    count = 200
    async with srv:
        baseline_fds = psutil.Process().num_fds()
        writers = []
        try:
            for _ in range(count):
                _reader, writer = await raw_upgrade(srv.port)
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                writers.append(writer)
            await until(lambda: srv.status()["clients"] == count, what="all clients registered")
            blob = {"blob": "x" * 1_000_000}
            for i in range(5):
                srv.publish(gradient(8, 8), metadata={**blob, "i": i})
                await until(lambda i=i: srv.status()["latest_seq"] == i + 1, what=f"frame {i + 1}")
            await until(lambda: srv.status()["connections"] == 0, timeout=20, what="all dropped")
            await until(
                lambda: server_sockets(srv.port) == 0, timeout=5, what="server sockets closed"
            )
            if dropped_by == "send_timeout":
                assert srv.status()["clients_evicted"] == count
            # Our own client ends are still open: only they remain above the baseline.
            assert psutil.Process().num_fds() <= baseline_fds + count + 10
        finally:
            for writer in writers:
                writer.transport.abort()
