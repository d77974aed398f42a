"""HTTPS and WSS with a certificate made by framecast.network.certificate, reached by a real TLS
client that trusts exactly that certificate."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from pathlib import Path

import aiohttp
import pytest

from framecast import ImageServer
from tests.conftest import gradient, https_server, next_json, until


@pytest.fixture
def tls_client(tls_server: tuple[ImageServer, Path]) -> tuple[ImageServer, ssl.SSLContext]:
    """The HTTPS server, and a client TLS context that trusts exactly its certificate."""
    srv, certfile = tls_server
    return srv, ssl.create_default_context(cafile=str(certfile))


async def test_https_get_and_wss_notifications(
    tls_client: tuple[ImageServer, ssl.SSLContext],
) -> None:
    """The URL is https; the viewer page and status come over TLS; wss:// /ws gets
    new_image, wss:// /frames gets the JPEG, and wss:// /control answers commands."""
    srv, context = tls_client
    root = f"https://127.0.0.1:{srv.port}"
    assert srv.url == f"https://127.0.0.1:{srv.port}/"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http:
        async with http.get(root + "/") as response:
            assert response.status == 200 and "<html" in (await response.text()).lower()
        async with http.get(root + "/api/status") as response:
            status = await response.json()
            assert status["tls"] is True and status["url"].startswith("https://")
        wss = f"wss://127.0.0.1:{srv.port}"
        async with (
            http.ws_connect(wss + "/ws") as ws,
            http.ws_connect(wss + "/frames") as frames,
            http.ws_connect(wss + "/control", params={"token": "op"}) as control,
        ):
            await until(lambda: srv.status()["clients"] == 2, what="two push clients")
            srv.publish(gradient(), metadata={"over": "tls"})
            message = await next_json(ws)
            assert message["type"] == "new_image" and message["metadata"]["over"] == "tls"
            binary = await frames.receive(timeout=5)
            assert binary.type == aiohttp.WSMsgType.BINARY and binary.data[:3] == b"\xff\xd8\xff"
            await control.send_str(json.dumps({"cmd": "snapshot_now"}))
            reply = await next_json(control)
            assert reply["ok"] is True and reply["saved"].endswith(".jpg")


async def test_untrusting_client_is_refused(
    tls_client: tuple[ImageServer, ssl.SSLContext],
) -> None:
    """A client that does not trust the self-signed certificate fails the TLS handshake,
    and plain HTTP on the TLS port gets no page."""
    srv, _context = tls_client
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await http.get(f"https://127.0.0.1:{srv.port}/api/status")
        with pytest.raises((aiohttp.ClientError, ConnectionError)):
            async with http.get(f"http://127.0.0.1:{srv.port}/api/status") as response:
                assert response.status >= 400
                raise aiohttp.ClientError("refused")


async def test_a_connection_without_client_hello_is_closed_after_handshake_timeout(
    tmp_path: Path,
) -> None:
    """A TCP connection to the HTTPS port that never starts the TLS handshake is closed by
    the server after handshake_timeout (not asyncio's 60 s)."""
    srv, _ = https_server(tmp_path, handshake_timeout=0.5)
    async with srv:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # EOF: closed by the server
        assert time.monotonic() - started < 5
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
