"""Static serving: confined to the web folder, revalidated, never torn."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer
from tests.conftest import base, gradient, until


async def raw_get(port: int, target: str) -> bytes:
    """Send a request line exactly as given (no client-side path normalisation)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data


async def test_traversal_and_symlink_probes_return_nothing_outside(
    server: ImageServer, work: Path, tmp_path: Path
) -> None:
    """../, encoded ../, absolute paths and symlinks out of the folder all give 404."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    (work / "escape").symlink_to(secret)
    (work / "escape_dir").symlink_to(tmp_path)
    (work / ".hidden").write_text("TOP SECRET")
    (work / ".web_image.jpg.abc.tmp").write_text("TOP SECRET")
    probes = [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/icons/../../secret.txt",
        "//etc/passwd",
        "/escape",
        "/escape_dir/secret.txt",
        "/.hidden",
        "/.web_image.jpg.abc.tmp",
        "/icons/",
        "/icons",
        "/%5c..%5csecret.txt",
    ]
    for probe in probes:
        response = await raw_get(server.port, probe)
        status_line = response.split(b"\r\n", 1)[0]
        assert b"TOP SECRET" not in response, probe
        assert b"root:" not in response, probe
        assert status_line.split()[1] in (b"404", b"400", b"403"), (probe, status_line)


async def test_revalidation_with_etag(server: ImageServer, http: aiohttp.ClientSession) -> None:
    """A conditional request for an unchanged file is answered 304; a new image changes the ETag."""
    url = base(server) + "/web_image.jpg"
    async with http.get(url) as first:
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"] == "no-cache" and "Last-Modified" in first.headers
    async with http.get(url, headers={"If-None-Match": etag}) as again:
        assert again.status == 304
    server.publish(gradient())
    await until(lambda: server.status()["frames_published"] == 1, what="frame")

    async def etag_now() -> str:
        async with http.get(url) as response:
            return response.headers["ETag"]

    deadline = asyncio.get_running_loop().time() + 5
    while await etag_now() == etag:
        assert asyncio.get_running_loop().time() < deadline, "ETag did not change"
        await asyncio.sleep(0.02)


async def test_index_and_types(server: ImageServer, http: aiohttp.ClientSession) -> None:
    """/ is the viewer page; scripts and JSON carry proper content types."""
    async with http.get(base(server) + "/") as response:
        assert response.status == 200 and response.content_type == "text/html"
        assert "<html" in (await response.text()).lower()
    async with http.get(base(server) + "/openseadragon.min.js") as response:
        assert response.status == 200 and response.content_type == "text/javascript"
    async with http.get(base(server) + "/data.json") as response:
        assert response.content_type == "application/json"


async def test_concurrent_reads_while_replaced_are_never_torn(server: ImageServer) -> None:
    """300 concurrent fetches of web_image.jpg during rapid replacement all decode whole."""
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (120, 160), dtype=np.uint8) for _ in range(4)]
    stop = asyncio.Event()

    async def publisher() -> None:
        i = 0
        while not stop.is_set():
            server.publish(frames[i % 4])
            i += 1
            await asyncio.sleep(0.002)

    failures: list[str] = []

    async def fetch(session: aiohttp.ClientSession) -> None:
        async with session.get(base(server) + "/web_image.jpg") as response:
            body = await response.read()
            if response.status != 200:
                failures.append(f"status {response.status}")
                return
            if int(response.headers["Content-Length"]) != len(body) or not body.endswith(
                b"\xff\xd9"
            ):
                failures.append("torn body")
                return
            try:
                Image.open(io.BytesIO(body)).load()
            except Exception as exc:
                failures.append(f"undecodable: {exc}")

    task = asyncio.create_task(publisher())
    connector = aiohttp.TCPConnector(limit=300)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.wait_for(asyncio.gather(*(fetch(session) for _ in range(300))), 60)
    stop.set()
    await task
    assert failures == []
    assert server.status()["frames_published"] > 5


async def test_idle_connections_are_closed_by_the_keepalive_timeout(work: Path) -> None:
    """A half-sent request does not hold a connection open for long."""
    srv = ImageServer(
        work_folder=work, port=0, displayed_address="ip:127.0.0.1", keepalive_timeout=0.5
    )
    await srv.astart()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # server closed it
        writer.close()
    finally:
        await srv.astop()


async def test_qr_code_of_the_url(server: ImageServer, http: aiohttp.ClientSession) -> None:
    """/qr.svg is an SVG QR code of the displayed URL."""
    async with http.get(base(server) + "/qr.svg") as response:
        assert response.status == 200 and response.content_type == "image/svg+xml"
        assert response.headers["X-Framecast-Url"] == server.url
        assert b"<svg" in await response.read()


def test_assets_do_not_include_private_files(work: Path) -> None:
    """No temporary files are left in the web folder after a start/stop."""
    with ImageServer(work_folder=work, port=0, displayed_address="ip:127.0.0.1") as srv:
        srv.publish(gradient())
    assert not [p for p in os.listdir(work) if p.endswith(".tmp")]


async def test_image_and_data_are_never_behind_the_notification(work: Path) -> None:
    """Right after new_image N, /data.json and /web_image.jpg already show frame N,
    even when the files on disk are refreshed only once per second."""
    srv = ImageServer(work_folder=work, port=0, displayed_address="ip:127.0.0.1", max_file_rate=1)
    async with srv, aiohttp.ClientSession() as http, http.ws_connect(base(srv) + "/ws") as ws:
        await until(lambda: srv.status()["clients"] == 1, what="client registered")
        for n in range(1, 6):
            level = n * 40
            srv.publish(np.full((16, 16), level, np.uint8), metadata={"n": n})
            message = await asyncio.wait_for(ws.receive_json(), 5)
            assert message["seq"] == n
            async with http.get(base(srv) + "/data.json") as response:
                data = await response.json()
            assert data["n"] == n and data["framecast"]["seq"] == n
            async with http.get(base(srv) + "/web_image.jpg") as response:
                with Image.open(io.BytesIO(await response.read())) as image:
                    assert abs(np.asarray(image.convert("L")).mean() - level) < 3


async def test_control_characters_in_a_path_are_not_found(
    server: ImageServer, caplog: pytest.LogCaptureFixture
) -> None:
    """%00 and other encoded control characters in a static path give 404, never a 500 or
    a logged traceback; the viewer is still served afterwards."""
    for probe in ("/%00", "/index.html%00.txt", "/%01x", "/a%0d%0aSet-Cookie:%20x", "/%7f"):
        response = await raw_get(server.port, probe)
        status_line = response.split(b"\r\n", 1)[0]
        assert status_line.split()[1] in (b"404", b"400"), (probe, status_line)
    assert b" 200 " in (await raw_get(server.port, "/index.html")).split(b"\r\n", 1)[0]
    assert not any(r.exc_info for r in caplog.records)
