"""Usage errors of the real `framecast` command: each names the flag as typed, points at the
right --help, and comes before anything starts."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
import warnings
from pathlib import Path

import psutil
import pytest
import zmq

from framecast import cli

PYTHON = sys.executable


async def framecast(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    """Run `python -m framecast ARGS` to its end: exit status, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "framecast",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


UNKNOWN = "unrecognized arguments: {} (see framecast {} --help)"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["serve", "--no-such-option"], UNKNOWN.format("--no-such-option", "serve")),
        (["simulate", "--bogus", "1"], UNKNOWN.format("--bogus 1", "simulate")),
        (
            ["serve", "--jpeg-quality", "200"],
            "--jpeg-quality 200 is out of range; give a whole number from 1 to 100",
        ),
        (["serve", "--max-clients", "0"], "--max-clients must be at least 1, got 0"),
        (["serve", "--colormap", "nope"], "colormap 'nope' is unknown; give --colormap one of"),
        (["serve", "--port", "80"], "from 1024 to 65535 with --port (or --port 0 for"),
    ],
)
async def test_a_usage_error_names_the_flag_and_the_commands_help(
    tmp_path: Path, args: list[str], line: str
) -> None:
    """A bad flag is one line with status 2 that names the flag as typed (never the Python
    keyword) and, for an unknown one, the subcommand's own --help."""
    code, out, err = await framecast(*args, cwd=tmp_path)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("framecast: error: "), err
    assert line in err, err
    assert out == "" and not (tmp_path / "framecast-work").exists(), "nothing was started"


async def test_a_bad_zmq_address_is_a_usage_error_before_anything_starts(tmp_path: Path) -> None:
    """`--zmq nope` is refused before the server starts: one line, status 2, no port bound,
    no "framecast stopped", no work folder made."""
    code, out, err = await framecast(
        "serve", "--zmq", "nope", "--port", "0", "--no-qr", "--work-folder", str(tmp_path / "w")
    )
    assert code == 2
    assert err.splitlines() == [
        "framecast: error: zmq address 'nope' is not understood; use --zmq tcp://HOST:PORT "
        "(e.g. tcp://camera-host:9999)"
    ], err
    assert "serving at" not in out and not (tmp_path / "w").exists()


def _listening(pid: int, port: int) -> list[str]:
    """The addresses process ``pid`` listens on at ``port``."""
    return [
        c.laddr.ip
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("given", "bound"), [(["--host", "127.0.0.1"], "127.0.0.1"), ([], "0.0.0.0")]
)
async def test_simulate_listens_where_host_says(given: list[str], bound: str) -> None:
    """`framecast simulate --host 127.0.0.1` binds that address only (the default stays every
    IPv4 interface), and a receiver there gets its frames."""
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        PYTHON, "-m", "framecast", "simulate", *given, "--port", str(port), "--mode", "pub",
        "--rate", "50", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    context = zmq.Context()
    receiver = context.socket(zmq.SUB)
    try:
        deadline = time.monotonic() + 20
        while not _listening(proc.pid, port):
            assert proc.returncode is None and time.monotonic() < deadline, "not listening"
            await asyncio.sleep(0.05)
        assert _listening(proc.pid, port) == [bound]
        receiver.setsockopt(zmq.SUBSCRIBE, b"")
        receiver.setsockopt(zmq.RCVTIMEO, 10_000)
        receiver.connect(f"tcp://127.0.0.1:{port}")
        frames = await asyncio.to_thread(receiver.recv_multipart)
        assert len(frames) >= 3  # main header, data header, the channels
    finally:
        receiver.close(linger=0)
        context.term()
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.communicate(), 10)


def test_a_deprecated_option_is_one_warning_line(capsys: pytest.CaptureFixture[str]) -> None:
    """From the command, an old cache budget gives one line, `framecast: warning: …`, naming
    the flag to give instead (no file name, no source line)."""
    from framecast.config.settings import Settings
    from framecast.errors import spelling

    with warnings.catch_warnings(), spelling("flag"):
        warnings.simplefilter("always")
        warnings.showwarning = cli.show_warning
        Settings.build(max_decoded_cache_bytes=0)
    assert capsys.readouterr().err == (
        "framecast: warning: --max-decoded-cache-bytes: deprecated, tiles, answers and decoded "
        "pixels now share one budget; give --max-frame-cache-bytes 201326592 instead (used for "
        "this run)\n"
    )
