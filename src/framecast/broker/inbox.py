"""What a node reads from the broker: its subscription to its channels (docs/scale-out.md).

A node listens on ``{ns}:frames``, where every node announces its frames, and on its own
``{ns}:node:{id}``, where requests and replies for it arrive, and on ``{ns}:marks``, where
nodes say a stream's shared marks changed, through one Redis subscription. Anyone who can
write to Redis can flood them, and Redis delivers a channel's messages in order, so the real
ones wait behind a flood. Reading is therefore bounded:

- messages already waiting are read one per turn of the event loop, so a backlog never
  holds up the viewers' work;
- when messages have been waiting for :data:`BEHIND_AFTER` s without a pause, the node is
  *behind*: the frame relay stops waiting for the announcements and reads the streams'
  counters instead (:meth:`~framecast.broker.relay.FrameRelay.falling_behind`), until
  everything sent has been read;
- after :data:`SHED_AFTER` s it is a *flood*: the subscription is dropped with everything
  queued for it (a new one starts empty, whatever Redis held for the old one), and for
  :data:`FLOOD_PAUSE` s the node reads its own channel only, the relay polling meanwhile;
  then it listens on both again, and the relay looks for streams announced meanwhile.

Each dropped flood is counted (:attr:`Inbox.floods`) and logged at most once per
:data:`FLOOD_LOG_INTERVAL` s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from framecast.runtime.deadline import within
from framecast.runtime.throttle import LogThrottle

__all__ = ["BEHIND_AFTER", "FLOOD_PAUSE", "SHED_AFTER", "Inbox"]

log = logging.getLogger("framecast.broker")

#: Seconds of messages read without a pause after which the node counts as behind.
BEHIND_AFTER = 0.05
#: Seconds of messages read without a pause after which they are a flood, dropped unread.
SHED_AFTER = 0.25
#: Seconds the node reads only its own channel after dropping a flood.
FLOOD_PAUSE = 1.0
#: A dropped flood is logged at most once per this many seconds.
FLOOD_LOG_INTERVAL = 30.0


class Inbox:
    """One node's subscription: ``announcements`` (``{ns}:frames``) and ``own``
    (``{ns}:node:{id}``). ``announced`` and ``received`` get each message's bytes;
    ``behind`` and ``caught_up`` say whether announcements are read as they come;
    ``resumed``, that they are read again after a flood was dropped."""

    def __init__(
        self,
        announcements: str,
        own: str,
        *,
        others: Mapping[str, Callable[[bytes], None]] | None = None,
        announced: Callable[[bytes], None],
        received: Callable[[bytes], None],
        behind: Callable[[], None],
        caught_up: Callable[[], None],
        resumed: Callable[[], None],
        io_timeout: float,
        close_wait: float,
    ) -> None:
        self._announcements = announcements
        self._own = own
        #: Channels read with the announcements (marks, views, alerts), each with its reader.
        self._others = dict(others or {})
        self._announced = announced
        self._received = received
        self._behind = behind
        self._caught_up = caught_up
        self._resumed = resumed
        self._io_timeout = io_timeout
        self._close_wait = close_wait
        self._client: Any = None
        self._pubsub: Any = None
        self._flooded = LogThrottle(FLOOD_LOG_INTERVAL)
        #: Floods dropped unread since the start.
        self.floods = 0

    async def open(self, client: Any, *, announcements: bool = True) -> None:
        """Subscribe through ``client`` (to the announcements too, unless told not to),
        within the link's time for one call; a subscription already open is dropped."""
        await self.close()
        self._client = client
        self._pubsub = client.pubsub()
        channels = [self._announcements, *self._others, self._own] if announcements else [self._own]
        await within(self._pubsub.subscribe(*channels), self._io_timeout)

    async def close(self) -> None:
        """Drop the subscription (Redis drops whatever it still held for it)."""
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await within(pubsub.aclose(), self._close_wait)

    async def read(self) -> None:
        """Read until the link fails (its error is raised); floods are dropped (see the
        module docstring)."""
        loop = asyncio.get_running_loop()
        while True:
            await self._until_flooded(announcements=True)
            self.floods += 1
            self._behind()
            count = self._flooded.due()
            if count is not None:
                log.warning(
                    "a flood on the broker's channels (%d since the last report): dropped "
                    "unread; announcements are not read for %g s, the streams' counters are "
                    "polled meanwhile",
                    count,
                    FLOOD_PAUSE,
                )
            resume = loop.time() + FLOOD_PAUSE
            while (left := resume - loop.time()) > 0:
                await self.open(self._client, announcements=False)
                with contextlib.suppress(TimeoutError):
                    await within(self._until_flooded(announcements=False), left)
            await self.open(self._client)
            self._resumed()

    async def _until_flooded(self, *, announcements: bool) -> None:
        """Read and hand over messages; return once they have come without a pause for
        :data:`SHED_AFTER` s."""
        pubsub = self._pubsub
        loop = asyncio.get_running_loop()
        frames = self._announcements.encode()
        others = {name.encode(): read for name, read in self._others.items()}
        busy_since: float | None = None
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.0)
            if message is None:  # nothing waiting: everything sent so far is read
                busy_since = None
                if announcements:
                    self._caught_up()
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            else:
                now = loop.time()
                if busy_since is None:
                    busy_since = now
                elif now - busy_since > SHED_AFTER:
                    return
                elif now - busy_since > BEHIND_AFTER:
                    self._behind()
                await asyncio.sleep(0)  # one message per turn: the viewers' work goes on
            if message is None or message.get("type") != "message":
                continue
            data = message.get("data")
            if not isinstance(data, bytes):
                continue
            channel = message.get("channel")
            if channel == frames:
                self._announced(data)
            elif channel in others:
                others[channel](data)
            else:
                self._received(data)
