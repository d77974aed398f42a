"""Typed application state shared by the request handlers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from framecast.config.settings import Settings
from framecast.live.commands import Commands
from framecast.live.streams import Streams
from framecast.network.clientaddress import Network
from framecast.runtime import deadline
from framecast.runtime.throttle import LogThrottle
from framecast.science.raw import RawAnswer
from framecast.web.admission import Admission

__all__ = ["CONTEXT", "AskRaw", "Connections", "WebContext"]

#: With a broker: asks the node that publishes a stream for a raw route's answer (SPEC §10):
#: stream, that node, seq, route, query parameters, gzip accepted → its answer.
AskRaw = Callable[[str, str, int, str, Mapping[str, str], bool], Awaitable[RawAnswer]]


#: Refusals of live connections are logged at most once per this many seconds.
REFUSAL_LOG_INTERVAL = 10.0


class Connections:
    """Every live connection (``/ws``, ``/frames``, ``/events``, ``/control``) and their
    counters. The server owns it; :mod:`framecast.web.liveclient` admits and releases."""

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
            await deadline.within(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True


def _no_status() -> dict[str, Any]:
    return {}


@dataclass
class WebContext:
    """What handlers need from the server: settings, the streams (each with its hub and
    pipeline; a stream is the :class:`~framecast.live.commands.Session` its commands act on),
    commands, connections."""

    settings: Settings
    streams: Streams
    commands: Commands = field(default_factory=Commands)
    live: Connections = field(default_factory=Connections)
    #: ``GET /api/status``: the server's own :meth:`~framecast.server.ImageServer.status`.
    status: Callable[[], dict[str, Any]] = _no_status
    started: float = field(default_factory=time.time)
    url: str = ""
    access_limited: bool = False
    #: Uploads refused, whatever stream they were for (each stream counts its own ingests).
    ingest_rejected: int = 0
    #: The "waiting for the first image" picture of a stream without an image yet.
    placeholder: bytes = b""
    #: Canonical origins a browser page may come from (see :mod:`framecast.web.origins`).
    origins: frozenset[str] = frozenset()
    #: The server's small pool that decodes uploaded images (``None``: the loop's default).
    decoder: Executor | None = None
    #: Upload bodies being received right now (at most ``max_uploads``).
    uploads: int = 0
    #: With a broker: how the raw routes reach a frame published by another node.
    ask_raw: AskRaw | None = None
    #: Questions about other nodes' frames on their way through the broker, by frame and
    #: question: an identical question joins the one on its way (:mod:`.peerdownloads`).
    raw_asking: dict[tuple[int, Hashable], asyncio.Task[RawAnswer]] = field(default_factory=dict)
    #: Questions answered by joining an identical one already on its way.
    raw_joined: int = 0
    #: Reverse proxies whose ``X-Forwarded-For`` names the client (``trusted_proxies``).
    trusted_proxies: tuple[Network, ...] = ()
    #: Whole-frame downloads and analysis work: how many at once, and what they hold.
    admission: Admission = field(default_factory=Admission)
    #: HTTP clients cut off for taking nothing of an answer within ``send_timeout``.
    http_answers_cut_off: int = 0

    @property
    def closing(self) -> asyncio.Event:
        """Set when the server starts stopping: no new live connection is admitted."""
        return self.live.closing

    @property
    def connections(self) -> int:
        return len(self.live)

    def reset_server_counters(self) -> None:
        """The counters no stream owns (evictions, refusals, refused uploads) back to zero:
        part of the default stream's ``reset``, as before there were streams."""
        self.live.reset_counters()
        self.ingest_rejected = 0
        self.admission.refused = 0
        self.http_answers_cut_off = 0


CONTEXT = web.AppKey("framecast_context", WebContext)
