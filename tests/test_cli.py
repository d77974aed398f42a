"""The real `framecast` command, started as a user would."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from .conftest import next_json

PYTHON = sys.executable


async def start_serve(
    *args: str, env: dict[str, str] | None = None
) -> tuple[asyncio.subprocess.Process, str]:
    """Run `python -m framecast serve ...` and return it with the URL it printed."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "framecast",
        "serve",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        if not line:
            err = await proc.stderr.read() if proc.stderr else b""
            raise AssertionError(f"framecast exited early: {err.decode()}")
        match = re.search(r"serving at (\S+)", line)
        if match:
            return proc, match.group(1)


async def test_serve_prints_url_and_qr_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """`framecast serve` prints the URL and a QR code; Ctrl-C sends disconnect and exits 0."""
    proc, url = await start_serve(
        "--port", "0", "--work-folder", str(tmp_path / "w"), "--displayed-address", "ip:127.0.0.1"
    )
    try:
        assert url.startswith("http://127.0.0.1:")
        qr = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()  # type: ignore[union-attr]
        qr += (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()  # type: ignore[union-attr]
        assert "█" in qr or "▀" in qr, "no QR code drawn"
        async with aiohttp.ClientSession() as http, http.ws_connect(url + "ws") as ws:
            async with http.get(url + "api/status") as response:
                assert (await response.json())["url"] == url
            proc.send_signal(signal.SIGINT)
            assert await next_json(ws, timeout=10) == {"type": "disconnect"}
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_environment_configures_the_server(tmp_path: Path) -> None:
    """FRAMECAST_* variables work like flags; SIGTERM stops cleanly."""
    work = tmp_path / "from-env"
    proc, _url = await start_serve(
        "--no-qr",
        env={
            "FRAMECAST_PORT": "0",
            "FRAMECAST_WORK_FOLDER": str(work),
            "FRAMECAST_DISPLAYED_ADDRESS": "ip:127.0.0.1",
        },
    )
    try:
        assert (work / "index.html").is_file()
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--port", "80"], "out of range"),
        (["serve", "--port", "abc"], "invalid"),
        (["serve", "--watch", "/nonexistent/folder"], "does not exist"),
        (["serve", "--displayed-address", "lan"], "auto or ip:"),
        (["serve", "--stretch", "log"], "invalid choice"),
        (["serve", "--no-such-option"], "unrecognized"),
        (["simulate", "--port", "0"], "out of range"),
    ],
)
async def test_command_line_errors_are_one_line_with_status_2(
    args: list[str], message: str
) -> None:
    """Bad options exit 2 with a single line on stderr and no traceback."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "framecast",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    text = err.decode()
    assert proc.returncode == 2, text
    assert message in text
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) == 1, text


async def test_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    """A port held by another process gives one actionable line and status 2."""
    import socket

    with socket.socket() as other:
        other.bind(("0.0.0.0", 0))
        other.listen()
        port = other.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            PYTHON,
            "-m",
            "framecast",
            "serve",
            "--port",
            str(port),
            "--work-folder",
            str(tmp_path / "w"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert f"port {port} is in use" in err.decode() and "--port" in err.decode()
    assert "Traceback" not in err.decode()
