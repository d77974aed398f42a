"""``/control``: a WebSocket carrying JSON commands and their JSON replies (docs/control.md).

Every message gets exactly one reply, in order; errors (``bad json``, ``unknown command``, a
failing handler, a command over a rate limit) are replies and the socket stays open — invalid
UTF-8 in a text message too (``bad json``, not aiohttp's 1007 close: text arrives as raw
bytes). A message of up to ``max_message_bytes`` is read; a larger one closes the socket with
1009. Binary messages are read as UTF-8 JSON. The commands are for the socket's stream, which
a custom handler's fields name (``"default"`` at the root).

Reading and dispatching are separate tasks joined by a small bounded queue, so pings are
answered while a slow command runs, and a client that floods commands is slowed down
(backpressure) rather than buffered without limit; beyond that, each socket's commands are
rate-limited (:meth:`~framecast.live.commands.Commands.receive`). This socket never carries
images, so replies never wait behind image traffic. Admission, the deadline on each reply,
eviction and the goodbye are :mod:`framecast.web.liveclient`'.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSMsgType, web

from framecast.config.streamname import DEFAULT_STREAM
from framecast.live import protocol
from framecast.live.streams import Stream
from framecast.runtime.deadline import cancel_all
from framecast.web.context import WebContext
from framecast.web.guards import check_operator
from framecast.web.liveclient import GOODBYE_GRACE, LiveClient, finish_task
from framecast.web.streampaths import stream_of

__all__ = ["control_handler"]

log = logging.getLogger("framecast.control")

_QUEUE = 8


def _check_operator(request: web.Request, context: WebContext) -> None:
    check_operator(request, context, "/control")


async def _replier(
    client: LiveClient,
    stream: Stream,
    ws: web.WebSocketResponse[bool],
    queue: asyncio.Queue[str | bytes | None],
) -> None:
    context = client.context
    limit = context.commands.connection_bucket()  # this connection's own rate limit
    while True:
        message = await queue.get()
        if message is None:
            return
        try:
            command = protocol.parse_command(message)
        except protocol.CommandError as exc:
            reply = exc.reply
        else:
            reply = await context.commands.receive(
                command, stream, stream=stream.name, connection=limit, publisher=stream.publisher
            )
            if command.name == "reset" and stream.name == DEFAULT_STREAM and reply.get("ok"):
                context.counters.reset()  # the server's, as before there were streams
        if not await client.send(ws.send_str(protocol.encode_reply(reply))):
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
    try:
        await asyncio.wait({putter, replier}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # the handler is cancelled (the server stops): no orphan put
        putter.cancel()
        raise
    if putter.done():
        return True
    await cancel_all([putter], "closing a control socket")
    return False


async def _close_on_stop(client: LiveClient, ws: web.WebSocketResponse[bool]) -> None:
    await client.context.closing.wait()
    await client.goodbye(lambda: ws.close(code=1001, message=b"server stopped"), client.hang_up)


async def control_handler(request: web.Request) -> web.StreamResponse:
    """``GET /control``: JSON commands in, JSON replies out, for the request's stream."""
    stream = stream_of(request)
    client = LiveClient.admit(request, "control", check_access=_check_operator)
    try:
        ws = await client.open_socket()
        queue: asyncio.Queue[str | bytes | None] = asyncio.Queue(_QUEUE)
        replier = asyncio.create_task(
            _replier(client, stream, ws, queue), name="framecast-control-reply"
        )
        stopper = asyncio.create_task(_close_on_stop(client, ws), name="framecast-control-stop")
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    if not await _enqueue(queue, msg.data, replier):
                        break
                elif msg.type == WSMsgType.ERROR:
                    log.debug("control socket closed: %s", ws.exception())
                    break
        finally:
            client.release()  # a peer dropped with unsent bytes is aborted here, at once
            stopper.cancel()
            if not replier.done():
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)
            await finish_task(replier, GOODBYE_GRACE * 2)
            await cancel_all([stopper], "closing a control socket")
    finally:
        client.release()
    return ws
