"""Shared marks between nodes through the broker (docs/scale-out.md, docs/together.md).

Each stream's marks are a Redis hash ``{ns}:marks:{stream}`` (a mark's id → the mark as JSON),
so that two nodes adding marks at once both keep theirs. A change made on this node (a mark
added or deleted) waits in a bounded outbox and goes out as ``HSET``/``HDEL`` followed by an
announcement ``{"stream", "node"}`` on ``{ns}:marks``; every other node then reads the hash
and hands the marks, each checked again like any input from outside, to
:attr:`MarkSharing.received`, which stores and shows them. On every (re)connection the node
reads the marks of each of its streams; a stream the broker holds no marks for gets this
node's own (the first node of a broker brings its marks along).

The hash is read by one Lua script (:data:`_READ`), in one step inside Redis: it counts the
marks and measures each id and each mark before any is sent, and answers a refusal instead
of a hash that a broken or hostile peer stuffed past ``max_marks`` or ``max_mark_bytes``. A
node never receives more than ``max_marks`` marks of bounded size, however large the hash.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from framecast.broker.link import Link
from framecast.config.streamname import NAME_PATTERN
from framecast.errors import FramecastError
from framecast.runtime.deadline import within

__all__ = ["OUTBOX", "MarkSharing"]

log = logging.getLogger("framecast.broker")

#: Changes waiting for the broker at most; older ones are dropped (each node's copy stays).
OUTBOX = 1000
#: Streams whose marks wait to be read at most (a flood of made-up names goes no further).
MAX_WANTED = 1000
_ANNOUNCEMENT_BYTES = 200
_STORED_EXTRA = 200
#: A mark's id is 12 hex digits; a field longer than this is not one a node wrote.
_MAX_ID_BYTES = 64

# The marks of a stream, or why not: {"ok", mark, ...}, or {"marks" | "id" | "bytes", n} for a
# hash of more than ARGV[1] marks, an id over ARGV[3] bytes or a mark over ARGV[2] bytes.
# Sizes are read (HLEN, HSTRLEN) before any mark is: nothing oversized leaves Redis.
_READ = """
local count = redis.call('HLEN', KEYS[1])
if count > tonumber(ARGV[1]) then return {'marks', count} end
local out = {'ok'}
for _, id in ipairs(redis.call('HKEYS', KEYS[1])) do
  if #id > tonumber(ARGV[3]) then return {'id', #id} end
  local size = redis.call('HSTRLEN', KEYS[1], id)
  if size > tonumber(ARGV[2]) then return {'bytes', size} end
  out[#out + 1] = redis.call('HGET', KEYS[1], id)
end
return out
"""

#: What a node does with the marks another node changed: stream name, the marks as stored.
Received = Callable[[str, list[object]], Awaitable[None]]
#: The marks this node holds for a stream (to bring to a broker that holds none).
Held = Callable[[str], list[dict[str, Any]]]


class MarkSharing:
    """The marks' part of a node's link (see the module docstring)."""

    def __init__(self, link: Link, *, max_marks: int, max_bytes: int) -> None:
        """``max_marks`` and ``max_bytes``: the node's ``max_marks`` and ``max_mark_bytes``."""
        self._link = link
        self._max_marks = max_marks
        #: A stored mark is its JSON as a node sent it, plus its id and times.
        self._max_bytes = max_bytes + _STORED_EXTRA
        self.channel = f"{link.namespace}:marks"
        #: (stream, id, the mark's JSON or None for a deletion), oldest first.
        self._outbox: deque[tuple[str, str, bytes | None]] = deque(maxlen=OUTBOX)
        self._outbox_wake = asyncio.Event()
        self._wanted: set[str] = set()
        self._wanted_wake = asyncio.Event()
        #: Set by the server: how marks from other nodes are stored and shown.
        self.received: Received | None = None
        #: Set by the server: the marks this node holds for a stream.
        self.held: Held | None = None

    def _key(self, stream: str) -> str:
        return f"{self._link.namespace}:marks:{stream}"

    # -- this node's changes (event loop) --------------------------------------------------------
    def added(self, stream: str, mark: dict[str, Any]) -> None:
        """A mark made on this node: it goes to the broker."""
        self._outbox.append((stream, str(mark["id"]), json.dumps(mark).encode()))
        self._outbox_wake.set()

    def removed(self, stream: str, ident: str) -> None:
        """A mark deleted on this node: it goes from the broker."""
        self._outbox.append((stream, ident, None))
        self._outbox_wake.set()

    async def publish(self, client: Any) -> None:
        """Send each change, then announce it, in one round trip."""
        link = self._link
        while True:
            await self._outbox_wake.wait()
            self._outbox_wake.clear()
            while self._outbox:
                stream, ident, mark = self._outbox[0]
                async with client.pipeline(transaction=False) as batch:
                    if mark is None:
                        batch.hdel(self._key(stream), ident)
                    else:
                        batch.hset(self._key(stream), ident, mark)
                    note = json.dumps({"stream": stream, "node": link.node}).encode()
                    batch.publish(self.channel, note)
                    await within(batch.execute(), 4 * link.io_timeout)
                self._outbox.popleft()  # sent: not again after a reconnection

    # -- other nodes' changes ----------------------------------------------------------------------
    def announced(self, data: bytes) -> None:
        """An announcement on ``{ns}:marks``: another node changed a stream's marks."""
        link = self._link
        try:
            if len(data) > _ANNOUNCEMENT_BYTES:
                raise ValueError("it is too long")
            note = json.loads(data)
            stream, node = note["stream"], note["node"]
            if not isinstance(stream, str) or not NAME_PATTERN.fullmatch(stream):
                raise ValueError("it names no stream")
        except (ValueError, KeyError, TypeError) as exc:
            link.reject("a marks announcement", ValueError(str(exc)))
            return
        if node == link.node:
            return
        if stream not in self._wanted and len(self._wanted) >= MAX_WANTED:
            return
        self._wanted.add(stream)
        self._wanted_wake.set()

    def connected(self) -> None:
        """A (re)connection: every stream's marks are read again."""
        streams = self._link.streams
        for stream in streams or ():
            self._wanted.add(stream.name)
        self._wanted_wake.set()

    async def fetch(self, client: Any) -> None:
        """Read the marks of each stream announced (or of every stream, after a
        (re)connection) and hand them over."""
        read = client.register_script(_READ)
        while True:
            await self._wanted_wake.wait()
            self._wanted_wake.clear()
            while self._wanted:
                stream = self._wanted.pop()
                await self._read(read, stream)

    async def _read(self, read: Any, stream: str) -> None:
        link, key = self._link, self._key(stream)
        limits = [self._max_marks, self._max_bytes, _MAX_ID_BYTES]
        answer = await within(read(keys=[key], args=limits), link.io_timeout)
        status, stored = answer[0], answer[1:]
        if status != b"ok":
            why = {b"marks": "marks, over max_marks", b"id": "bytes in a mark's id"}
            said = why.get(status, "bytes in a mark, over max_mark_bytes")
            link.reject("the marks of a stream", ValueError(f"{stored[0]} {said}"))
            return
        if not stored and self.held is not None:
            mine = self.held(stream)
            if mine:  # the broker has none: this node's go to the others
                for mark in mine:
                    self._outbox.append((stream, str(mark["id"]), json.dumps(mark).encode()))
                self._outbox_wake.set()
                return
        marks: list[object] = []
        try:
            for value in stored:
                marks.append(json.loads(value))
        except ValueError as exc:
            link.reject("the marks of a stream", exc)
            return
        marks.sort(key=_created)
        if self.received is not None:
            try:
                await self.received(stream, marks)
            except FramecastError as exc:  # a mark no framecast node stores
                link.reject("the marks of a stream", exc)


def _created(mark: object) -> float:
    created = mark.get("created") if isinstance(mark, dict) else None
    if isinstance(created, bool) or not isinstance(created, int | float):
        return 0.0
    return float(created)
