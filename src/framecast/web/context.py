"""Typed application state shared by the request handlers."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from ..config import Settings
from ..control import Commands
from ..frames import Frame
from ..hub import Hub
from ..pipeline import Pipeline

__all__ = ["CONTEXT", "WebContext"]


@dataclass
class WebContext:
    """What handlers need from the server: settings, hub, pipeline, commands, live sockets.

    It is also the :class:`~framecast.control.Session` the built-in commands act on.
    """

    settings: Settings
    hub: Hub
    pipeline: Pipeline
    commands: Commands = field(default_factory=Commands)
    started: float = field(default_factory=time.time)
    url: str = ""
    access_limited: bool = False
    sockets: set[web.StreamResponse] = field(default_factory=set)
    evicted: int = 0
    refused: int = 0
    ingested: int = 0
    ingest_rejected: int = 0
    commands_run: int = 0
    #: Canonical origins a browser page may come from (see :mod:`framecast.web.origins`).
    origins: frozenset[str] = frozenset()
    #: The server's small pool that decodes uploaded images (``None``: the loop's default).
    decoder: Executor | None = None
    #: Upload bodies being received right now (at most ``max_uploads``).
    uploads: int = 0
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def connections(self) -> int:
        return len(self.sockets)

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
        self.evicted = self.refused = self.ingested = self.ingest_rejected = 0
        self.commands_run = 0

    def add_socket(self, ws: web.StreamResponse) -> None:
        self.sockets.add(ws)

    def discard_socket(self, ws: web.StreamResponse) -> None:
        self.sockets.discard(ws)
        if not self.sockets:
            self._idle.set()

    async def wait_idle(self, within: float) -> bool:
        """Wait until no live socket is left (True) or ``within`` seconds pass (False)."""
        if not self.sockets:
            return True
        self._idle.clear()
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True


CONTEXT = web.AppKey("framecast_context", WebContext)
