"""Scale-out: several framecast nodes share their streams through Redis (docs/scale-out.md).

A :class:`Broker` is one node's link to a Redis (or Valkey) server. Through its parts it

- **relays frames**: it publishes every frame made on this node (sources, ``publish()``,
  ingest), numbers frames from a shared per-stream counter, and shows other nodes' frames,
  every stream's current one on each (re)connection (:mod:`framecast.broker.relay`);
- **forwards** ``/control`` commands for a stream another node publishes to that node and
  answers the commands other nodes send it (:mod:`framecast.broker.forwarding`);
- **asks** the publishing node for the raw routes of docs/science.md and the deep-zoom tiles of
  (docs/tiles.md; raw arrays and full-resolution pixels never travel with frames) and answers other
  nodes' questions about its own frames (:mod:`framecast.broker.questions`).

The link reads the frame announcements on ``{ns}:frames`` and hands them to the relay.
Forwarding and raw questions talk over one channel per node, ``{ns}:node:{id}``: the link
reads its own (:mod:`framecast.broker.nodechannel`), hands each reply and request to its part,
and answers at most :data:`MAX_REQUESTS` requests from other nodes at once (more get "busy").
Both channels are read through the node's :class:`~framecast.broker.inbox.Inbox`, which keeps
a flood on them from holding up the node.

The link runs under the server's :class:`~framecast.runtime.supervisor.Supervisor`. When Redis is
unreachable, refuses the password or stops answering, the state is ``degraded`` with a
one-line reason (never the URL's password), local streams go on as before, and the link
reconnects with exponential backoff and jitter. ``redis`` (redis-py's asyncio API, the
``broker`` extra) is imported only when a broker is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import random
import re
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from typing import Any

from framecast.broker import codec
from framecast.broker.alertrelay import AlertRelay
from framecast.broker.brokerurl import secrets_of, where
from framecast.broker.forwarding import NO_PUBLISHER, ControlForwarding
from framecast.broker.inbox import Inbox
from framecast.broker.marksharing import MarkSharing
from framecast.broker.nodechannel import MAX_REQUESTS, NodeChannel
from framecast.broker.questions import Answerer, RawQuestions, no_publisher
from framecast.broker.relay import FrameRelay
from framecast.broker.views import ViewRelay
from framecast.config.settings import Settings
from framecast.errors import ConfigError, spell
from framecast.live.commands import Commands
from framecast.live.frames import Frame
from framecast.live.protocol import Command
from framecast.live.shapes import ShapeLimits
from framecast.live.streams import Streams
from framecast.runtime.deadline import STOP_WAIT, cancel_all, within
from framecast.runtime.supervisor import Supervisor
from framecast.runtime.throttle import LogThrottle
from framecast.science.raw import RawAnswer

__all__ = ["MAX_REQUESTS", "NO_PUBLISHER", "Answerer", "Broker", "no_publisher"]

log = logging.getLogger("framecast.broker")

#: Seconds any one call to Redis may take before the link counts as lost.
IO_TIMEOUT = 2.0
#: Seconds between the link's health checks (PING) while nothing else is said.
HEALTH_INTERVAL = 1.0
#: Seconds each of a session's closes (its pub/sub, its client) may take when it ends.
SESSION_CLOSE_WAIT = 0.5
#: Reconnection delay: the first, and the cap of the doubling (jitter: 50-100 % of it).
RETRY_DELAY = 0.1
MAX_RETRY_DELAY = 5.0
#: A bad message from the broker is logged at most once per this many seconds.
BAD_MESSAGE_INTERVAL = 30.0


class _LinkLost(Exception):
    """The link to Redis ended; the message is the one-line reason."""


def node_id() -> str:
    """A name for this node, unique per start: host name, process, random part."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:32] or "node"
    return f"{host}-{secrets.token_hex(4)}"


def backoff(attempt: int, *, rng: Callable[[], float] = random.random) -> float:
    """Seconds before reconnection attempt ``attempt`` (1, 2, …): doubling from
    :data:`RETRY_DELAY` up to :data:`MAX_RETRY_DELAY`, each a random 50-100 % of that so
    that many nodes do not come back in step."""
    ceiling = min(MAX_RETRY_DELAY, RETRY_DELAY * 2.0 ** max(attempt - 1, 0))
    return ceiling * (0.5 + rng() / 2)


def _load_redis() -> Any:
    try:
        return importlib.import_module("redis.asyncio")
    except ImportError:
        raise ConfigError(
            f"{spell('broker')} needs the redis package: pip install 'framecast[broker]'"
        ) from None


class Broker:
    """One node's link to the broker; see the module docstring."""

    def __init__(
        self, settings: Settings, commands: Commands, *, executor: Executor | None = None
    ) -> None:
        if settings.broker is None:
            raise ConfigError(f"a broker needs {spell('broker', 'URL')}")
        self._redis = _load_redis()
        self._exceptions = importlib.import_module("redis.exceptions")
        self._url = settings.broker
        self._secrets = secrets_of(settings.broker)
        #: The pool where frames from the broker are checked and rendered (the server's).
        self.executor = executor
        ns = settings.broker_namespace
        self.node = node_id()
        self._ns = ns
        self._own_channel = self.channel(self.node)
        self.limits = codec.Limits(
            max_frame_bytes=settings.max_ingest_bytes + settings.max_metadata_bytes,
            max_metadata_bytes=settings.max_metadata_bytes,
            max_metadata_depth=settings.max_metadata_depth,
            max_pixels=settings.max_image_pixels,
            shapes=ShapeLimits.of(settings),
        )
        self.state = "degraded"
        self.reason: str | None = "connecting"
        self.rejected = 0  # bad messages skipped
        self._streams: Streams | None = None
        self._client: Any = None
        self._frames = FrameRelay(self, max_streams=settings.max_streams)
        waits = settings.broker_answer_timeout
        self._control = ControlForwarding(self, commands, timeout=waits)
        self._raw = RawQuestions(self, timeout=waits, log_interval=BAD_MESSAGE_INTERVAL)
        self._own = NodeChannel(
            self._control, self._raw, self.limits, reject=self.reject, failed=self._failed
        )
        self._views = ViewRelay(
            self,
            max_view_bytes=settings.max_view_bytes,
            lease=settings.presenter_lease,
            reject=self.reject,
        )
        #: Alerts fired here go out through it; other nodes' come in (docs/together.md).
        self.alerts = AlertRelay(self, reject=self.reject)
        #: The streams' shared marks (docs/together.md): the server sets its hooks.
        self.marks = MarkSharing(
            self, max_marks=settings.max_marks, max_bytes=settings.max_mark_bytes
        )
        self._inbox = Inbox(
            self._frames.channel,
            self._own_channel,
            others={
                self.marks.channel: self.marks.announced,
                self._views.channel: self._views.received,
                self.alerts.channel: self.alerts.received,
            },
            announced=self._frames.announced,
            received=self._own.received,
            behind=self._frames.falling_behind,
            caught_up=self._frames.caught_up,
            resumed=self._frames.resumed,
            io_timeout=IO_TIMEOUT,
            close_wait=SESSION_CLOSE_WAIT,
        )
        self._bad = LogThrottle(BAD_MESSAGE_INTERVAL)
        self._lost = LogThrottle(BAD_MESSAGE_INTERVAL)
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()  # set while the link is up
        self._connected = False  # this session got through (the backoff starts over)

    # -- what the server asks ------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """``/api/status``'s broker fields."""
        return {
            "broker": self.state,
            "broker_reason": self.reason,
            "broker_node": self.node,
            "broker_frames_sent": self._frames.sent,
            "broker_frames_received": self._frames.received,
            "broker_rejected": self.rejected,
            "broker_raw_asked": self._raw.asked,
            "broker_raw_answered": self._raw.answered,
            "broker_floods": self._inbox.floods,
        }

    @property
    def sent(self) -> int:
        """Frames made here, stored and announced."""
        return self._frames.sent

    @property
    def received(self) -> int:
        """Other nodes' frames shown here."""
        return self._frames.received

    @property
    def answerer(self) -> Answerer | None:
        """How raw questions from other nodes are answered (set by the server)."""
        return self._raw.answerer

    @answerer.setter
    def answerer(self, answerer: Answerer | None) -> None:
        self._raw.answerer = answerer

    @property
    def raw_asked(self) -> int:
        """Raw questions sent to other nodes."""
        return self._raw.asked

    @property
    def raw_answered(self) -> int:
        """Other nodes' raw questions answered here."""
        return self._raw.answered

    def start(self, supervisor: Supervisor, streams: Streams) -> None:
        """Connect (and reconnect) under ``supervisor`` for ``streams``. Event loop."""
        self._streams = streams
        self._task = supervisor.spawn("broker", self._link)

    async def stop(self) -> None:
        """Close the link; requests still waiting get the no-publisher reply."""
        task, self._task = self._task, None
        tasks = [t for t in [task, *self._own.requests] if t is not None]
        # Longer than the session's own steps: its tasks' (STOP_WAIT), then its closes.
        budget = STOP_WAIT + 2 * SESSION_CLOSE_WAIT + 0.5
        await cancel_all(tasks, "stopping the broker link", budget)
        self._control.close()
        self._raw.close()
        self.state, self.reason = "degraded", "stopped"

    # -- local frames (pipeline hooks, event loop) ---------------------------------------------
    async def numbering(self, stream: str, last: int) -> int:
        """The next number of ``stream``'s frames, shared by every node (see
        :meth:`~framecast.broker.relay.FrameRelay.numbering`)."""
        return await self._frames.numbering(stream, last)

    def on_frame(self, frame: Frame) -> None:
        """A frame made here: it goes to the broker (the newest of each stream wins)."""
        self._frames.on_frame(frame)

    def on_view(self, stream: str, ident: int, view: str | None) -> None:
        """A presentation made here changed: it goes to the other nodes (docs/together.md)."""
        self._views.local(stream, ident, view)

    # -- other nodes (web layer, event loop) ---------------------------------------------------
    async def control(
        self, stream: str, publisher: str, named: str | None, command: Command
    ) -> dict[str, Any]:
        """Send ``command`` for ``stream`` to node ``publisher`` and return its reply, or
        :data:`NO_PUBLISHER` when it does not answer within ``broker_answer_timeout`` s."""
        return await self._control.forward(stream, publisher, named, command)

    async def ask_raw(
        self,
        stream: str,
        publisher: str,
        seq: int,
        route: str,
        params: Mapping[str, str],
        gzip: bool,
    ) -> RawAnswer:
        """The publisher's answer to a raw question (see
        :meth:`~framecast.broker.questions.RawQuestions.ask`)."""
        return await self._raw.ask(stream, publisher, seq, route, params, gzip)

    # -- what the parts ask (broker_control.Link, broker_raw.Link, broker_frames.Link) --------
    @property
    def namespace(self) -> str:
        """The prefix of every key and channel."""
        return self._ns

    @property
    def client(self) -> Any:
        """The connected Redis client; ``None`` while the link is down."""
        return self._client

    @property
    def streams(self) -> Streams | None:
        """This node's streams, once the link is started."""
        return self._streams

    @property
    def redis_error(self) -> type[Exception]:
        """The root of redis-py's exceptions."""
        error: type[Exception] = self._exceptions.RedisError
        return error

    io_timeout = IO_TIMEOUT

    async def until_up(self) -> None:
        """Return once the link is up."""
        await self._up.wait()

    def channel(self, node: str) -> str:
        """The channel node ``node`` listens on."""
        return f"{self._ns}:node:{node}"

    # -- the link ------------------------------------------------------------------------------
    async def _link(self) -> None:
        attempt = 0
        while True:
            try:
                await self._session()
            except _LinkLost as exc:
                self._degrade(str(exc))
            except (OSError, TimeoutError, ValueError, self._exceptions.RedisError) as exc:
                self._degrade(self.describe(exc))
            except Exception:
                self._degrade("internal error (see the log)")
                raise  # the supervisor logs the traceback, counts it and restarts the link
            if self._connected:
                self._connected, attempt = False, 0
            attempt += 1
            await asyncio.sleep(backoff(attempt))

    async def _session(self) -> None:
        retry = importlib.import_module("redis.asyncio.retry").Retry(
            importlib.import_module("redis.backoff").NoBackoff(), 0
        )
        client = self._redis.from_url(
            self._url,
            # No socket_timeout: with one, redis-py awaits Python 3.11's wait_for inside,
            # which can swallow a cancellation (a stop). Every call here has its deadline.
            socket_timeout=None,
            socket_connect_timeout=IO_TIMEOUT,
            retry=retry,
            health_check_interval=0,
        )
        try:
            await within(client.ping(), IO_TIMEOUT)
            await self._inbox.open(client)
            self._client = client
            self._connected = True
            self._ok()
            self._frames.connected(client)
            self.marks.connected()
            await _first_failure(
                self._inbox.read(),
                self._frames.fetch(client),
                self._frames.publish(client),
                self._views.publish(client),
                self.alerts.publish(client),
                self.marks.fetch(client),
                self.marks.publish(client),
                self._health(client),
            )
        finally:
            self._client = None
            self._frames.disconnected()
            await self._inbox.close()
            with contextlib.suppress(Exception):
                await within(client.aclose(), SESSION_CLOSE_WAIT)

    def _ok(self) -> None:
        if self._lost.seen:
            log.info("broker %s is back; sharing streams again", where(self._url))
        else:
            log.info("broker %s connected (node %s)", where(self._url), self.node)
        self.state, self.reason = "ok", None
        self._up.set()
        self._lost = LogThrottle(BAD_MESSAGE_INTERVAL)

    def _degrade(self, reason: str) -> None:
        reason = self.redact(reason)
        changed = self.state != "degraded" or self.reason != reason
        self._up.clear()
        self.state, self.reason = "degraded", reason
        count = self._lost.due()
        if changed or count is not None:
            log.warning(
                "broker %s unavailable: %s; local streams go on, reconnecting with backoff",
                where(self._url),
                reason,
            )

    def describe(self, exc: BaseException) -> str:
        """A one-line reason for a failed call to Redis (never the URL's password)."""
        errors = self._exceptions
        text = " ".join(str(exc).split())[:200]
        if isinstance(exc, errors.AuthenticationError | errors.AuthorizationError) or (
            isinstance(exc, errors.ResponseError) and ("NOAUTH" in text or "WRONGPASS" in text)
        ):
            return (
                f"the broker refused the credentials ({text}); check the password in "
                f"{spell('broker')}"
            )
        if isinstance(exc, TimeoutError | errors.TimeoutError):
            return f"the broker did not answer within {IO_TIMEOUT:g} s"
        if isinstance(exc, errors.ConnectionError | OSError):
            return f"cannot reach the broker: {text or type(exc).__name__}"
        if isinstance(exc, ValueError) and not self._connected:  # from_url's complaint
            return f"the broker URL is not usable: {text}"
        return f"{type(exc).__name__}: {text}"

    def redact(self, text: str) -> str:
        """``text`` without the URL's password (and user name)."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def _health(self, client: Any) -> None:
        while True:
            await asyncio.sleep(HEALTH_INTERVAL)
            await within(client.ping(), IO_TIMEOUT)

    # -- bad messages, and this node's channel ---------------------------------------------
    def _failed(self) -> None:
        self.rejected += 1  # a request from another node failed while answered (logged)

    def reject(self, what: str, exc: Exception) -> None:
        """Count a bad message from the broker; log it at most once per interval."""
        self.rejected += 1
        count = self._bad.due()
        if count is not None:
            log.warning(
                "skipped %s from the broker (%d bad message(s) since the last report): %s",
                what,
                count,
                exc,
            )


async def _first_failure(*coroutines: Awaitable[None]) -> None:
    """Run ``coroutines`` together until one ends (with its exception, re-raised); the
    others are cancelled."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if error is not None:
                raise error
        raise _LinkLost("the link ended")
    finally:
        await cancel_all(tasks, "ending a broker session")
