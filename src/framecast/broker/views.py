"""Presenting across nodes (docs/together.md, docs/scale-out.md): a presenter's view reaches
the viewers of its stream on every node.

Each change of a presentation made on this node (its start, each new view, its end) is
published on ``{ns}:views`` as ``{"node", "stream", "id", "view"}`` (``view`` null at the
end); the newest of each stream wins while the link is busy or down (no queue). A
presentation that goes on is published again every third of ``presenter_lease`` (and at
once on each (re)connection): that is how the other nodes know its node is alive, and how a
node that joins later learns of it. Every node reads the channel (through its
:class:`~framecast.broker.inbox.Inbox`) and hands another node's presentation to its own
stream's :class:`~framecast.live.presenter.Presenter`, which tells the stream's viewers there
and ends it when it is not said again within the lease (its node died with no goodbye).
What comes in is checked like any input from outside: a
message larger than the view limit, not JSON, or with fields of the wrong types is counted
and skipped; a stream this node does not carry is ignored.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from framecast.broker.link import Link
from framecast.config.streamname import NAME_PATTERN
from framecast.runtime.deadline import within

__all__ = ["ViewRelay"]

#: Bytes a message may hold beyond its view (node, stream, number, JSON's quotes).
_ENVELOPE = 1024


class ViewRelay:
    """This node's presentations out, other nodes' in."""

    def __init__(
        self,
        link: Link,
        *,
        max_view_bytes: int,
        lease: float,
        reject: Callable[[str, Exception], None],
    ):
        """``lease``: the node's ``presenter_lease`` (seconds)."""
        self._link = link
        self._max = max_view_bytes + _ENVELOPE
        self._lease = lease
        self._reject = reject
        self._outbox: dict[str, tuple[int, str | None]] = {}
        #: This node's presentations going on: said again every third of the lease.
        self._live: dict[str, tuple[int, str]] = {}
        self._wake = asyncio.Event()

    @property
    def channel(self) -> str:
        return f"{self._link.namespace}:views"

    def local(self, stream: str, ident: int, view: str | None) -> None:
        """A presentation on this node changed (its presenter's hook; never waits)."""
        self._outbox[stream] = (ident, view)
        if view is None:
            self._live.pop(stream, None)
        else:
            self._live[stream] = (ident, view)
        self._wake.set()

    async def publish(self, client: Any) -> None:
        """Send each stream's newest change, and every presentation going on again every
        third of the lease, for as long as the link is up."""
        loop = asyncio.get_running_loop()
        every = self._lease / 3
        beat = loop.time()  # at once: the other nodes may have missed them while it was down
        while True:
            if loop.time() >= beat:
                for stream, said in self._live.items():
                    self._outbox.setdefault(stream, said)
                beat = loop.time() + every
            elif not self._outbox:
                try:
                    await within(self._wake.wait(), beat - loop.time())
                except TimeoutError:
                    continue
            self._wake.clear()
            while self._outbox:
                stream, (ident, view) = next(iter(self._outbox.items()))
                del self._outbox[stream]
                text = json.dumps(
                    {"node": self._link.node, "stream": stream, "id": ident, "view": view},
                    separators=(",", ":"),
                )
                try:
                    await within(client.publish(self.channel, text), self._link.io_timeout)
                except BaseException:
                    self._outbox.setdefault(stream, (ident, view))  # again once back
                    raise

    def received(self, data: bytes) -> None:
        """A message on ``{ns}:views``: another node's presentation changed."""
        try:
            node, stream, ident, view = self._decode(data)
        except (ValueError, RecursionError) as exc:
            self._reject("a presenter's view", ValueError(str(exc) or "too deep"))
            return
        streams = self._link.streams
        if node == self._link.node or streams is None:
            return
        found = streams.get(stream)
        if found is not None:
            found.presenter.remote(node, ident, view, lease=self._lease)

    def _decode(self, data: bytes) -> tuple[str, str, int, str | None]:
        if len(data) > self._max:
            raise ValueError(f"{len(data)} bytes, more than the view limit allows")
        value = json.loads(data)
        if not isinstance(value, dict):
            raise ValueError("not a JSON object")
        node, stream, ident, view = (value.get(k) for k in ("node", "stream", "id", "view"))
        if not isinstance(node, str) or not node or len(node) > 100:
            raise ValueError("no node")
        if not isinstance(stream, str) or not NAME_PATTERN.fullmatch(stream):
            raise ValueError("no stream name")
        if not isinstance(ident, int) or isinstance(ident, bool) or not 0 < ident < 1 << 53:
            raise ValueError("no presentation number")
        if view is not None and not isinstance(view, str):
            raise ValueError("a view that is not text")
        return node, stream, ident, view
