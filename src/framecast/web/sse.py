"""``/events``: Server-Sent Events, the push-only twin of ``/ws`` (SPEC §4.4).

The stream starts with a ``retry:`` hint (a few seconds, with random jitter so that many
browsers do not all reconnect at the same instant after a restart), then carries
``event: new_image`` with the same JSON as ``/ws`` and ``id: <seq>``, keep-alive comments
while nothing happens, and ``event: disconnect`` before the server stops.

A reconnecting ``EventSource`` sends ``Last-Event-ID``: it then gets the *current* image
at once if it is newer than the one it saw (not a replay of everything it missed). A fresh
client, like a ``/ws`` client, hears only about images published after it connected.
Each client has one latest-wins slot; one that does not read is disconnected after
``send_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from aiohttp import web

from .. import protocol
from ..frames import Frame
from ..hub import Subscription
from .context import CONTEXT, WebContext
from .guards import admit_live, check_origin

__all__ = ["RETRY_MS", "events_handler", "retry_hint"]

log = logging.getLogger("framecast.web")

#: Reconnection delay advised to browsers, before jitter.
RETRY_MS = 2000
_JITTER_MS = 1500
_KEEPALIVE_DEFAULT = 15.0
#: How often a quiet stream checks whether its client went away.
_POLL = 1.0
_KEEPALIVE = b": keep-alive\n\n"


def retry_hint(rng: random.Random | None = None) -> int:
    """Milliseconds to advise in ``retry:``: :data:`RETRY_MS` plus random jitter."""
    return RETRY_MS + (rng or random).randrange(_JITTER_MS)


def _last_event_id(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("lastEventId")
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return -1  # a client that saw something we cannot place: give it the current state


def _event(frame: Frame) -> bytes:
    return protocol.sse_event("new_image", protocol.new_image_text(frame), event_id=frame.seq)


async def _stream(
    request: web.Request, response: web.StreamResponse, sub: Subscription, context: WebContext
) -> None:
    timeout = context.settings.send_timeout
    keepalive = context.settings.heartbeat or _KEEPALIVE_DEFAULT
    transport = request.transport
    loop = asyncio.get_running_loop()
    last_write = loop.time()
    waiter: asyncio.Task[Frame | None] | None = None
    try:
        while True:
            if waiter is None:
                waiter = asyncio.create_task(sub.next(), name="framecast-events-next")
            done, _ = await asyncio.wait({waiter}, timeout=_POLL)
            if transport is None or transport.is_closing():
                return  # the client went away
            if not done:
                if loop.time() - last_write < keepalive:
                    continue
                payload = _KEEPALIVE
            else:
                frame = waiter.result()
                waiter = None
                if frame is None:  # the server is stopping
                    with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
                        await asyncio.wait_for(
                            response.write(protocol.sse_event("disconnect", protocol.DISCONNECT)),
                            timeout,
                        )
                        await asyncio.wait_for(response.write_eof(), timeout)
                    return
                payload = _event(frame)
            try:
                await asyncio.wait_for(response.write(payload), timeout)
            except TimeoutError:
                context.evicted += 1
                log.info("disconnected an event stream that did not read for %.1f s", timeout)
                transport.abort()
                return
            except (ConnectionError, RuntimeError):
                return
            last_write = loop.time()
    finally:
        if waiter is not None:
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)


async def events_handler(request: web.Request) -> web.StreamResponse:
    """``GET /events``: ``text/event-stream`` of ``new_image`` and ``disconnect`` events."""
    context = request.app[CONTEXT]
    check_origin(request, context)
    admit_live(request, context)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    sub = context.hub.subscribe("events")
    context.add_socket(response)
    try:
        await response.prepare(request)
        first = f"retry: {retry_hint()}\n\n".encode()
        last_seen = _last_event_id(request)
        latest = context.hub.latest
        if last_seen is not None and latest is not None and latest.seq != last_seen:
            first += _event(latest)  # resume: the current state, not a replay
        await asyncio.wait_for(response.write(first), context.settings.send_timeout)
        await _stream(request, response, sub, context)
    except (TimeoutError, ConnectionError, RuntimeError):
        pass
    finally:
        sub.close()
        context.discard_socket(response)
    return response
