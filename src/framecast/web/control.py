"""``/control``: a WebSocket carrying JSON commands and their JSON replies (SPEC §4.3).

Every message gets exactly one reply, in order; errors (``bad json``, ``unknown command``,
a failing handler) are replies and the socket stays open. A message larger than
``max_message_bytes`` closes the socket with 1009. Binary messages are read as UTF-8 JSON.

Reading and dispatching are separate tasks joined by a small bounded queue, so pings are
answered while a slow command runs, and a client that floods commands is slowed down
(backpressure) rather than buffered without limit. This socket never carries images, so
replies never wait behind image traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSMsgType, web

from .. import protocol
from .context import CONTEXT, WebContext
from .guards import check_operator
from .ws import finish_task, open_socket

__all__ = ["control_handler"]

log = logging.getLogger("framecast.control")

_QUEUE = 8
_CLOSE_GRACE = 0.5


def _check_operator(request: web.Request, context: WebContext) -> None:
    check_operator(request, context, "/control")


async def _replier(
    request: web.Request,
    ws: web.WebSocketResponse,
    queue: asyncio.Queue[str | bytes | None],
    context: WebContext,
) -> None:
    timeout = context.settings.send_timeout
    while True:
        message = await queue.get()
        if message is None:
            return
        try:
            command = protocol.parse_command(message)
        except protocol.CommandError as exc:
            reply = exc.reply
        else:
            reply = await context.commands.dispatch(command, context)
            context.commands_run += 1
        try:
            await asyncio.wait_for(ws.send_str(protocol.encode_reply(reply)), timeout)
        except TimeoutError:
            context.evicted += 1
            log.info("disconnected a control client that did not read for %.1f s", timeout)
            if request.transport is not None:
                request.transport.abort()  # a stalled peer cannot complete a close handshake
            return
        except (ConnectionError, RuntimeError):
            return


async def _enqueue(
    queue: asyncio.Queue[str | bytes | None], message: str | bytes, replier: asyncio.Task[None]
) -> bool:
    """Hand ``message`` to the replier, waiting while it is busy; False once it is gone."""
    if replier.done():
        return False
    if not queue.full():
        queue.put_nowait(message)
        return True
    putter = asyncio.ensure_future(queue.put(message))
    await asyncio.wait({putter, replier}, return_when=asyncio.FIRST_COMPLETED)
    if putter.done():
        return True
    putter.cancel()
    await asyncio.gather(putter, return_exceptions=True)
    return False


async def _close_on_stop(ws: web.WebSocketResponse, context: WebContext) -> None:
    await context.closing.wait()
    with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
        await asyncio.wait_for(ws.close(code=1001, message=b"server stopped"), _CLOSE_GRACE)


async def control_handler(request: web.Request) -> web.WebSocketResponse:
    """``GET /control``: JSON commands in, JSON replies out."""
    context = request.app[CONTEXT]
    ws = await open_socket(request, context, _check_operator)
    context.add_socket(ws)
    queue: asyncio.Queue[str | bytes | None] = asyncio.Queue(_QUEUE)
    replier = asyncio.create_task(
        _replier(request, ws, queue, context), name="framecast-control-reply"
    )
    stopper = asyncio.create_task(_close_on_stop(ws, context), name="framecast-control-stop")
    try:
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                if not await _enqueue(queue, msg.data, replier):
                    break
            elif msg.type == WSMsgType.ERROR:
                log.debug("control socket closed: %s", ws.exception())
                break
    finally:
        context.discard_socket(ws)
        stopper.cancel()
        if not replier.done():
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        await finish_task(replier, _CLOSE_GRACE * 2)
        await asyncio.gather(stopper, return_exceptions=True)
    return ws
