"""Control forwarding between nodes through the broker (docs/scale-out.md).

A ``/control`` command for a stream another node publishes is sent to that node's channel
``{ns}:node:{id}`` and waits ``broker_answer_timeout`` s (docs/scale-out.md) for the reply
(:meth:`ControlForwarding.forward`); a command another node sends to this node's channel is
run here, for a stream this node publishes, and answered on the asker's channel
(:meth:`ControlForwarding.answer`). Anything else gets :data:`NO_PUBLISHER`.

The :class:`~framecast.broker.node.Broker` link owns the connection, reads this node's channel,
hands replies and requests over, and bounds how many requests are answered at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

from framecast.broker import codec
from framecast.broker.link import Link
from framecast.live.commands import Commands
from framecast.live.protocol import Command
from framecast.runtime.deadline import within

__all__ = ["NO_PUBLISHER", "ControlForwarding"]

NO_PUBLISHER: dict[str, Any] = {"ok": False, "error": "no publisher answered"}
_BUSY: dict[str, Any] = {"ok": False, "error": "the publisher is busy; try again"}


class ControlForwarding:
    """One node's side of control forwarding: the replies it waits for, the requests it
    answers."""

    def __init__(self, link: Link, commands: Commands, *, timeout: float) -> None:
        self._link = link
        self._commands = commands
        #: Seconds a forwarded command waits for the publishing node's reply.
        self.timeout = timeout
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def forward(
        self, stream: str, publisher: str, named: str | None, command: Command
    ) -> dict[str, Any]:
        """Send ``command`` for ``stream`` to node ``publisher`` and return its reply, or
        :data:`NO_PUBLISHER` when it does not answer within :attr:`timeout` s."""
        link = self._link
        client = link.client
        if client is None:
            return dict(NO_PUBLISHER)
        ident = secrets.token_hex(8)
        request = codec.ControlRequest(ident, link.node, stream, named, command)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[ident] = future
        try:
            async with asyncio.timeout(self.timeout):
                heard = await client.publish(link.channel(publisher), codec.encode_request(request))
                if not heard:  # nobody listens on that node's channel: it is gone
                    return dict(NO_PUBLISHER)
                return await future
        except (TimeoutError, OSError, link.redis_error):
            return dict(NO_PUBLISHER)
        finally:
            self._replies.pop(ident, None)

    def replied(self, message: codec.ControlReply) -> None:
        """A reply to a command this node forwarded: its waiter gets it (a late or unknown
        one is dropped)."""
        future = self._replies.get(message.id)
        if future is not None and not future.done():
            future.set_result(message.reply)

    async def answer(self, request: codec.ControlRequest) -> None:
        """Run another node's command for a stream published here and send the reply."""
        streams = self._link.streams
        stream = streams.get(request.stream) if streams is not None else None
        if stream is None or stream.publisher is not None:
            reply = dict(NO_PUBLISHER)  # not (or no longer) published here
        else:
            reply = await self._commands.dispatch(request.command, stream, stream=stream.name)
        await self._send(request.sender, request.id, reply)

    async def busy(self, request: codec.ControlRequest) -> None:
        """Tell the asker this node has too many requests on hand to run its command."""
        await self._send(request.sender, request.id, dict(_BUSY))

    def close(self) -> None:
        """The link stops: every command still waiting gets :data:`NO_PUBLISHER`."""
        for future in self._replies.values():
            if not future.done():
                future.set_result(dict(NO_PUBLISHER))

    async def _send(self, sender: str, ident: str, reply: dict[str, Any]) -> None:
        link = self._link
        client = link.client
        if client is None:
            return
        with contextlib.suppress(TimeoutError, OSError, link.redis_error):
            await within(
                client.publish(link.channel(sender), codec.encode_reply(ident, reply)),
                link.io_timeout,
            )
