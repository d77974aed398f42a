"""Control commands: the registry behind ``/control`` and ``ImageServer.on_command``
(docs/control.md).

Two commands are built in:

``snapshot_now``
    saves a full-quality JPEG of the latest image as
    ``<work folder>/snapshots/<YYYYmmdd-HHMMSS>-<seq>-<unique>.jpg`` and replies
    ``{"ok": true, "saved": "<absolute path>"}`` (``{"ok": false, "error": "no frame yet"}``
    before the first image). One file per frame: asking again for the same frame answers the
    same path; a full snapshots folder refuses with a reason (:mod:`.snapshots`).
``reset``
    sets the counters of the stream it is sent to back to zero (its
    :class:`~framecast.live.counters.StreamCounters`; sent to the default stream, the web
    layer zeroes the server's :class:`~framecast.live.counters.ServerCounters` too) and
    replies ``{"ok": true, "counters": "reset"}``. Sequence numbers keep increasing: clients
    rely on them.

Custom commands are registered with :meth:`Commands.register` (``ImageServer.on_command``).
A handler gets the command's fields (everything but ``cmd``) and ``"stream"``, the name of
the stream the command was sent to (``"default"`` at the root); it may be sync or async, and
returns a dict (the reply) or ``None`` (reply ``{"ok": true}``). An exception becomes
``{"ok": false, "error": "<message>"}`` and a log line. Sync handlers run in a worker thread,
so a slow one never stalls the server. Built-in names cannot be taken by a custom command
(:class:`~framecast.errors.ConfigError`); registering a custom name again replaces the handler.

Commands that would run (built-in or registered; not unknown names) are rate-limited twice,
each with a token bucket: per connection (:meth:`Commands.receive`, ``max_command_rate``
after a burst of ``max_command_burst``) and per stream, on the node that publishes it
(:meth:`Commands.dispatch`, ``max_stream_command_rate`` / ``max_stream_command_burst``). A
command over either limit is answered ``{"ok": false, "error": "too many commands: ..."}``
and not run. A built-in command's refusal also carries its text as ``reason``, which clients
written before read.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from framecast.config.settings import Settings
from framecast.config.streamname import DEFAULT_STREAM
from framecast.errors import ConfigError
from framecast.live.counters import ServerCounters, StreamCounters
from framecast.live.frames import Frame
from framecast.live.protocol import UNKNOWN_COMMAND, Command
from framecast.live.snapshots import SNAPSHOTS_FOLDER, SnapshotRefused, Snapshots
from framecast.runtime.deadline import within
from framecast.runtime.throttle import LogThrottle
from framecast.runtime.tokenbucket import TokenBucket

__all__ = [
    "BUILTIN_COMMANDS",
    "COMMAND_TIMEOUT",
    "Commands",
    "Handler",
    "Remote",
    "Session",
]

log = logging.getLogger("framecast.control")

#: What a handler returns: the reply as a dict, or ``None`` for ``{"ok": true}``.
Reply = Mapping[str, Any] | None
Handler = Callable[[dict[str, Any]], Reply | Awaitable[Reply]]
#: Sends a command to the node that publishes a stream (docs/scale-out.md): stream, that
#: node, the stream's name for the handler, the command → the reply.
Remote = Callable[[str, str, str | None, Command], Awaitable[dict[str, Any]]]
BUILTIN_COMMANDS = ("snapshot_now", "reset")
#: Seconds a command may take before the client is told it timed out.
COMMAND_TIMEOUT = 30.0


def _refused(text: str) -> dict[str, Any]:
    """A built-in command's refusal: ``error`` as every failed command (docs/client.md), and
    the same text as ``reason`` (older clients read it; the viewer says "refused:" for it)."""
    return {"ok": False, "error": text, "reason": text}


_NO_FRAME: dict[str, Any] = _refused("no frame yet")
#: Refused commands are logged at most once per this many seconds, with their count.
LIMIT_LOG_INTERVAL = 10.0


class Session(Protocol):
    """What the built-in commands act on (the web layer's context provides it)."""

    @property
    def latest(self) -> Frame | None: ...

    @property
    def snapshot_folder(self) -> Path: ...

    @property
    def counters(self) -> StreamCounters:
        """The stream's counters: ``commands_run`` counts here, ``reset`` zeroes them."""
        ...


class Commands:
    """The command registry: built-ins plus whatever the host program registers."""

    def __init__(
        self, settings: Settings | None = None, *, timeout: float = COMMAND_TIMEOUT
    ) -> None:
        """``settings``: the limits (``max_command_*``, ``max_stream_command_*``,
        ``max_snapshots_bytes``) and the work folder whose snapshots folder is capped; without
        them the defaults apply and each snapshot's own folder is what is counted."""
        self._handlers: dict[str, Handler] = {}
        self.timeout = timeout
        self._settings = settings if settings is not None else Settings()
        root = settings.work_folder / SNAPSHOTS_FOLDER if settings is not None else None
        self._snapshots = Snapshots(max_bytes=self._settings.max_snapshots_bytes, root=root)
        self._streams: dict[str, TokenBucket] = {}
        #: The server's counters: commands refused for going over a limit count there
        #: (``commands_limited``). Each run's web context hands its own.
        self.counters = ServerCounters()
        self._limit_log = LogThrottle(LIMIT_LOG_INTERVAL)
        self._full_log = LogThrottle(LIMIT_LOG_INTERVAL)
        #: Calls of a plain (sync) handler still running in their thread after their reply
        #: was given up (timed out, or the asker left), with their command's name: a thread
        #: cannot be interrupted, so the command is refused until they end.
        self._left: dict[asyncio.Future[Any], str] = {}
        #: With a broker: how a command reaches a stream another node publishes.
        self.remote: Remote | None = None

    def register(self, name: str, handler: Handler) -> None:
        """Make ``{"cmd": name, ...}`` call ``handler(fields)``. Thread-safe; works any time."""
        if not isinstance(name, str) or not name:
            raise ConfigError("a command name must be a non-empty string")
        if name in BUILTIN_COMMANDS:
            raise ConfigError(f"command {name!r} is built in; register yours under another name")
        if not callable(handler):
            raise ConfigError(f"the handler for command {name!r} must be callable")
        self._handlers[name] = handler

    def unregister(self, name: str) -> None:
        """Forget a custom command (unknown names are ignored)."""
        self._handlers.pop(name, None)

    @property
    def names(self) -> list[str]:
        """Every command a client may send, built-ins first."""
        return [*BUILTIN_COMMANDS, *sorted(self._handlers)]

    def connection_bucket(self) -> TokenBucket:
        """The limit of one client connection, to hand to :meth:`receive` with each of its
        commands."""
        settings = self._settings
        return TokenBucket(settings.max_command_rate, settings.max_command_burst)

    def _runs(self, command: Command) -> bool:
        """Would ``command`` run something (and so count towards the limits)?"""
        return command.name in BUILTIN_COMMANDS or command.name in self._handlers

    async def receive(
        self,
        command: Command,
        session: Session,
        *,
        stream: str,
        connection: TokenBucket,
        publisher: str | None = None,
    ) -> dict[str, Any]:
        """A command from a client's connection: the connection's limit first, then the
        command runs here (:meth:`dispatch`), or on node ``publisher`` when another node
        publishes the stream (that node keeps the stream's limit)."""
        remote = self.remote if publisher is not None else None
        # Forwarding costs a round trip whatever the publisher then does: it always counts.
        counts = remote is not None or self._runs(command)
        if counts and not connection.take():
            return self._refuse(
                command,
                stream,
                f"too many commands: at most {connection.rate:g} per second on this "
                f"connection (max_command_rate, after a burst of {connection.burst}); wait "
                "and retry",
            )
        if remote is not None and publisher is not None:
            return await remote(stream, publisher, stream, command)
        return await self.dispatch(command, session, stream=stream)

    async def dispatch(
        self, command: Command, session: Session, *, stream: str = DEFAULT_STREAM
    ) -> dict[str, Any]:
        """Run ``command`` for ``stream`` (``session``) and return its reply, within the
        stream's limit. Never raises (except cancellation). A custom handler's fields
        include ``"stream": stream``."""
        if self._runs(command) and not self._stream_bucket(stream).take():
            settings = self._settings
            return self._refuse(
                command,
                stream,
                f"too many commands: at most {settings.max_stream_command_rate:g} per second "
                f"for stream {stream!r} from all its clients (max_stream_command_rate, after "
                f"a burst of {settings.max_stream_command_burst}); wait and retry",
            )
        session.counters.commands_run += 1
        if command.name == "snapshot_now":
            return await self._snapshot(session, stream)
        if command.name == "reset":
            session.counters.reset()
            log.info("session counters of stream %r reset", stream)
            return {"ok": True, "counters": "reset"}
        handler = self._handlers.get(command.name)
        if handler is None:
            return dict(UNKNOWN_COMMAND)
        fields = dict(command.fields)
        fields["stream"] = stream
        return await self._run(command.name, fields, handler)

    def _stream_bucket(self, stream: str) -> TokenBucket:
        bucket = self._streams.get(stream)
        if bucket is None:  # one per stream: commands only run for streams that exist
            settings = self._settings
            bucket = TokenBucket(
                settings.max_stream_command_rate, settings.max_stream_command_burst
            )
            self._streams[stream] = bucket
        return bucket

    def _refuse(self, command: Command, stream: str, reason: str) -> dict[str, Any]:
        self.counters.commands_limited += 1
        count = self._limit_log.due()
        if count is not None:
            log.warning(
                "%d command(s) refused over a rate limit (latest: %r for stream %r): %s",
                count,
                command.name,
                stream,
                reason,
            )
        return _refused(reason)

    async def _snapshot(self, session: Session, stream: str) -> dict[str, Any]:
        frame = session.latest
        if frame is None:
            return dict(_NO_FRAME)
        folder = session.snapshot_folder
        try:
            path, written = await asyncio.to_thread(self._snapshots.take, frame, folder)
        except SnapshotRefused as refused:
            count = self._full_log.due()
            if count is not None:
                log.warning("%d snapshot(s) refused (latest of %r): %s", count, stream, refused)
            return _refused(str(refused))
        except Exception as exc:
            log.error("could not save a snapshot in %s: %s", folder, exc)
            return {"ok": False, "error": f"cannot save the snapshot: {exc}"}
        if written:
            log.info("snapshot of frame %d saved as %s", frame.seq, path)
        return {"ok": True, "saved": str(path)}

    async def _run(self, name: str, fields: dict[str, Any], handler: Handler) -> dict[str, Any]:
        if name in self._left.values():
            return {
                "ok": False,
                "error": f"command {name!r} is still running from an earlier call (it timed "
                "out or its client left); try again once it has finished",
            }
        try:
            if inspect.iscoroutinefunction(handler):
                result: Any = await within(handler(fields), self.timeout)
            else:
                result = await self._in_thread(name, fields, handler)
                if inspect.isawaitable(result):  # e.g. a functools.partial of a coroutine
                    result = await within(result, self.timeout)
        except TimeoutError:
            log.error("command %r did not finish within %g s", name, self.timeout)
            return {"ok": False, "error": f"command {name!r} timed out after {self.timeout:g} s"}
        except Exception as exc:
            log.error("command %r failed: %s: %s", name, type(exc).__name__, exc, exc_info=True)
            return {"ok": False, "error": str(exc) or type(exc).__name__}
        if result is None:
            return {"ok": True}
        if isinstance(result, Mapping):
            return dict(result)
        log.error("command %r returned a %s; handlers return a dict or None", name, type(result))
        return {
            "ok": False,
            "error": f"command {name!r} returned {type(result).__name__}, not a dict or None",
        }

    async def _in_thread(self, name: str, fields: dict[str, Any], handler: Handler) -> Any:
        """Run a plain handler in a thread, for at most ``timeout`` s. A call whose reply is
        given up (it timed out, or the asker left) goes on in its thread, as nothing can stop
        it there: until it ends, its command is refused rather than run again alongside it,
        and its end is logged."""
        call = asyncio.ensure_future(asyncio.to_thread(handler, fields))
        try:
            return await within(asyncio.shield(call), self.timeout)
        except TimeoutError:
            self._leave(name, call, "it timed out")
            raise
        except asyncio.CancelledError:
            self._leave(name, call, "its client left")
            raise

    def _leave(self, name: str, call: asyncio.Future[Any], why: str) -> None:
        if call.done():
            return
        self._left[call] = name
        call.add_done_callback(functools.partial(self._ended_late, name, why))

    def _ended_late(self, name: str, why: str, call: asyncio.Future[Any]) -> None:
        del self._left[call]
        if call.cancelled():
            return
        failure = call.exception()
        if failure is not None:
            log.error("command %r failed after %s: %s", name, why, failure)
        else:
            log.warning("command %r finished after %s; it may be sent again", name, why)

    @property
    def still_running(self) -> list[str]:
        """The commands whose handler still runs in a thread after its reply was given up."""
        return sorted(set(self._left.values()))
