"""The frame relay between nodes through the broker (docs/scale-out.md).

- **Publishing**: every frame made on this node (:meth:`FrameRelay.on_frame`) is stored
  under ``{ns}:frame:{stream}`` (:mod:`framecast.broker.codec`) and announced on
  ``{ns}:frames``, in one round trip (:meth:`FrameRelay.publish`). The latest frame of each
  stream waits in an outbox (latest wins), so a slow broker never holds up the node and,
  after an outage, the newest local frame of each stream goes out first thing.
- **Numbering**: frames are numbered from a shared per-stream counter ``{ns}:seq:{stream}``
  that never goes backwards (``max(counter + 1, last number seen here + 1)``,
  :meth:`FrameRelay.numbering`); while the broker is away the node numbers on by itself.
- **Showing**: each announcement of another node's frame not yet seen
  (:meth:`FrameRelay.announced`) is remembered per stream (newer ones replace older ones: a
  node that falls behind skips, never queues; at most ``max_streams`` streams this node does
  not show yet) and the stored frame is fetched once (:meth:`FrameRelay.fetch`), checked
  like any input from outside, and handed to the local stream as it is
  (:meth:`~framecast.live.pipeline.Pipeline.show`). On every (re)connection
  (:meth:`FrameRelay.connected`) it reads every stored frame at once, so a node that joins
  shows every stream's current image.
- **Floods**: an announcement is only a hint. A frame is fetched only when the stream's
  shared counter says its number was given (a forged announcement costs one small read,
  never a frame), and while the link reads announcements slower than they come (a flood on
  ``{ns}:frames``: the real ones wait behind it), the node does not wait for them: every
  :data:`POLL_INTERVAL` s it reads the counters of the streams other nodes publish and
  fetches those that moved (:meth:`FrameRelay.falling_behind`, docs/scale-out.md).

The :class:`~framecast.broker.node.Broker` link owns the connection, subscribes to ``{ns}:frames``,
hands each announcement over, runs :meth:`~FrameRelay.fetch` and :meth:`~FrameRelay.publish`
while it is up, and counts and logs bad messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from framecast.broker import codec
from framecast.broker.link import Link
from framecast.errors import FramecastError
from framecast.live.frames import Frame
from framecast.runtime.deadline import within
from framecast.runtime.throttle import LogThrottle

log = logging.getLogger("framecast.broker")

__all__ = ["NUMBERING_TIMEOUT", "POLL_INTERVAL", "SCAN_COUNT", "FrameRelay"]

#: Seconds a frame's number may take from the shared counter before the node numbers it.
NUMBERING_TIMEOUT = 0.5
#: Stored frames read per (re)connection at most, per stream allowed on this node.
SCAN_COUNT = 100
#: Seconds between two reads of the streams' counters while announcements come faster
#: than the link reads them (a flood): the most a frame waits for the next read.
POLL_INTERVAL = 0.02
#: Falling behind the announcements is logged at most once per this many seconds.
BEHIND_LOG_INTERVAL = 30.0

# Counter: the next number is the counter + 1, but never below what this node has seen.
_NUMBER = """
local n = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1]) + 1
if n < floor then redis.call('SET', KEYS[1], floor); n = floor end
return n
"""
# Keep the counter at or above a frame's number (sent with the frame, which is stored by a
# plain SET: a Lua script would copy the frame's bytes twice more inside Redis).
_RAISE = """
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
"""


class FrameRelay:
    """One node's side of the frame relay: its frames out, other nodes' frames in."""

    def __init__(self, link: Link, *, max_streams: int) -> None:
        self._link = link
        self._max_streams = max_streams
        #: The channel every node announces its frames on.
        self.channel = f"{link.namespace}:frames"
        self.sent = 0  # frames stored and announced
        self.received = 0  # other nodes' frames shown here
        self._number: Any = None  # the counter's script while the link is up
        self._raise: Any = None
        self._outbox: dict[str, Frame] = {}
        self._made: dict[str, int] = {}  # stream → seq of the newest frame made here
        self._outbox_wake = asyncio.Event()
        #: stream → newest announced seq not fetched yet (0: whatever is stored)
        self._wanted: dict[str, int] = {}
        self._wanted_wake = asyncio.Event()
        self._scan_due = False
        self._scan_new_due = False  # only streams this node does not show yet
        self._poll_due = False  # the counters of the streams shown here, once
        #: Announcements come faster than the link reads them: poll the counters.
        self._behind = False
        self._behind_log = LogThrottle(BEHIND_LOG_INTERVAL)

    # -- the link's session ----------------------------------------------------------------
    def connected(self, client: Any) -> None:
        """The link is up on ``client``: number frames from the shared counters, show
        whatever was stored meanwhile (every stream, after a join or an outage) and send this
        node's newest frames again."""
        self._number = client.register_script(_NUMBER)
        self._raise = client.register_script(_RAISE)
        self._wanted_wake.set()
        self._scan_due = True
        streams = self._link.streams
        if streams is not None:
            for stream in streams:
                latest = stream.latest
                if latest is not None and latest.seq == self._made.get(stream.name):
                    self._outbox.setdefault(stream.name, latest)  # a restarted Redis lost it
            if self._outbox:
                self._outbox_wake.set()

    def disconnected(self) -> None:
        """The link is down: the node numbers its frames by itself."""
        self._number = self._raise = None

    # -- local frames (pipeline hooks, event loop) -----------------------------------------
    async def numbering(self, stream: str, last: int) -> int:
        """The next number of ``stream``'s frames, shared by every node (the pipeline's
        :data:`~framecast.live.pipeline.Numbering`); ``last + 1`` while the broker is away."""
        link = self._link
        if self._number is None and link.reason == "connecting":
            # Just started: the first connection is a moment away; a number made up now
            # could be one the other nodes have already shown.
            with contextlib.suppress(TimeoutError):
                await within(link.until_up(), NUMBERING_TIMEOUT)
        script = self._number
        if script is None or link.state != "ok":
            return last + 1
        try:
            value = await within(
                script(keys=[f"{link.namespace}:seq:{stream}"], args=[last]), NUMBERING_TIMEOUT
            )
            return max(int(value), last + 1)
        except (TimeoutError, OSError, ValueError, TypeError, link.redis_error):
            return last + 1  # the link's health check reports the outage

    def on_frame(self, frame: Frame) -> None:
        """A frame made here: it goes to the broker (the newest of each stream wins)."""
        streams = self._link.streams
        stream = streams.get(frame.stream) if streams is not None else None
        if stream is not None:
            stream.publisher = None
        self._made[frame.stream] = frame.seq
        self._outbox[frame.stream] = frame
        self._outbox_wake.set()

    # -- publishing ------------------------------------------------------------------------
    async def publish(self, client: Any) -> None:
        """Store and announce each new local frame: SET, counter, PUBLISH in one round trip
        (a pipeline, not a transaction: the announcement follows the stored frame)."""
        link, raise_counter = self._link, self._raise
        ns = link.namespace
        while True:
            await self._outbox_wake.wait()
            self._outbox_wake.clear()
            while self._outbox:
                name = next(iter(self._outbox))
                frame = self._outbox.pop(name)
                try:
                    # Closed on the way out, even when cancelled mid-way.
                    async with client.pipeline(transaction=False) as batch:
                        batch.set(f"{ns}:frame:{name}", codec.encode_frame(frame, link.node))
                        await raise_counter(
                            keys=[f"{ns}:seq:{name}"], args=[frame.seq], client=batch
                        )
                        announcement = codec.encode_announcement(name, frame.seq, link.node)
                        batch.publish(self.channel, announcement)
                        await within(batch.execute(), 4 * link.io_timeout)
                except BaseException:
                    self._outbox.setdefault(name, frame)  # sent again once the link is back
                    raise
                self.sent += 1

    # -- receiving -------------------------------------------------------------------------
    def announced(self, data: bytes) -> None:
        """An announcement on ``{ns}:frames``: another node's newer frame is wanted."""
        link = self._link
        try:
            note = codec.decode_announcement(data)
        except codec.WireError as exc:
            link.reject("an announcement", exc)
            return
        if note.node == link.node:
            return
        streams = link.streams
        stream = streams.get(note.stream) if streams is not None else None
        if stream is not None and stream.latest is not None and stream.latest.seq == note.seq:
            return
        if (
            stream is None
            and note.stream not in self._wanted
            and len(self._wanted) >= self._max_streams  # a flood of made-up names
        ):
            link.reject("an announcement", codec.WireError("more new streams than max_streams"))
            return
        self._wanted[note.stream] = note.seq
        self._wanted_wake.set()

    # -- floods (the link's listener says how it keeps up) --------------------------------
    def falling_behind(self) -> None:
        """Announcements have been waiting to be read for a while: poll the counters."""
        if not self._behind:
            self._behind = True
            self._wanted_wake.set()
            count = self._behind_log.due()
            if count is not None:
                log.info(
                    "announcements on %s come faster than this node reads them (%d time(s) "
                    "since the last report; a flood?): reading the streams' counters every "
                    "%g s until it has caught up",
                    self.channel,
                    count,
                    POLL_INTERVAL,
                )

    def caught_up(self) -> None:
        """Every announcement sent so far has been read."""
        self._behind = False

    def resumed(self) -> None:
        """Announcements are read again after some were dropped unread (a flood): look
        for streams stored meanwhile that this node does not show yet, and poll those it
        shows once more (a frame stored since the last poll was announced unheard)."""
        self._scan_new_due = self._poll_due = True
        self._wanted_wake.set()

    # -- fetching ----------------------------------------------------------------------------
    async def fetch(self, client: Any) -> None:
        """Fetch the newest stored frame of every stream announced (or, after connecting,
        of every stream stored, or while behind, of every stream another node publishes),
        once each, and only when its counter says the frame's number was given."""
        while True:
            if self._behind:
                with contextlib.suppress(TimeoutError):
                    await within(self._wanted_wake.wait(), POLL_INTERVAL)
            else:
                await self._wanted_wake.wait()
            self._wanted_wake.clear()
            if self._scan_due or self._scan_new_due:
                everything = self._scan_due
                self._scan_due = self._scan_new_due = False
                await self._scan(client, everything=everything)
            wanted, self._wanted = self._wanted, {}
            polled = self._published_elsewhere() if self._behind or self._poll_due else set()
            self._poll_due = False
            if wanted or polled:
                await self._fetch(client, wanted, polled)

    def _published_elsewhere(self) -> set[str]:
        streams = self._link.streams
        return {s.name for s in streams if s.publisher is not None} if streams else set()

    async def _fetch(self, client: Any, wanted: dict[str, int], polled: set[str]) -> None:
        """Read the counters of ``wanted`` and ``polled`` streams, then the frames due."""
        link = self._link
        ns = link.namespace
        names = list(wanted.keys() | polled)
        counters = await within(
            client.mget([f"{ns}:seq:{name}" for name in names]), link.io_timeout * 4
        )
        due = []
        for name, value in zip(names, counters, strict=True):
            announced, counter = wanted.get(name), _number(value)
            if announced and (counter is None or announced > counter):
                # The counter is raised before a frame is announced: nobody made this one.
                link.reject(
                    f"the announcement of frame {announced} of stream {name!r}",
                    codec.WireError("no node gave that number"),
                )
            if self._due(announced, counter, self._shown(name)):
                due.append(name)
        if not due:
            return
        blobs = await within(
            client.mget([f"{ns}:frame:{name}" for name in due]), link.io_timeout * 4
        )
        for name, blob in zip(due, blobs, strict=True):
            if blob is not None:
                await self._receive(name, blob)

    @staticmethod
    def _due(announced: int | None, counter: int | None, shown: int) -> bool:
        """Whether to fetch a stream's stored frame: after connecting (``announced`` 0),
        for an announced number not shown here, or when the counter is past what is shown
        (while polling, or when the announcement was not one a node made)."""
        if announced == 0:
            return True
        if counter is None:
            return False
        if announced is not None and announced != shown and announced <= counter:
            return True
        return counter > shown

    def _shown(self, name: str) -> int:
        streams = self._link.streams
        stream = streams.get(name) if streams is not None else None
        latest = stream.latest if stream is not None else None
        return latest.seq if latest is not None else 0

    async def _scan(self, client: Any, *, everything: bool) -> None:
        """Want the stored frame of every stream (only of streams not shown here, unless
        ``everything``)."""
        prefix = f"{self._link.namespace}:frame:"
        found: list[str] = []
        cursor = 0
        limit = self._max_streams * 2
        while True:
            cursor, keys = await within(
                client.scan(cursor, match=f"{prefix}*", count=SCAN_COUNT), self._link.io_timeout
            )
            for key in keys:
                name = key.decode("utf-8", "replace")[len(prefix) :]
                found.append(name)
            if not cursor or len(found) >= limit:
                break
        streams = self._link.streams
        for name in found[:limit]:
            if everything or streams is None or streams.get(name) is None:
                self._wanted.setdefault(name, 0)

    async def _receive(self, name: str, blob: bytes) -> None:
        link = self._link
        try:
            if codec.frame_node(blob) == link.node:
                return
            loop = asyncio.get_running_loop()
            node, frame = await loop.run_in_executor(
                link.executor, codec.decode_frame, blob, name, link.limits
            )
        except codec.WireError as exc:
            link.reject(f"the frame of stream {name!r}", exc)
            return
        del blob
        self._show(node, frame)

    def _show(self, node: str, frame: Frame) -> None:
        streams = self._link.streams
        if streams is None:
            return
        try:
            stream = streams.create(frame.stream)
        except FramecastError as exc:  # max_streams reached, or the server is stopping
            self._link.reject(f"the frame of stream {frame.stream!r}", exc)
            return
        latest = stream.latest
        if latest is not None and (
            latest.seq == frame.seq or (frame.seq < latest.seq and frame.time <= latest.time)
        ):
            return  # already shown, or older than what is shown
        if not stream.has_source:  # a stream fed here stays this node's to command
            stream.publisher = node
        stream.pipeline.show(frame)
        self.received += 1


def _number(value: Any) -> int | None:
    """A counter's value read from Redis (``None`` when missing or not a number)."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
