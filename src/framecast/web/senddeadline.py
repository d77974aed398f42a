"""The HTTP send deadline: a client must take each piece of an answer within
``send_timeout`` seconds, as live clients must take each message (docs/reliability.md).

aiohttp writes an answer into its connection's transport and, once the transport holds more
than its high-water mark, waits until the client has taken enough of it (the transport
*pauses* the protocol until its buffer drains). A client that stops reading would keep the
answer, and the transport's copy of it, for ever. :class:`DeadlineProtocol` stands in front
of aiohttp's protocol on every connection: when writing pauses, a timer of ``send_timeout``
seconds starts, and resuming stops it. When it fires, a client that took at least
:data:`PROGRESS_BYTES` (or half of what was waiting) in that time is slow but reading: it
gets another period. One that took less is cut off: the connection is aborted (closing
would wait for bytes the client never takes), the pending write fails, and whatever the
answer held is freed. Each cut is counted (``http_answers_cut_off`` in ``/api/status``)
and logged, at most one line per interval with a count.

Every route passes here, small or big, streamed or not: the deadline is written once, not
per route. A live connection (``/ws``, ``/frames``, ``/events``, ``/control``) has its own
deadline and eviction (:mod:`framecast.web.liveclient`) and is handed over to it
(:func:`hand_over`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

from aiohttp import web

from framecast.runtime.throttle import LogThrottle

__all__ = ["CUT_LOG_INTERVAL", "PROGRESS_BYTES", "CutOffLog", "DeadlineProtocol", "hand_over"]

log = logging.getLogger("framecast.http")

#: Cut-off clients are logged at most once per this many seconds, with a count.
CUT_LOG_INTERVAL = 10.0
#: Bytes a client must take of what waits for it within each ``send_timeout`` (or half of
#: what waits, if less) not to be cut off: asyncio's high-water mark, 64 KiB.
PROGRESS_BYTES = 64 * 1024


class DeadlineProtocol(asyncio.Protocol):
    """aiohttp's protocol for one connection (``inner``), with the send deadline: the
    connection is aborted when writing stays paused for ``timeout`` seconds, then
    ``cut()`` is called."""

    __slots__ = ("_cut", "_handed_over", "_inner", "_timeout", "_timer", "_transport", "_waiting")

    def __init__(self, inner: asyncio.Protocol, timeout: float, cut: Callable[[], None]) -> None:
        self._inner = inner
        self._timeout = timeout
        self._cut = cut
        self._timer: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None
        self._handed_over = False
        self._waiting = 0  # bytes unsent when the current period began

    # -- what the transport calls, passed on ---------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        self._transport = None
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()
        if self._timer is None and not self._handed_over:
            self._arm()

    def resume_writing(self) -> None:
        self._stop()
        self._inner.resume_writing()

    # -- the deadline --------------------------------------------------------------------------
    def hand_over(self) -> None:
        """This connection's writes have a deadline of their own from now on."""
        self._handed_over = True
        self._stop()

    def _arm(self) -> None:
        """Start a period of ``send_timeout`` seconds for what is unsent now."""
        transport = self._transport
        self._waiting = transport.get_write_buffer_size() if transport is not None else 0
        self._timer = asyncio.get_running_loop().call_later(self._timeout, self._expire)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        """A period ended with writing still paused: another one if the client took enough,
        else cut it off."""
        self._timer = None
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        taken = self._waiting - transport.get_write_buffer_size()
        if taken >= min(PROGRESS_BYTES, self._waiting // 2) and taken > 0:
            self._arm()
            return
        transport.abort()
        self._cut()


def hand_over(request: web.Request) -> None:
    """Leave ``request``'s connection to a deadline of its own (a live client's)."""
    transport = request.transport
    protocol = transport.get_protocol() if transport is not None else None
    if isinstance(protocol, DeadlineProtocol):
        protocol.hand_over()


class CutOffLog:
    """Counts the clients cut off by the deadline and logs them, throttled."""

    def __init__(self, timeout: float, count: Callable[[], None]) -> None:
        self.timeout = timeout
        self._count = count
        self._throttle = LogThrottle(CUT_LOG_INTERVAL)

    def __call__(self) -> None:
        self._count()
        cuts = self._throttle.due()
        if cuts is not None:
            log.info(
                "cut off %d HTTP client(s) that took (almost) nothing of an answer for %.1f s "
                "(send_timeout)",
                cuts,
                self.timeout,
            )
