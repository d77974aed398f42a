"""``/events``: Server-Sent Events, the push-only twin of ``/ws`` (docs/control.md).

The stream starts with a ``retry:`` hint (a few seconds, with random jitter so that many
browsers do not all reconnect at the same instant after a restart), then carries
``event: new_image`` with the same JSON as ``/ws`` and ``id: <seq>``, the stream's notices as
``/ws`` sends them, each an event named after its type (``marks``, ``presenter``, ``alert``:
docs/together.md; a page on ``/events`` follows a presenter but cannot present), keep-alive comments
while nothing happens, and ``event: disconnect`` before the server stops.

A reconnecting ``EventSource`` sends ``Last-Event-ID``: it then gets the *current* image
at once if it is newer than the one it saw (not a replay of everything it missed). A fresh
client, like a ``/ws`` client, hears only about images published after it connected.
Each client has one latest-wins slot; one that does not read is disconnected after
``send_timeout`` seconds (all of that is :mod:`framecast.web.liveclient`'). A client that
goes away closes its slot at once: the stream waits on the slot, it does not poll. There
is no fast path: the chunked transfer encoding of an event stream is aiohttp's to write.
"""

from __future__ import annotations

import random

from aiohttp import web

from framecast.live import protocol
from framecast.live.hub import Hub
from framecast.web.liveclient import LiveClient
from framecast.web.streampaths import stream_of

__all__ = ["RETRY_MS", "events_handler", "retry_hint"]

#: Reconnection delay advised to browsers, before jitter.
RETRY_MS = 2000
_JITTER_MS = 1500
_KEEPALIVE_DEFAULT = 15.0
_KEEPALIVE = b": keep-alive\n\n"
_DISCONNECT = protocol.sse_event("disconnect", protocol.DISCONNECT)


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


def _opening(request: web.Request, hub: Hub) -> bytes:
    """The retry hint, then the current image when a reconnecting client missed it."""
    first = f"retry: {retry_hint()}\n\n".encode()
    last_seen = _last_event_id(request)
    latest = hub.latest
    if last_seen is not None and latest is not None and latest.seq != last_seen:
        first += latest.renderings.sse_event  # resume: the current state, not a replay
    return first


async def events_handler(request: web.Request) -> web.StreamResponse:
    """``GET /events``: ``text/event-stream`` of ``new_image`` and ``disconnect`` events."""
    stream = stream_of(request)
    client = LiveClient.admit(request, "events")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    try:
        context = client.context
        sub = stream.hub.subscribe("events", notices=True)
        try:
            await response.prepare(request)
            client.on_hangup(sub.close)  # a client that leaves ends the wait on its slot
            if await client.send(response.write(_opening(request, stream.hub))):
                await client.feed(
                    sub,
                    lambda frame: response.write(frame.renderings.sse_event),
                    (lambda: response.write(_DISCONNECT), response.write_eof),
                    idle=context.settings.heartbeat or _KEEPALIVE_DEFAULT,
                    keepalive=lambda: response.write(_KEEPALIVE),
                    notice=lambda notice: response.write(notice.sse_event),
                )
        except (ConnectionError, RuntimeError):
            pass  # the client went away while the stream was being opened
        finally:
            sub.close()
    finally:
        client.release()
    return response
