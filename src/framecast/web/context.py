"""Typed application state shared by the request handlers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from ..config import Settings
from ..control import Commands
from ..frames import Frame
from ..hub import Hub
from ..pipeline import Pipeline
from ..throttle import LogThrottle

__all__ = ["CONTEXT", "Connections", "WebContext"]


#: Refusals of live connections are logged at most once per this many seconds.
REFUSAL_LOG_INTERVAL = 10.0


class Connections:
    """Every live connection (``/ws``, ``/frames``, ``/events``, ``/control``) and their
    counters. The server owns it; :mod:`framecast.web.clients` admits and releases."""

    def __init__(self) -> None:
        self._open: set[object] = set()
        self.by_address: Counter[str] = Counter()
        self.evicted = 0  # disconnected for not reading within send_timeout
        self.refused = 0  # turned away: max_clients or max_clients_per_address reached
        #: A reconnect storm's refusals are logged at most once per interval.
        self.refusals = LogThrottle(REFUSAL_LOG_INTERVAL)
        self.closing = asyncio.Event()
        self._idle = asyncio.Event()

    def __len__(self) -> int:
        return len(self._open)

    def add(self, connection: object, address: str) -> None:
        self._open.add(connection)
        self.by_address[address] += 1

    def discard(self, connection: object, address: str) -> None:
        if connection not in self._open:
            return
        self._open.discard(connection)
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]
        if not self._open:
            self._idle.set()

    def reset_counters(self) -> None:
        self.evicted = self.refused = 0

    async def wait_idle(self, within: float) -> bool:
        """Wait until no live connection is left (True) or ``within`` seconds pass (False)."""
        if not self._open:
            return True
        self._idle.clear()
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True


def _no_status() -> dict[str, Any]:
    return {}


@dataclass
class WebContext:
    """What handlers need from the server: settings, hub, pipeline, commands, connections.

    It is also the :class:`~framecast.control.Session` the built-in commands act on.
    """

    settings: Settings
    hub: Hub
    pipeline: Pipeline
    commands: Commands = field(default_factory=Commands)
    live: Connections = field(default_factory=Connections)
    #: ``GET /api/status``: the server's own :meth:`~framecast.server.ImageServer.status`.
    status: Callable[[], dict[str, Any]] = _no_status
    started: float = field(default_factory=time.time)
    url: str = ""
    access_limited: bool = False
    ingested: int = 0
    ingest_rejected: int = 0
    commands_run: int = 0
    #: Canonical origins a browser page may come from (see :mod:`framecast.web.origins`).
    origins: frozenset[str] = frozenset()
    #: The server's small pool that decodes uploaded images (``None``: the loop's default).
    decoder: Executor | None = None
    #: Upload bodies being received right now (at most ``max_uploads``).
    uploads: int = 0

    @property
    def closing(self) -> asyncio.Event:
        """Set when the server starts stopping: no new live connection is admitted."""
        return self.live.closing

    @property
    def connections(self) -> int:
        return len(self.live)

    @property
    def latest(self) -> Frame | None:
        return self.hub.latest

    @property
    def snapshot_folder(self) -> Path:
        return self.settings.work_folder / "snapshots"

    def reset_counters(self) -> None:
        """Session counters back to zero (the ``reset`` command); sequence numbers go on."""
        self.pipeline.reset_counters()
        self.hub.reset_counters()
        self.live.reset_counters()
        self.ingested = self.ingest_rejected = 0
        self.commands_run = 0


CONTEXT = web.AppKey("framecast_context", WebContext)
