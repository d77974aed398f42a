"""Push WebSockets: ``/ws`` (ALS ``new_image`` notifications) and the shared machinery for
any socket that streams frames to a client through a latest-wins slot.

Each client gets one sender task that takes the newest frame from its slot and writes it
with a deadline. A client that stops reading blocks only its own sender; when a write has
not finished after ``send_timeout`` seconds the client is disconnected (evicted).

Fast path: the WebSocket frame of each image (header + payload) is built once and shared.
When a client is idle — its sender waits, its slot is empty and its transport holds no
unsent bytes — the hub writes that frame straight to the client's transport, without
waking the sender task. Anything else (a client still busy, bytes still buffered) takes
the slot and the sender, so flow control, latest-wins and eviction are unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import struct
from collections.abc import Callable

from aiohttp import WSMsgType, web

from .. import protocol
from ..frames import Frame
from ..hub import Subscription
from .context import CONTEXT, WebContext
from .guards import admit_live, check_origin, check_viewer

__all__ = ["finish_task", "notify_handler", "open_socket", "stream_frames"]

log = logging.getLogger("framecast.web")

Render = Callable[[Frame], str | bytes]
_CLOSE_GRACE = 0.5


async def open_socket(
    request: web.Request,
    context: WebContext,
    check_access: Callable[[web.Request, WebContext], None] = check_viewer,
) -> web.WebSocketResponse:
    """Check origin, access (viewer by default) and capacity, then upgrade. Compression is
    never negotiated: deflating JPEG bytes costs a lot of CPU for nothing."""
    check_origin(request, context)
    admit_live(request, context, check_access)
    ws = web.WebSocketResponse(
        heartbeat=context.settings.heartbeat,
        max_msg_size=context.settings.max_message_bytes,
        compress=False,
    )
    await ws.prepare(request)
    return ws


@functools.lru_cache(maxsize=4)
def wire_frame(render: Render, frame: Frame) -> bytes:
    """The unmasked, uncompressed WebSocket frame of ``render(frame)``, built once per frame
    and written as-is to every idle client (RFC 6455 §5.2: FIN, opcode, length, payload)."""
    payload = render(frame)
    if isinstance(payload, str):
        data, opcode = payload.encode(), 0x1
    else:
        data, opcode = payload, 0x2
    n = len(data)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return header + data


def _direct_writer(
    request: web.Request, ws: web.WebSocketResponse, render: Render
) -> Callable[[Frame], bool] | None:
    transport = request.transport
    if transport is None or ws.compress:  # a deflated socket needs aiohttp's own writer
        return None

    def direct(frame: Frame) -> bool:
        if ws.closed or transport.is_closing() or transport.get_write_buffer_size():
            return False
        transport.write(wire_frame(render, frame))
        return True

    return direct


async def _send(ws: web.WebSocketResponse, payload: str | bytes) -> None:
    if isinstance(payload, str):
        await ws.send_str(payload)
    else:
        await ws.send_bytes(payload)


async def _sender(
    request: web.Request,
    ws: web.WebSocketResponse,
    sub: Subscription,
    render: Render,
    context: WebContext,
) -> None:
    transport = request.transport
    timeout = context.settings.send_timeout
    while True:
        frame = await sub.next()
        if frame is None:  # the server is stopping
            try:
                await asyncio.wait_for(ws.send_str(protocol.DISCONNECT), _CLOSE_GRACE)
                await asyncio.wait_for(ws.close(code=1001, message=b"server stopped"), _CLOSE_GRACE)
            except (TimeoutError, ConnectionError, RuntimeError):
                pass
            return
        try:
            await asyncio.wait_for(_send(ws, render(frame)), timeout)
        except TimeoutError:
            context.evicted += 1
            log.info("disconnected a client that did not read for %.1f s", timeout)
            if transport is not None:
                transport.abort()  # a stalled peer cannot complete a close handshake
            return
        except (ConnectionError, RuntimeError):
            return


async def stream_frames(request: web.Request, kind: str, render: Render) -> web.WebSocketResponse:
    """Serve one push socket: every new frame rendered by ``render``, newest wins."""
    context = request.app[CONTEXT]
    ws = await open_socket(request, context)
    sub = context.hub.subscribe(kind)
    sub.direct = _direct_writer(request, ws, render)
    context.add_socket(ws)
    sender = asyncio.create_task(
        _sender(request, ws, sub, render, context), name=f"framecast-{kind}-send"
    )
    try:
        async for msg in ws:  # push-only: incoming text is ignored, but reading keeps pings alive
            if msg.type == WSMsgType.ERROR:
                break
            if sender.done():
                break
    finally:
        sub.close()
        context.discard_socket(ws)
        await finish_task(sender, _CLOSE_GRACE * 3)
    return ws


async def finish_task(task: asyncio.Task[None], grace: float) -> None:
    """Let ``task`` finish on its own for up to ``grace`` seconds, then cancel it."""
    if not task.done():
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
        except asyncio.CancelledError:
            task.cancel()
            raise
    await asyncio.gather(task, return_exceptions=True)


async def notify_handler(request: web.Request) -> web.WebSocketResponse:
    """``GET /ws``: a ``{"type": "new_image", ...}`` text message after each new image."""
    return await stream_frames(request, "ws", protocol.new_image_text)
