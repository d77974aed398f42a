"""What arrives on this node's own channel, ``{ns}:node:{id}`` (docs/scale-out.md).

Replies to this node's questions go to the part that asked (control forwarding, raw
questions); requests from other nodes are answered, at most :data:`MAX_REQUESTS` at once (more
get "busy"), each in a task this channel owns and cancels when the link stops. A message that
is not what a node sends is counted and skipped through the link's ``reject``; a request
whose answer fails unexpectedly is logged with its traceback and counted through ``failed``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from framecast.broker import codec
from framecast.broker.forwarding import ControlForwarding
from framecast.broker.questions import RawQuestions

__all__ = ["MAX_REQUESTS", "NodeChannel"]

log = logging.getLogger("framecast.broker")

#: Requests from other nodes (commands, raw questions) answered at once; more get "busy".
MAX_REQUESTS = 16


class NodeChannel:
    """Hands each message of this node's channel to its part; owns the answering tasks."""

    def __init__(
        self,
        control: ControlForwarding,
        raw: RawQuestions,
        limits: codec.Limits,
        *,
        reject: Callable[[str, Exception], None],
        failed: Callable[[], None],
    ) -> None:
        self._control = control
        self._raw = raw
        self._limits = limits
        self._reject = reject
        self._failed = failed
        #: Requests being answered now (cancelled by the link's stop).
        self.requests: set[asyncio.Task[None]] = set()

    def received(self, data: bytes) -> None:
        """One message of the channel. Event loop."""
        try:
            message = codec.decode_control(data, self._limits)
        except codec.WireError as exc:
            self._reject("a control message", exc)
            return
        if isinstance(message, codec.ControlReply):
            self._control.replied(message)
            return
        if isinstance(message, codec.RawReply):
            self._raw.replied(message)
            return
        busy = len(self.requests) >= MAX_REQUESTS
        work: Coroutine[Any, Any, None]
        if isinstance(message, codec.RawRequest):
            work = self._raw.busy(message) if busy else self._raw.answer(message)
        else:
            work = self._control.busy(message) if busy else self._control.answer(message)
        name = None if busy else "framecast-broker-request"
        task = asyncio.create_task(self._guarded(work), name=name)
        self.requests.add(task)
        task.add_done_callback(self.requests.discard)

    async def _guarded(self, work: Awaitable[None]) -> None:
        """Answer one request; an unexpected failure is logged with its traceback and the
        node goes on (the asker gets its no-publisher answer when its time is up)."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            self._failed()
            log.exception("a request from another node failed; the node goes on")
