"""Shared fixtures: real servers on loopback port 0, real clients, deadlines instead of sleeps."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from framecast import ImageServer

LOCAL = "ip:127.0.0.1"


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


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        yield session


def base(srv: ImageServer) -> str:
    return f"http://127.0.0.1:{srv.port}"
