"""The HTTP send deadline on every route: a client that stops reading an answer is cut off
after send_timeout and counted; a slow client that keeps reading is not; live sockets keep
their own deadline."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest
import simplejpeg

from framecast import ImageServer
from tests.conftest import LOCAL, base, until

MiB = 1024 * 1024


async def stalled_get(
    port: int, path: str, *, source: str = "127.0.0.1", headers: str = "", stall: bool = True
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Send ``GET path`` from ``source``; with ``stall``, on a socket with a tiny receive
    buffer that reads no more than the first few kB of the answer (until the caller reads)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if stall:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind((source, 0))
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), 10)
        limit = 4096 if stall else 65536
        reader, writer = await asyncio.open_connection(sock=sock, limit=limit)
    except BaseException:
        sock.close()
        raise
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}\r\n"
    writer.write(request.encode())
    return reader, writer


async def read_all(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The Content-Length the answer announced and every byte of its body that arrives
    before the connection ends."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    body = bytearray()
    with contextlib.suppress(ConnectionError):
        while len(body) < length:
            chunk = await asyncio.wait_for(reader.read(65536), 10)
            if not chunk:
                break
            body += chunk
    return length, bytes(body)


def noise_jpeg(size: int = 2000) -> bytes:
    """A JPEG of noise: several MB, more than the kernel's buffers hold."""
    pixels = np.random.default_rng(4).integers(0, 255, (size, size, 3), dtype=np.uint8)
    data: bytes = simplejpeg.encode_jpeg(pixels, quality=98)
    return data


@pytest.fixture
async def jpeg_server(work: Path) -> AsyncIterator[tuple[ImageServer, int, int]]:
    """A server with a 1 s send deadline whose frame 1 is a noise JPEG of several MB; the
    server, the seq and the JPEG's size."""
    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=50, send_timeout=1.0
    )
    await srv.astart()
    try:
        jpeg = noise_jpeg()
        srv.publish(jpeg)
        await until(lambda: srv.status()["frames_published"] >= 1, 30, "the frame")
        assert len(jpeg) > 8 * MiB
        yield srv, srv.status()["latest_seq"], len(jpeg)
    finally:
        await srv.astop()


async def test_a_client_that_stops_reading_a_plain_answer_is_cut_off(
    jpeg_server: tuple[ImageServer, int, int],
) -> None:
    """A client that reads nothing of a several-MB /history/<seq>.jpg is cut off once
    send_timeout (1 s) passes: /api/status counts it, the server's connection is gone, and
    the client gets less than the Content-Length it was promised."""
    srv, seq, size = jpeg_server
    assert size > 4 * MiB
    reader, writer = await stalled_get(srv.port, f"/history/{seq}.jpg")
    try:
        started = time.monotonic()
        await until(lambda: srv.status()["http_answers_cut_off"] == 1, 15, "the cut-off")
        assert time.monotonic() - started >= 0.9
        length, body = await read_all(reader)
        assert length == size and len(body) < size
    finally:
        writer.transport.abort()


async def test_a_slow_client_that_keeps_reading_is_not_cut_off(
    jpeg_server: tuple[ImageServer, int, int],
) -> None:
    """A client reading at most 64 kB every 20 ms takes seconds over a 12 MB answer, far
    more than send_timeout (1 s), and still receives every byte: the deadline is on
    progress, not on the whole answer."""
    srv, seq, size = jpeg_server
    reader, writer = await stalled_get(srv.port, f"/history/{seq}.jpg", stall=False)
    try:
        started = time.monotonic()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert b" 200 " in head.split(b"\r\n", 1)[0]
        got = 0
        while got < size:
            chunk = await asyncio.wait_for(reader.read(65536), 10)
            assert chunk, f"the answer ended after {got} of {size} bytes"
            got += len(chunk)
            await asyncio.sleep(0.02)  # a slow reader, not a wait for readiness
        assert time.monotonic() - started > 2.0
        assert srv.status()["http_answers_cut_off"] == 0
    finally:
        writer.transport.abort()


async def test_live_sockets_keep_their_own_deadline_and_eviction(
    jpeg_server: tuple[ImageServer, int, int], http: aiohttp.ClientSession
) -> None:
    """A /frames socket that stops reading big frames is evicted by the live client's own
    deadline (clients_evicted), not cut off as an HTTP answer, and the server still
    answers plain requests."""
    srv, _seq, _size = jpeg_server
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", srv.port)), 10)
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    try:
        writer.write(
            f"GET /frames HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert b" 101 " in head.split(b"\r\n", 1)[0]
        for _ in range(3):
            srv.publish(noise_jpeg(1500))
        await until(lambda: srv.status()["clients_evicted"] == 1, 20, "the eviction")
        assert srv.status()["http_answers_cut_off"] == 0
        async with http.get(base(srv) + "/api/status") as response:
            assert response.status == 200
    finally:
        writer.transport.abort()
