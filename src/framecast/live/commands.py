"""Control commands: the registry behind ``/control`` and ``ImageServer.on_command``.

Two commands are built in (SPEC §4.3):

``snapshot_now``
    saves a full-quality JPEG of the latest image as
    ``<work folder>/snapshots/<YYYYmmdd-HHMMSS>-<seq>-<unique>.jpg`` and replies
    ``{"ok": true, "saved": "<absolute path>"}`` (``{"ok": false, "reason": "no frame yet"}``
    before the first image). Names never collide, even for many snapshots in one second;
    the file is written to a temporary name and linked into place, off the event loop.
``reset``
    sets the session counters (frames published/dropped/failed, client skips, evictions,
    refusals, ingest counts) back to zero and replies ``{"ok": true, "counters": "reset"}``.
    Sequence numbers keep increasing: clients rely on them.

Custom commands are registered with :meth:`Commands.register` (``ImageServer.on_command``).
A handler gets the command's fields (everything but ``cmd``), may be sync or async, and
returns a dict (the reply) or ``None`` (reply ``{"ok": true}``). An exception becomes
``{"ok": false, "error": "<message>"}`` and a log line. Sync handlers run in a worker thread,
so a slow one never stalls the server. Built-in names cannot be taken by a custom command
(:class:`~framecast.errors.ConfigError`); registering a custom name again replaces the handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import itertools
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from framecast import imaging
from framecast.errors import ConfigError
from framecast.live.frames import Frame
from framecast.live.protocol import UNKNOWN_COMMAND, Command
from framecast.runtime.deadline import within

__all__ = [
    "BUILTIN_COMMANDS",
    "COMMAND_TIMEOUT",
    "Commands",
    "Handler",
    "Remote",
    "Session",
    "save_snapshot",
]

log = logging.getLogger("framecast.control")

#: What a handler returns: the reply as a dict, or ``None`` for ``{"ok": true}``.
Reply = Mapping[str, Any] | None
Handler = Callable[[dict[str, Any]], Reply | Awaitable[Reply]]
#: Sends a command to the node that publishes a stream (SPEC §10): stream, that node, the
#: stream as the client named it (``None`` at the root), the command → the reply.
Remote = Callable[[str, str, str | None, Command], Awaitable[dict[str, Any]]]
BUILTIN_COMMANDS = ("snapshot_now", "reset")
#: Seconds a command may take before the client is told it timed out.
COMMAND_TIMEOUT = 30.0
SNAPSHOT_QUALITY = 95
_NO_FRAME: dict[str, Any] = {"ok": False, "reason": "no frame yet"}
_counter = itertools.count(1)
_counter_lock = threading.Lock()


class Session(Protocol):
    """What the built-in commands act on (the web layer's context provides it)."""

    @property
    def latest(self) -> Frame | None: ...

    @property
    def snapshot_folder(self) -> Path: ...

    def reset_counters(self) -> None: ...


def _snapshot_name(frame: Frame) -> str:
    with _counter_lock:
        count = next(_counter)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime())
    return f"{stamp}-{frame.seq:06d}-{count:04d}{secrets.token_hex(4)}.jpg"


def save_snapshot(frame: Frame, folder: Path, *, quality: int = SNAPSHOT_QUALITY) -> Path:
    """Write a full-resolution JPEG of ``frame`` under ``folder``; return its absolute path.

    Blocking (encoding and file I/O): call it from a worker thread. The file appears whole
    or not at all, and an existing file is never replaced.
    """
    original = frame.original if frame.original is not None else frame.jpeg
    data = imaging.snapshot_jpeg(original, quality=quality)
    folder.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".snapshot-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        while True:
            final = folder / _snapshot_name(frame)
            try:
                os.link(temporary, final)  # fails instead of replacing an existing file
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links
                if final.exists():
                    continue
                os.replace(temporary, final)
            return final.resolve()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


class Commands:
    """The command registry: built-ins plus whatever the host program registers."""

    def __init__(self, *, timeout: float = COMMAND_TIMEOUT) -> None:
        self._handlers: dict[str, Handler] = {}
        self.timeout = timeout
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

    async def dispatch(
        self, command: Command, session: Session, *, stream: str | None = None
    ) -> dict[str, Any]:
        """Run ``command`` and return its reply. Never raises (except cancellation).

        ``stream``: the stream the command was sent to; a custom handler's fields then
        include ``"stream": <name>``."""
        if command.name == "snapshot_now":
            return await _snapshot(session)
        if command.name == "reset":
            session.reset_counters()
            log.info("session counters reset")
            return {"ok": True, "counters": "reset"}
        handler = self._handlers.get(command.name)
        if handler is None:
            return dict(UNKNOWN_COMMAND)
        fields = dict(command.fields)
        if stream is not None:
            fields["stream"] = stream
        return await self._run(command.name, fields, handler)

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


async def _snapshot(session: Session) -> dict[str, Any]:
    frame = session.latest
    if frame is None:
        return dict(_NO_FRAME)
    try:
        path = await asyncio.to_thread(save_snapshot, frame, session.snapshot_folder)
    except Exception as exc:
        log.error("could not save a snapshot in %s: %s", session.snapshot_folder, exc)
        return {"ok": False, "error": f"cannot save the snapshot: {exc}"}
    log.info("snapshot of frame %d saved as %s", frame.seq, path)
    return {"ok": True, "saved": str(path)}
