"""Shared fixtures: real servers on loopback port 0, real clients, deadlines instead of sleeps."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from framecast import ImageServer
from tests import workers

LOCAL = "ip:127.0.0.1"

#: Seconds before a test's pytest-timeout at which its pending asyncio tasks are printed.
TASK_DUMP_MARGIN = 5.0


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``-n N --dist loadgroup`` (scripts/test), tests are grouped as tests/workers.py
    says: the timing-sensitive ones one after another, a browser module on one worker."""
    if config.getoption("dist", "no") != "loadgroup":
        return None
    return workers.scheduler(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, the longest work comes first (tests/workers.py)."""
    if hasattr(config, "workerinput"):
        workers.order(items)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """On an xdist worker, tests outside the serial group yield the CPU to it."""
    if hasattr(item.config, "workerinput"):
        workers.prioritise(item)


def _pending_tasks() -> list[asyncio.Task[Any]]:
    for _attempt in range(5):  # the loop's thread may add a task while this one copies
        try:
            # Private, for diagnosis only: every loop's tasks, read from this thread.
            return [t for t in list(asyncio.tasks._all_tasks) if not t.done()]  # type: ignore[attr-defined]
        except RuntimeError:
            continue
    return []


def _print_pending_tasks(test: str) -> None:
    """Print the stack of every pending asyncio task: pytest-timeout prints threads, and a
    hung async test is a task waiting for something that never comes."""
    tasks = _pending_tasks()
    print(
        f"\n+++ {test}: {len(tasks)} pending asyncio task(s) before the timeout +++",
        file=sys.stderr,
    )
    for task in tasks:
        print(f"--- {task!r}", file=sys.stderr)
        task.print_stack(limit=12, file=sys.stderr)


@pytest.fixture(autouse=True)
def _tasks_printed_before_timeout(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test about to hit its timeout prints its pending tasks first (the stacks that say
    what it waits for; CI's log is often all there is to go on)."""
    marker = request.node.get_closest_marker("timeout")
    given = request.config.getoption("timeout", None)  # --timeout wins over the ini
    if marker and (marker.args or "timeout" in marker.kwargs):
        given = marker.args[0] if marker.args else marker.kwargs["timeout"]
    timeout = float(given if given is not None else request.config.getini("timeout") or 0)
    if timeout <= TASK_DUMP_MARGIN:
        yield
        return
    timer = threading.Timer(timeout - TASK_DUMP_MARGIN, _print_pending_tasks, [request.node.nodeid])
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@pytest.fixture(autouse=True)
def _framecast_logging() -> Iterator[None]:
    """Each test starts with the framecast loggers as it found them: a test that runs the
    CLI in-process (which sets levels and a handler) leaves nothing to the next."""
    loggers = [logging.getLogger(name) for name in ("framecast", "framecast.pipeline")]
    saved = [(log.level, list(log.handlers), log.propagate) for log in loggers]
    yield
    for log, (level, handlers, propagate) in zip(loggers, saved, strict=True):
        log.setLevel(level)
        log.handlers[:] = handlers
        log.propagate = propagate


async def until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy, failing after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Blocking twin of :func:`until` for threaded tests."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


async def next_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    """The next text message of ``ws`` as JSON, with a deadline."""
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, (
        f"expected a text message, got {msg.type}: {msg.data}"
    )
    value = json.loads(msg.data)
    assert isinstance(value, dict)
    return value


def gradient(width: int = 64, height: int = 48, dtype: Any = np.uint8) -> np.ndarray:
    """A horizontal ramp: left dark, right bright."""
    top = np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else 1.0
    row = np.linspace(0, top, width).astype(dtype)
    return np.tile(row, (height, 1))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path / "work"


@pytest.fixture
async def server(work: Path) -> AsyncIterator[ImageServer]:
    """A running server on the test's loop, any free port, displayed on loopback."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=50)
    await srv.astart()
    try:
        yield srv
    finally:
        await srv.astop()


#: The operator token of :func:`tls_server`.
TLS_TOKEN = "op"


def https_server(tmp_path: Path, **options: Any) -> tuple[ImageServer, Path]:
    """An HTTPS server on a loopback port (not started) with ``options``, and the cert.pem
    that ``framecast cert``'s code made for it: a client trusts exactly that file."""
    from framecast.network.certificate import make_certificate

    made = make_certificate(tmp_path / "tls")
    srv = ImageServer(
        work_folder=tmp_path / "work",
        port=0,
        displayed_address=LOCAL,
        certfile=made.certfile,
        keyfile=made.keyfile,
        **options,
    )
    return srv, made.certfile


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[ImageServer, Path]]:
    """A running HTTPS server (operator token :data:`TLS_TOKEN`) and its cert.pem."""
    srv, certfile = https_server(tmp_path, token=TLS_TOKEN, max_file_rate=50)
    async with srv:
        yield srv, certfile


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        yield session


def base(srv: ImageServer) -> str:
    return f"http://127.0.0.1:{srv.port}"
