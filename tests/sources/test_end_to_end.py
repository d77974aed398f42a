"""End to end: the real ``framecast serve`` command with --watch, --zmq and --simulate."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import simplejpeg
from PIL import Image

from tests.sources.conftest import free_port

pytestmark = pytest.mark.slow

FRAMECAST = [sys.executable, "-m", "framecast"]


@contextlib.asynccontextmanager
async def serving(*options: str, work: Path) -> AsyncIterator[str]:
    """Run ``framecast serve`` on a free port; yield its URL; stop it with SIGTERM."""
    process = await asyncio.create_subprocess_exec(
        *FRAMECAST,
        "serve",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--displayed-address",
        "ip:127.0.0.1",
        "--work-folder",
        str(work),
        "--no-qr",
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        url = None
        while url is None:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            if not line:
                assert process.stderr is not None
                errors = await asyncio.wait_for(process.stderr.read(), 5)
                raise AssertionError(f"framecast serve exited: {errors.decode()}")
            match = re.search(r"serving at (\S+)", line.decode())
            url = match.group(1).rstrip("/") if match else None
        yield url
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def next_new_image(
    ws: aiohttp.ClientWebSocketResponse, timeout: float = 20
) -> dict[str, Any]:
    """The next ``new_image`` notification on /ws (other message types are skipped)."""

    async def wait() -> dict[str, Any]:
        while True:
            message = await ws.receive()
            assert message.type == aiohttp.WSMsgType.TEXT, message
            data = json.loads(message.data)
            if data.get("type") == "new_image":
                return dict(data)

    return await asyncio.wait_for(wait(), timeout)


def png16() -> bytes:
    """A 16-bit PNG of a faint spot on a dark background."""
    y, x = np.mgrid[0:90, 0:120]
    frame = 1000 + 3000 * np.exp(-((x - 50) ** 2 + (y - 40) ** 2) / 200.0)
    buffer = io.BytesIO()
    Image.fromarray(frame.astype(np.uint16)).save(buffer, format="PNG")
    return buffer.getvalue()


async def data_json(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(f"{url}/data.json", timeout=aiohttp.ClientTimeout(total=10)) as r:
        return dict(await r.json(content_type=None))


async def test_serve_watch_publishes_new_files_and_survives_bad_ones(tmp_path: Path) -> None:
    """--watch: a text file and a corrupt PNG are skipped; the next 16-bit PNG reaches /ws."""
    watched = tmp_path / "captures"
    watched.mkdir()
    async with (
        serving("--watch", str(watched), work=tmp_path / "work") as url,
        aiohttp.ClientSession() as session,
    ):
        ws_url = url.replace("http://", "ws://") + "/ws"
        async with session.ws_connect(ws_url, timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
            (watched / "notes.png").write_text("not an image")
            data = png16()
            (watched / "broken.png").write_bytes(data[:60] + b"\x00" * (len(data) - 60))
            (watched / "frame1.png").write_bytes(data)
            first = await next_new_image(ws)
            assert isinstance(first["seq"], int)

            meta = await until_async(lambda: data_json(session, url), "file")
            while meta["file"] != "frame1.png":  # data.json follows at max_file_rate
                meta = await until_async(lambda: data_json(session, url), "file")
            async with session.get(f"{url}/web_image.jpg") as response:
                jpeg = await response.read()
            shown = simplejpeg.decode_jpeg(jpeg, colorspace="GRAY")[:, :, 0]
            assert shown.min() < 40 and shown.max() > 200  # 16-bit data stretched


async def test_serve_zmq_shows_the_simulate_command(tmp_path: Path) -> None:
    """`framecast simulate` → `framecast serve --zmq`: frames and beam metadata reach the viewer."""
    port = free_port()
    sender = await asyncio.create_subprocess_exec(
        *FRAMECAST,
        "simulate",
        "--port",
        str(port),
        "--rate",
        "20",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with (
            serving("--zmq", f"tcp://127.0.0.1:{port}", work=tmp_path / "work") as url,
            aiohttp.ClientSession() as session,
        ):
            ws_url = url.replace("http://", "ws://") + "/ws"
            async with session.ws_connect(ws_url) as ws:
                seqs = [(await next_new_image(ws))["seq"] for _ in range(3)]
            assert seqs == sorted(seqs) and len(set(seqs)) == 3
            meta = await until_async(lambda: data_json(session, url), "beam_energy")
            assert 5 < meta["beam_energy"] < 7
            assert len(meta["image_profile_x"]) == 640
    finally:
        if sender.returncode is None:
            sender.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(sender.wait(), 10)
        except TimeoutError:
            sender.kill()
            await sender.wait()


async def test_serve_simulate_publishes_frames(tmp_path: Path) -> None:
    """--simulate: the built-in camera's frames are announced on /ws."""
    async with (
        serving("--simulate", "--simulate-rate", "20", work=tmp_path / "work") as url,
        aiohttp.ClientSession() as session,
        session.ws_connect(url.replace("http://", "ws://") + "/ws") as ws,
    ):
        first = await next_new_image(ws)
        second = await next_new_image(ws)
    assert second["seq"] > first["seq"]


async def until_async(fetch: Any, key: str, timeout: float = 20.0) -> dict[str, Any]:
    """Fetch JSON repeatedly until it has ``key``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await fetch()
        if key in value:
            return dict(value)
        assert asyncio.get_running_loop().time() < deadline, f"no {key} in {value}"
        await asyncio.sleep(0.1)
