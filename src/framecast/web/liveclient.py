"""One live client: the connection behind ``/ws``, ``/frames``, ``/events`` and ``/control``.

A :class:`LiveClient` is admitted once (Origin for sockets, access, ``max_clients``,
``max_clients_per_address``, not while stopping), counted in the server's
:class:`~framecast.web.context.Connections` until it is released, and is the only place
that writes to its peer:

* :meth:`LiveClient.send` runs one write with the ``send_timeout`` deadline (bytes it leaves
  unsent get a timer with the same deadline). A peer that has not taken the bytes by then is
  evicted: counted, logged once, and its transport
  **aborted** — closing would wait for unsent bytes that a stalled peer never takes, keeping
  its socket and buffers alive past ``max_clients``.
* :meth:`LiveClient.feed` takes frames from the client's latest-wins slot in the hub and
  sends each one as its protocol renders it; when the hub closes it says goodbye.
* :meth:`LiveClient.direct_writer` is the fast path: when the client is idle (its sender
  waits, its slot is empty, its transport holds no unsent bytes) the hub writes the frame's
  prebuilt WebSocket message straight to the transport, without waking the sender. Bytes
  it leaves unsent have the same deadline: a peer that has not taken them within
  ``send_timeout`` is evicted, even when no further frame comes to find it stalled.
* :meth:`LiveClient.release` unregisters it and aborts a transport that still holds unsent
  bytes (a peer dropped by the heartbeat, for instance).

The routes only say how a frame or a reply is rendered for their protocol.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aiohttp import WSMsgType, web

from framecast.live import protocol
from framecast.live.frames import Frame
from framecast.live.hub import Subscription
from framecast.live.protocol import Notice
from framecast.live.streams import Stream
from framecast.runtime.deadline import cancel_all, within
from framecast.web.context import CONTEXT, WebContext
from framecast.web.guards import admit_live, check_origin, check_viewer
from framecast.web.senddeadline import hand_over
from framecast.web.streampaths import stream_of

__all__ = [
    "GOODBYE_GRACE",
    "Listen",
    "Listener",
    "LiveClient",
    "SocketFormat",
    "finish_task",
    "stream_to_socket",
]

log = logging.getLogger("framecast.web")

#: Seconds a goodbye (``disconnect``, close frame) may take before the client is dropped.
GOODBYE_GRACE = 0.5

Access = Callable[[web.Request, WebContext], None]
#: What the fast path writes: a frame or a notice.
_Sent = TypeVar("_Sent", Frame, Notice)


class LiveClient:
    """One admitted live connection; see the module docstring."""

    __slots__ = (
        "_released",
        "_sending",
        "_unsent_since",
        "_watch",
        "address",
        "context",
        "kind",
        "request",
        "transport",
    )

    def __init__(self, request: web.Request, context: WebContext, kind: str, address: str):
        self.request = request
        self.context = context
        self.kind = kind
        self.address = address
        self.transport = request.transport
        self._released = False
        self._sending = False  # a write with its own deadline is under way
        self._unsent_since: float | None = None  # when a direct write left bytes unsent
        self._watch: asyncio.TimerHandle | None = None

    @classmethod
    def admit(
        cls,
        request: web.Request,
        kind: str,
        *,
        check_access: Access = check_viewer,
    ) -> LiveClient:
        """Check everything a new live connection must pass, or raise the HTTP error that
        says why not (403, 401, 503); the client is counted until :meth:`release`."""
        context = request.app[CONTEXT]
        check_origin(request, context)  # sockets and event streams alike
        address = admit_live(request, context, check_access)
        client = cls(request, context, kind, address)
        context.live.add(client, address)
        hand_over(request)  # its writes have the deadline below, with eviction and goodbye
        return client

    async def open_socket(self) -> web.WebSocketResponse[bool]:
        """Upgrade to a WebSocket. Compression is never negotiated (deflating JPEG costs a
        lot of CPU for nothing); text arrives as raw bytes, so invalid UTF-8 is the route's
        to answer; a message of exactly ``max_message_bytes`` is accepted (aiohttp refuses
        ``max_msg_size`` itself, hence the + 1), a larger one closes with 1009."""
        settings = self.context.settings
        ws: web.WebSocketResponse[bool] = web.WebSocketResponse(
            heartbeat=settings.heartbeat,
            max_msg_size=settings.max_message_bytes + 1,
            compress=False,
            decode_text=False,
        )
        await ws.prepare(self.request)
        return ws

    # -- writing -------------------------------------------------------------------------------
    async def send(self, write: Awaitable[object]) -> bool:
        """Await one write within ``send_timeout``; False when the client is gone (evicted,
        or its connection already lost)."""
        self._sending = True
        try:
            async with asyncio.timeout(self.context.settings.send_timeout):
                await write
        except TimeoutError:
            self.evict()
            return False
        except (ConnectionError, RuntimeError):
            return False
        finally:
            self._sending = False
        # A small write "succeeds" without waiting for the peer (aiohttp drains only above
        # its high-water mark): bytes still unsent start a deadline of their own.
        transport = self.transport
        if transport is not None and transport.get_write_buffer_size():
            self._unsent(transport)
        else:
            self._unsent_since = None
        return True

    def evict(self) -> None:
        """Drop a client that does not read: count it, log one line, abort its transport."""
        self.context.counters.clients_evicted += 1
        log.info(
            "disconnected a %s client that did not read for %.1f s",
            self.kind,
            self.context.settings.send_timeout,
        )
        self.abort()

    def abort(self) -> None:
        """Drop the connection now, with whatever is still unsent."""
        if self.transport is not None:
            self.transport.abort()

    async def hang_up(self) -> None:
        """The last step of a socket's goodbye, once the close handshake is done: drop the
        connection (the server is going away; its port is free at once, no TIME_WAIT)."""
        self.abort()

    async def goodbye(self, *writes: Callable[[], Awaitable[object]]) -> None:
        """Say goodbye (each write within :data:`GOODBYE_GRACE`); a peer that does not take
        it is aborted, never waited for."""
        for write in writes:
            try:
                await within(write(), GOODBYE_GRACE)
            except (TimeoutError, ConnectionError, RuntimeError):
                self.abort()
                return

    def release(self) -> None:
        """Stop counting this client; abort its transport if unsent bytes remain (closing
        would hold the socket until a peer that stopped reading takes them)."""
        if self._released:
            return
        self._released = True
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        self.context.live.discard(self, self.address)
        transport = self.transport
        if transport is not None and transport.get_write_buffer_size():
            transport.abort()

    def on_hangup(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the loop when the peer's connection is lost.

        For a plain HTTP stream (``/events``), which has no reader of its own: like aiohttp's
        WebSocket, it installs a payload parser on the connection, whose end of input is the
        hang-up, and turns off keep-alive (nothing else may be read on this connection)."""
        protocol = self.request.protocol
        protocol.keep_alive(False)
        protocol.set_parser(_HangUp(callback))  # type: ignore[arg-type]

    # -- frames --------------------------------------------------------------------------------
    def direct_writer(
        self, ws: web.WebSocketResponse[bool], wire: Callable[[_Sent], bytes]
    ) -> Callable[[_Sent], bool] | None:
        """The hub's fast path for a socket: write ``wire(item)`` (a whole WebSocket frame,
        for a frame or a notice) at once when nothing is waiting to be sent, else decline
        (the sender takes it)."""
        transport = self.transport
        if transport is None:
            return None

        def direct(item: _Sent) -> bool:
            if ws.closed or transport.is_closing() or transport.get_write_buffer_size():
                return False
            transport.write(wire(item))
            if transport.get_write_buffer_size():
                self._unsent(transport)
            else:
                self._unsent_since = None
            return True

        return direct

    def _unsent(self, transport: asyncio.Transport) -> None:
        """A write left bytes unsent: watch that they go within ``send_timeout``."""
        loop = asyncio.get_running_loop()
        self._unsent_since = loop.time()
        if self._watch is None:
            self._watch = loop.call_later(
                self.context.settings.send_timeout, self._check_unsent, transport
            )

    def _check_unsent(self, transport: asyncio.Transport) -> None:
        """Evict the peer if what a write left unsent ``send_timeout`` ago is still there:
        more than the transport's low-water mark unsent, and nothing written since (a
        direct write needs an empty buffer; a sender's write restarts the deadline)."""
        self._watch = None
        since = self._unsent_since
        if since is None or self._released or self._sending or transport.is_closing():
            return  # gone, or a write under way has its own deadline
        if self.context.closing.is_set():
            return  # stopping: the goodbye has its own grace
        loop = asyncio.get_running_loop()
        left = since + self.context.settings.send_timeout - loop.time()
        if left > 0:  # a later write left bytes: their own full deadline
            self._watch = loop.call_later(left, self._check_unsent, transport)
        elif transport.get_write_buffer_size() > transport.get_write_buffer_limits()[0]:
            self.evict()  # as a send() would: its drain waits for the low-water mark
        else:
            self._unsent_since = None

    async def feed(
        self,
        sub: Subscription,
        render: Callable[[Frame], Awaitable[object]],
        goodbye: tuple[Callable[[], Awaitable[object]], ...],
        *,
        idle: float | None = None,
        keepalive: Callable[[], Awaitable[object]] | None = None,
        notice: Callable[[Notice], Awaitable[object]] | None = None,
    ) -> None:
        """Send each frame from ``sub`` as ``render(frame)`` (and each notice, for a
        subscription that hears them, as ``notice(it)``) until the client is gone or the
        hub closes (then ``goodbye``). With ``idle``, ``keepalive()`` is sent after that many
        quiet seconds (the wait itself is on the slot: no polling, no task per wait)."""
        while True:
            try:
                async with asyncio.timeout(idle):
                    frame = await sub.next()
            except TimeoutError:
                if keepalive is None or not await self.send(keepalive()):
                    return
                continue
            if frame is None:  # the server is stopping
                await self.goodbye(*goodbye)
                return
            if isinstance(frame, Notice):
                if notice is not None and not await self.send(notice(frame)):
                    return
                continue
            sent = await self.send(render(frame))
            del frame  # a waiting client must not keep an old frame alive
            if not sent:
                return


class _HangUp:
    """A payload parser for a connection whose peer has nothing more to say: what it sends
    is dropped, and the end of input (the connection lost) calls ``callback``."""

    __slots__ = ("_callback",)

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback: Callable[[], None] | None = callback

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        return False, b""

    def feed_eof(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()


class Listener(Protocol):
    """What hears a push socket's client (``/ws``'s viewers: docs/together.md)."""

    async def heard(self, data: bytes) -> None: ...

    def leave(self) -> None: ...


#: Makes the listener of a newly opened socket: its client, its socket, its stream.
Listen = Callable[[LiveClient, web.WebSocketResponse[bool], Stream], Listener]


@dataclass(frozen=True, slots=True)
class SocketFormat:
    """How a push socket renders a frame: the whole WebSocket frame for the fast path, and
    the message and its type for aiohttp's writer; and, if its clients may speak, what
    listens to them (else what they send is read and ignored)."""

    kind: str
    wire: Callable[[Frame], bytes]
    message: Callable[[Frame], bytes]
    opcode: WSMsgType
    listen: Listen | None = None
    #: The text message a notice is sent as (docs/together.md), or ``None``: no notices.
    notice: Callable[[Notice], bytes] | None = None


async def stream_to_socket(request: web.Request, fmt: SocketFormat) -> web.WebSocketResponse[bool]:
    """Serve one push socket of the request's stream: every new frame as ``fmt`` renders
    it, newest wins; messages from the client are read (that keeps pings alive) and go to
    ``fmt.listen``'s listener, if any, else are ignored."""
    stream = stream_of(request)  # an unknown stream is a 404 before anything is counted
    client = LiveClient.admit(request, fmt.kind)
    try:
        ws = await client.open_socket()
        hub = stream.hub
        sub = hub.subscribe(fmt.kind, notices=fmt.notice is not None)
        sub.direct = client.direct_writer(ws, fmt.wire)
        if fmt.notice is not None:
            sub.direct_notice = client.direct_writer(ws, _notice_wire)

        def render(frame: Frame) -> Coroutine[Any, Any, None]:
            return ws.send_frame(fmt.message(frame), fmt.opcode)

        def told(notice: Notice) -> Coroutine[Any, Any, None]:
            assert fmt.notice is not None
            return ws.send_frame(fmt.notice(notice), WSMsgType.TEXT)

        goodbye = (
            lambda: ws.send_str(protocol.DISCONNECT),
            lambda: ws.close(code=1001, message=b"server stopped"),
            client.hang_up,
        )
        sender = asyncio.create_task(
            client.feed(sub, render, goodbye, notice=told), name=f"framecast-{fmt.kind}-send"
        )
        listener = fmt.listen(client, ws, stream) if fmt.listen is not None else None
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR or sender.done():
                    break
                if listener is not None and msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await listener.heard(msg.data)
        finally:
            if listener is not None:
                listener.leave()
            sub.close()
            client.release()  # a peer dropped with unsent bytes is aborted here, at once
            await finish_task(sender, GOODBYE_GRACE * 3)
    finally:
        client.release()
    return ws


def _notice_wire(notice: Notice) -> bytes:
    return notice.ws_message


async def finish_task(task: asyncio.Task[None], grace: float) -> None:
    """Let ``task`` finish on its own for up to ``grace`` seconds, then cancel it."""
    if not task.done():
        try:
            await within(asyncio.shield(task), grace)
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            task.cancel()
            raise
    await cancel_all([task], "closing a connection")
