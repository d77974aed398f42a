"""/frames on real sockets: binary JPEG messages that decode as the published image."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer
from tests.conftest import LOCAL, base, gradient, until


async def next_binary(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> bytes:
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type == aiohttp.WSMsgType.BINARY, f"expected binary, got {msg.type}: {msg.data}"
    assert isinstance(msg.data, bytes)
    return msg.data


async def test_frames_are_jpegs_of_the_published_image(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """Each published image arrives as one binary message whose pixels match it."""
    async with http.ws_connect(base(server) + "/frames") as ws:
        await until(lambda: server.status()["clients_by_kind"].get("frames") == 1, what="sub")
        for flip in (False, True):
            image = gradient(96, 64)
            if flip:
                image = image[:, ::-1].copy()
            server.publish(image)
            data = await next_binary(ws)
            assert data[:3] == b"\xff\xd8\xff"
            with Image.open(io.BytesIO(data)) as decoded:
                assert decoded.format == "JPEG" and decoded.size == (96, 64)
                pixels = np.asarray(decoded.convert("L"), dtype=float)
            assert np.abs(pixels - image.astype(float)).mean() < 3


async def test_no_replay_no_compression_and_disconnect(work: Path) -> None:
    """A late client gets nothing old; deflate is declined; stop sends a text disconnect."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    await srv.astart()
    try:
        srv.publish(gradient())
        await until(lambda: srv.status()["latest_seq"] == 1, what="first frame")
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(base(srv) + "/frames", compress=15)
            assert ws.compress == 0
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.receive(), 0.3)
            receiving = asyncio.create_task(ws.receive())
            await asyncio.wait_for(srv.astop(), 5)
            msg = await asyncio.wait_for(receiving, 5)
            assert msg.type == aiohttp.WSMsgType.TEXT
            assert json.loads(msg.data) == {"type": "disconnect"}
            await ws.close()
    finally:
        await srv.astop()


async def test_foreign_origin_is_refused(server: ImageServer, http: aiohttp.ClientSession) -> None:
    """A page from another origin cannot open /frames (403)."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await http.ws_connect(base(server) + "/frames", origin="https://evil.example")
    assert info.value.status == 403
