"""Typed application state shared by the request handlers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..config import Settings
from ..hub import Hub
from ..pipeline import Pipeline

__all__ = ["CONTEXT", "WebContext"]


@dataclass
class WebContext:
    """What handlers need from the server: settings, hub, pipeline, addresses, live sockets."""

    settings: Settings
    hub: Hub
    pipeline: Pipeline
    started: float = field(default_factory=time.time)
    url: str = ""
    access_limited: bool = False
    sockets: set[web.StreamResponse] = field(default_factory=set)
    evicted: int = 0
    refused: int = 0
    extras: dict[str, Any] = field(default_factory=dict)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def connections(self) -> int:
        return len(self.sockets)

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
