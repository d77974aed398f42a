"""The real `framecast` command, started as a user would."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from tests.conftest import next_json

PYTHON = sys.executable


async def start_serve(
    *args: str,
    env: dict[str, str] | None = None,
    merged: bool = False,
    before: list[str] | None = None,
    program: tuple[str, ...] = ("-m", "framecast"),
) -> tuple[asyncio.subprocess.Process, str]:
    """Run `python -m framecast serve ...` (or ``program`` instead of ``-m framecast``) and
    return it with the URL it printed. With ``merged``, standard error goes into the same
    pipe, and ``before`` gets the lines that came before the URL's."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        *program,
        "serve",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merged else asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        if not line:
            err = await proc.stderr.read() if proc.stderr else b""
            raise AssertionError(f"framecast exited early: {err.decode()}{before or ''}")
        match = re.search(r"serving at (\S+)", line)
        if match:
            return proc, match.group(1)
        if before is not None:
            before.append(line)


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
        assert "left behind" not in (await proc.stderr.read()).decode()  # type: ignore[union-attr]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


#: framecast with a job in the loop's own thread pool (where command handlers and disk reads
#: run) that never returns, and one in a pool of its own (as a library's would be).
STUCK_THREAD = (
    "-c",
    "import asyncio, sys, threading\n"
    "from concurrent.futures import ThreadPoolExecutor\n"
    "from framecast import cli\n"
    "serve = cli._serve\n"
    "async def serve_with_a_stuck_job(*args, **options):\n"
    "    asyncio.get_running_loop().run_in_executor(None, threading.Event().wait)\n"
    "    await serve(*args, **options)\n"
    "cli._serve = serve_with_a_stuck_job\n"
    "ThreadPoolExecutor(1, thread_name_prefix='stuck-read').submit(threading.Event().wait)\n"
    "sys.argv[0] = 'framecast'\n"
    "cli.run()\n",
)


async def test_ctrl_c_ends_the_process_even_with_a_thread_that_never_returns(
    tmp_path: Path,
) -> None:
    """A thread stuck for ever (a hung network disk) cannot hold the process after Ctrl-C:
    it exits 0 within a few seconds and names the thread left behind."""
    proc, _url = await start_serve(
        "--no-qr",
        "--port",
        "0",
        "--work-folder",
        str(tmp_path / "w"),
        "--displayed-address",
        "ip:127.0.0.1",
        program=STUCK_THREAD,
    )
    try:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        err = (await proc.stderr.read()).decode()  # type: ignore[union-attr]
        assert "stuck-read" in err and "asyncio_0" in err and "left behind" in err
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_environment_configures_the_server(tmp_path: Path) -> None:
    """FRAMECAST_* variables work like flags (FRAMECAST_ALERT, the documented name of
    --alert's, gives the rule: a frame crossing it is listed at /api/alerts); SIGTERM stops
    cleanly."""
    work = tmp_path / "from-env"
    proc, url = await start_serve(
        "--no-qr",
        env={
            "FRAMECAST_PORT": "0",
            "FRAMECAST_WORK_FOLDER": str(work),
            "FRAMECAST_DISPLAYED_ADDRESS": "ip:127.0.0.1",
            "FRAMECAST_ALERT": "level>0.5",
        },
    )
    try:
        assert (work / "index.html").is_file()
        png = io.BytesIO()
        Image.new("L", (4, 4)).save(png, "PNG")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            headers = {"X-Framecast-Metadata": '{"level": 1}'}
            async with http.post(url + "api/frames", data=png.getvalue(), headers=headers) as r:
                assert r.status == 202, await r.text()

            async def listed() -> list[dict[str, object]]:
                async with http.get(url + "api/alerts") as answer:
                    return list(await answer.json())

            deadline = asyncio.get_running_loop().time() + 10
            while not (alerts := await listed()):
                assert asyncio.get_running_loop().time() < deadline, "no alert listed"
                await asyncio.sleep(0.05)
            assert [a["rule"] for a in alerts] == ["level>0.5"]
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
        (["serve", "--displayed-address", "lan"], "--displayed-address auto, ip:<address> or"),
        (["serve", "--stretch", "log"], "invalid choice"),
        (["serve", "--no-such-option"], "unrecognized"),
        (["simulate", "--port", "0"], "out of range"),
        (["serve", "--watch", __file__], "is not a folder"),
        (["serve", "--port", "abc"], "--port: expected a whole number from 1024 to 65535"),
        (["serve", "--heartbeat", "often"], "--heartbeat: expected a number (or 'off'"),
        (["simulate", "--rate", "fast"], "--rate: expected a number"),
        (["simulate", "-n", "0"], "--count must be at least 1"),
        (["serve", "--alert", "t>25", "--alert", "cam1:frame.median>3"], "'cam1:frame.median>3'"),
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
    assert "port=0" not in err.decode(), "the command speaks flags, not Python keywords"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["serve"],
            {"FRAMECAST_PORT": "abc"},
            "FRAMECAST_PORT: expected a whole number from 1024 to 65535",
        ),
        (["serve"], {"FRAMECAST_EXISTING": "maybe"}, "FRAMECAST_EXISTING: expected 1/0"),
        (["serve"], {"FRAMECAST_VERBOSE": "lots"}, "FRAMECAST_VERBOSE: expected a whole number"),
        (["simulate"], {"FRAMECAST_SIMULATE_PORT": "80"}, "port 80 is out of range"),
    ],
)
async def test_bad_environment_values_say_what_is_expected(
    args: list[str], env: dict[str, str], message: str
) -> None:
    """A bad FRAMECAST_* value exits 2 with one line naming it and the value expected."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "framecast",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    text = err.decode()
    assert proc.returncode == 2, text
    assert message in text
    assert "literal" not in text and "Traceback" not in text
    assert len(text.strip().splitlines()) == 1, text


async def serve_and_stop(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[str, str, str]:
    """Start `framecast serve`, SIGTERM it once the URL is out: URL, stdout after it, stderr."""
    proc, url = await start_serve(
        "--port", "0", "--work-folder", str(tmp_path / "w"), *args, env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        proc.terminate()
        out, err = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    return url, out.decode(), err.decode()


async def test_no_qr_from_the_environment(tmp_path: Path) -> None:
    """FRAMECAST_NO_QR=1 works like --no-qr: nothing but the URL and the goodbye on stdout."""
    _, out, _ = await serve_and_stop(
        tmp_path, "--displayed-address", "ip:127.0.0.1", env={"FRAMECAST_NO_QR": "1"}
    )
    assert out.strip() == "stopping…"
    assert "█" not in out and "▀" not in out


async def test_serve_without_a_source_says_how_to_feed_it(tmp_path: Path) -> None:
    """With no source, one log line names --watch, --zmq, --simulate and the ingest URL."""
    url, _, err = await serve_and_stop(tmp_path, "--no-qr", "--displayed-address", "ip:127.0.0.1")
    hints = [line for line in err.splitlines() if "no source" in line]
    assert len(hints) == 1, err
    for way in ("--watch", "--zmq", "--simulate", f"{url}api/frames"):
        assert way in hints[0]
    _, _, err = await serve_and_stop(
        tmp_path, "--no-qr", "--displayed-address", "ip:127.0.0.1", "--simulate"
    )
    assert "no source" not in err


async def test_everything_said_at_start_comes_before_the_url(tmp_path: Path) -> None:
    """Whoever waits for the printed URL (a script, a test counting log lines) has the whole
    start-up log by then: in the merged output the hint on feeding images comes first."""
    before: list[str] = []
    proc, _ = await start_serve(
        "--port",
        "0",
        "--no-qr",
        "--work-folder",
        str(tmp_path / "w"),
        "--displayed-address",
        "ip:127.0.0.1",
        merged=True,
        before=before,
    )
    proc.send_signal(signal.SIGINT)
    await asyncio.wait_for(proc.communicate(), 10)
    assert any("no source of images chosen" in line for line in before), before


async def test_the_url_is_printed_once(tmp_path: Path) -> None:
    """At start the URL appears once in the command's whole output."""
    url, out, err = await serve_and_stop(tmp_path, "--no-qr", "--displayed-address", "ip:127.0.0.1")
    # serve_and_stop's output starts after the "serving at URL" line: the URL must not recur.
    assert re.findall(re.escape(url) + r"(?!\S)", out + err) == [], out + err


async def test_serving_on_loopback_warns_once_to_change_host(tmp_path: Path) -> None:
    """--host 127.0.0.1 warns once, and says to change --host, not the displayed LAN address
    (only a reverse proxy's public URL, the other way in)."""
    _, out, err = await serve_and_stop(tmp_path, "--no-qr", "--host", "127.0.0.1")
    warnings = [line for line in (out + err).splitlines() if "other devices" in line]
    assert len(warnings) == 1, out + err
    assert "--host 0.0.0.0" in warnings[0] and "--displayed-address ip:" not in warnings[0]
    assert "reverse proxy show its public URL: --displayed-address https://" in warnings[0]


@pytest.mark.parametrize(
    ("argv", "count"),
    [(["serve"], None), (["-v", "serve"], 1), (["serve", "-vv"], 2), (["-v", "simulate"], 1)],
)
def test_verbose_goes_before_or_after_the_subcommand(argv: list[str], count: int | None) -> None:
    """-v counts wherever it is written; absent, the environment or the default decides."""
    from framecast.cli import build_parser

    assert build_parser().parse_args(argv).verbose == count
