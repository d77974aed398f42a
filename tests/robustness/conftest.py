"""The robustness suite's tools: a real ``framecast serve`` process, its memory and file
descriptors measured through psutil, hypothesis profiles, and the ``long`` marker.

The fast part runs in the default ``pytest`` run. Tests marked ``long`` run only with
``FRAMECAST_LONG=1`` (``scripts/robustness`` sets it); the same variable switches the
hypothesis profile from a few dozen examples to at least 2000 per parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import psutil
import pytest
import simplejpeg
from hypothesis import HealthCheck, settings

from tests.conftest import until as until  # re-exported for the suite's modules

LONG = os.environ.get("FRAMECAST_LONG", "") not in ("", "0")
FRAMECAST = [sys.executable, "-m", "framecast"]
MiB = 1024 * 1024
GiB = 1024 * MiB

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "framecast-fast", max_examples=40, deadline=None, database=None, suppress_health_check=_HEALTH
)
settings.register_profile(
    "framecast-long", max_examples=2000, deadline=None, database=None, suppress_health_check=_HEALTH
)
#: The hypothesis settings of every fuzz test (applied per test, never loaded globally).
FUZZ = settings.get_profile("framecast-long" if LONG else "framecast-fast")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "long: robustness at scale; runs only with FRAMECAST_LONG=1 (scripts/robustness)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LONG:
        return
    skip = pytest.mark.skip(
        reason="long robustness test: run scripts/robustness (FRAMECAST_LONG=1)"
    )
    for item in items:
        if item.get_closest_marker("long") is not None:
            item.add_marker(skip)


# -- deadlines -------------------------------------------------------------------------------


# -- images ----------------------------------------------------------------------------------


def small_jpeg(value: int = 0, width: int = 64, height: int = 48) -> bytes:
    """A small grey-ramp JPEG; ``value`` shifts the ramp so successive images differ."""
    row = (np.linspace(0, 200, width) + value % 50).astype(np.uint8)
    pixels = np.ascontiguousarray(np.tile(row, (height, 1))[:, :, None])
    data: bytes = simplejpeg.encode_jpeg(pixels, quality=80, colorspace="GRAY")
    return data


# -- the server process ----------------------------------------------------------------------


@dataclass
class Served:
    """A running ``framecast serve`` process on loopback and what it wrote."""

    process: subprocess.Popen[bytes]
    url: str
    work: Path
    stderr_path: Path
    options: tuple[str, ...] = field(default=())

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def _ps(self) -> psutil.Process:
        return psutil.Process(self.pid)

    def rss(self) -> int:
        """Resident memory now, in bytes."""
        return int(self._ps().memory_info().rss)

    def fds(self) -> int:
        """Open file descriptors now."""
        return int(self._ps().num_fds())

    def peak_rss(self) -> int:
        """Peak resident memory (VmHWM) since start or the last :meth:`reset_peak`."""
        text = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
        assert match, "VmHWM missing from /proc/PID/status"
        return int(match.group(1)) * 1024

    def reset_peak(self) -> None:
        """Make :meth:`peak_rss` start again from the current RSS (Linux clear_refs)."""
        with contextlib.suppress(OSError):
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def log(self) -> str:
        """Everything the server wrote to stderr so far."""
        return self.stderr_path.read_text(errors="replace")

    def status(self) -> dict[str, Any]:
        """``/api/status``, fetched with a plain blocking client (for sync tests)."""
        with urllib.request.urlopen(f"{self.url}/api/status", timeout=10) as response:
            value = json.loads(response.read())
        assert isinstance(value, dict)
        return value

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """kill -9, as a crash would."""
        self.process.kill()
        self.process.wait(15)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)


def _ceiling(limit: int | None) -> Any:
    if limit is None:
        return None

    def apply() -> None:  # runs in the child: a hard cap on its address space
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def start_server(
    folder: Path,
    *options: str,
    port: int = 0,
    work: Path | None = None,
    address_space: int | None = 3 * GiB,
    timeout: float = 30.0,
    program: Sequence[str] = FRAMECAST,
) -> Served:
    """Start ``framecast serve`` on ``127.0.0.1:port`` and wait for its URL.

    ``program`` is the command line before ``serve`` (another program taking ``framecast``'s
    arguments, such as :mod:`tests.robustness.commandserver`).

    ``address_space`` caps the process's virtual memory (RLIMIT_AS), so a defect that tries
    to allocate gigabytes fails inside the server instead of starving the machine.
    Standard output and error go to files in ``folder`` (a pipe could fill up and block the
    server while it logs).
    """
    folder.mkdir(parents=True, exist_ok=True)
    work = work if work is not None else folder / "work"
    stdout_path = folder / f"stdout-{time.monotonic_ns()}.txt"
    stderr_path = folder / f"stderr-{time.monotonic_ns()}.txt"
    command = [
        *program,
        "serve",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--displayed-address",
        "ip:127.0.0.1",
        "--work-folder",
        str(work),
        "--no-qr",
        *options,
    ]
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            preexec_fn=_ceiling(address_space),
        )
    deadline = time.monotonic() + timeout
    while True:
        match = re.search(r"serving at (\S+)", stdout_path.read_text(errors="replace"))
        if match:
            return Served(process, match.group(1).rstrip("/"), work, stderr_path, options)
        if process.poll() is not None:
            raise AssertionError(
                f"framecast serve exited with {process.returncode}: "
                f"{stderr_path.read_text(errors='replace')}"
            )
        if time.monotonic() > deadline:
            process.kill()
            process.wait(15)
            raise AssertionError(f"framecast serve printed no URL within {timeout} s")
        time.sleep(0.05)


@contextlib.contextmanager
def serving(folder: Path, *options: str, **kwargs: Any) -> Iterator[Served]:
    """:func:`start_server` as a context manager that always stops the process."""
    served = start_server(folder, *options, **kwargs)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A server with fast web files and short timeouts, for one test."""
    with serving(tmp_path, "--max-file-rate", "50") as server:
        yield server


# -- clients ---------------------------------------------------------------------------------


def timeout(total: float = 15.0) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=total)


async def next_new_image(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10.0) -> Any:
    """The next ``new_image`` message on a ``/ws`` socket (other messages are skipped)."""

    async def wait() -> Any:
        while True:
            message = await ws.receive()
            assert message.type == aiohttp.WSMsgType.TEXT, f"/ws ended: {message}"
            data = json.loads(message.data)
            if data.get("type") == "new_image":
                return data

    return await asyncio.wait_for(wait(), timeout)


async def post_image(
    session: aiohttp.ClientSession,
    served: Served,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    total: float = 15.0,
) -> tuple[int, Any]:
    """``POST /api/frames``: the status and the JSON answer (or the text if not JSON)."""
    async with session.post(
        f"{served.url}/api/frames",
        data=io.BytesIO(body) if len(body) > MiB else body,  # big bytes: aiohttp warns
        headers=headers or {},
        params=params,
        timeout=timeout(total),
    ) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


async def status_of(session: aiohttp.ClientSession, served: Served) -> dict[str, Any]:
    """``GET /api/status`` as JSON."""
    async with session.get(f"{served.url}/api/status", timeout=timeout()) as response:
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        return answer


async def check_still_publishing(served: Served, *, value: int = 7) -> None:
    """After an attack: no task died, a new image reaches a fresh /ws viewer with a higher
    seq, and /data.json answers 200 with it."""
    assert served.alive(), f"the server exited: {served.log()[-2000:]}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{served.url}/api/status", timeout=timeout()) as response:
            assert response.status == 200
            before = await response.json()
        async with session.ws_connect(
            f"{served.ws_url}/ws", timeout=aiohttp.ClientWSTimeout(5)
        ) as ws:
            status, answer = await post_image(session, served, small_jpeg(value))
            assert status == 202, f"publishing after the attack answered {status}: {answer}"
            seen = await next_new_image(ws)
            while seen["seq"] < (answer.get("seq") or 0):
                seen = await next_new_image(ws)
            assert seen["seq"] > before["latest_seq"]
        deadline = time.monotonic() + 10
        while True:
            async with session.get(f"{served.url}/data.json", timeout=timeout()) as response:
                assert response.status == 200, f"/data.json answered {response.status}"
                data = json.loads(await response.read())
            if data.get("framecast", {}).get("seq", 0) >= seen["seq"]:
                break
            assert time.monotonic() < deadline, "/data.json never showed the new image"
            await asyncio.sleep(0.05)
        async with session.get(f"{served.url}/api/status", timeout=timeout()) as response:
            after = await response.json()
    assert "task_errors" in after, "/api/status has no task_errors (the supervisor fix)"
    assert after["task_errors"] == 0, f"a task failed: {after.get('task_errors_by_task')}"
    assert "Traceback" not in served.log(), served.log()[-3000:]


def still_publishing(served: Served) -> None:
    """Blocking twin of :func:`check_still_publishing`, for hypothesis tests."""
    asyncio.run(check_still_publishing(served))


@contextlib.contextmanager
def memory_ceiling(extra: int) -> Iterator[None]:
    """Cap this process's address space at its current size + ``extra`` for the block, so
    a decoder that tries to allocate gigabytes raises MemoryError instead of taking the
    machine (the soft limit is restored afterwards)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    size = psutil.Process().memory_info().vms
    limit = size + extra if hard == resource.RLIM_INFINITY else min(hard, size + extra)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
