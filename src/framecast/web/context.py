"""Typed application state shared by the request handlers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field

from aiohttp import web

from framecast.broker.node import Broker
from framecast.config.settings import Settings
from framecast.live.alerts import Watch
from framecast.live.commands import Commands
from framecast.live.counters import ServerCounters
from framecast.live.markbook import MarkBook
from framecast.live.shapes import ShapeLimits
from framecast.live.streams import Streams
from framecast.network.clientaddress import Network
from framecast.runtime import deadline
from framecast.runtime.supervisor import Supervisor
from framecast.runtime.throttle import LogThrottle
from framecast.science.raw import RawAnswer
from framecast.web.admission import Admission
from framecast.web.origins import OriginRefusals

__all__ = ["CONTEXT", "AskRaw", "Connections", "WebContext"]

#: With a broker: asks the node that publishes a stream for a raw route's answer
#: (docs/scale-out.md):
#: stream, that node, seq, route, query parameters, gzip accepted → its answer.
AskRaw = Callable[[str, str, int, str, Mapping[str, str], bool], Awaitable[RawAnswer]]


#: Refusals of live connections are logged at most once per this many seconds.
REFUSAL_LOG_INTERVAL = 10.0


class Connections:
    """Every live connection (``/ws``, ``/frames``, ``/events``, ``/control``), by client
    address. The server owns it; :mod:`framecast.web.liveclient` admits and releases (the
    evictions and refusals are counted in the server's
    :class:`~framecast.live.counters.ServerCounters`)."""

    def __init__(self) -> None:
        self._open: set[object] = set()
        self.by_address: Counter[str] = Counter()
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


@dataclass
class WebContext:
    """What handlers need from the server: settings, the streams (each with its hub,
    pipeline and counters; a stream is the :class:`~framecast.live.commands.Session` its
    commands act on), commands, connections, the server's counters and what its status
    reports (:mod:`framecast.web.status`)."""

    settings: Settings
    streams: Streams
    commands: Commands = field(default_factory=Commands)
    live: Connections = field(default_factory=Connections)
    #: The counters no stream owns (docs/status.md). The command registry counts the
    #: commands over a rate limit into the same object (:meth:`__post_init__` links them).
    counters: ServerCounters = field(default_factory=ServerCounters)
    #: The server's long-lived tasks: their errors are part of the status.
    supervisor: Supervisor = field(default_factory=Supervisor)
    #: The node's link to the other nodes (``None`` without ``--broker``).
    broker: Broker | None = None
    started: float = field(default_factory=time.time)
    url: str = ""
    access_limited: bool = False
    #: The "waiting for the first image" picture of a stream without an image yet.
    placeholder: bytes = b""
    #: Canonical origins a browser page may come from (see :mod:`framecast.web.origins`).
    origins: frozenset[str] = frozenset()
    #: The refused origins already logged (each once).
    origin_refusals: OriginRefusals = field(default_factory=OriginRefusals)
    #: The server's small pool that decodes uploaded images (``None``: the loop's default).
    decoder: Executor | None = None
    #: Upload bodies being received right now (at most ``max_uploads``).
    uploads: int = 0
    #: With a broker: how the raw routes reach a frame published by another node.
    ask_raw: AskRaw | None = None
    #: Questions about other nodes' frames on their way through the broker, by frame and
    #: question: an identical question joins the one on its way (:mod:`.peerdownloads`).
    raw_asking: dict[tuple[int, Hashable], asyncio.Task[RawAnswer]] = field(default_factory=dict)
    #: Reverse proxies whose ``X-Forwarded-For`` names the client (``trusted_proxies``).
    trusted_proxies: tuple[Network, ...] = ()
    #: The alert rules' state and what fired (docs/together.md): ``GET <stream>/api/alerts``.
    alerts: Watch | None = None
    #: Whole-frame downloads and analysis work: how many at once, and what they hold
    #: (made with the context: its refusals count in :attr:`counters`).
    admission: Admission = field(init=False)
    #: Every stream's shared marks (docs/together.md); the server's are read from its work
    #: folder at start.
    marks: MarkBook = field(
        default_factory=lambda: MarkBook(None, max_marks=1000, max_bytes=4096, limits=ShapeLimits())
    )

    def __post_init__(self) -> None:
        self.commands.counters = self.counters
        self.admission = Admission(self.counters)

    @property
    def closing(self) -> asyncio.Event:
        """Set when the server starts stopping: no new live connection is admitted."""
        return self.live.closing

    @property
    def connections(self) -> int:
        return len(self.live)

    @property
    def raw_joined(self) -> int:
        """Questions answered by joining an identical one already on its way (counted in
        :attr:`counters` as ``broker_raw_joined``)."""
        return self.counters.broker_raw_joined

    @raw_joined.setter
    def raw_joined(self, value: int) -> None:
        self.counters.broker_raw_joined = value


CONTEXT = web.AppKey("framecast_context", WebContext)
