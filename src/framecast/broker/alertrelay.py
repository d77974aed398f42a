"""Alerts across nodes (docs/together.md, "Alerts"; docs/scale-out.md): an alert that fired
on the node that made the frame is shown in the stream's viewers on every node, and listed by
every node's ``<stream>/api/alerts``.

Each firing made here is published on ``{ns}:alerts`` as ``{"node", "alert": FIRING}`` (the
webhook's JSON). A node that falls behind keeps the newest :data:`OUTBOX` firings to send (older
ones are dropped: alerts are few). Every node reads the channel through its
:class:`~framecast.broker.inbox.Inbox` and hands another node's firing, checked field by
field, to ``alerted`` (the running server tells the stream's viewers and keeps it).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import deque
from collections.abc import Callable
from typing import Any

from framecast.broker.link import Link
from framecast.config.streamname import NAME_PATTERN
from framecast.runtime.deadline import within

__all__ = ["OUTBOX", "AlertRelay"]

#: Firings waiting for the link at most.
OUTBOX = 100
_MAX_BYTES = 2048
_TEXT = ("rule", "key")
_NUMBERS = ("value", "threshold", "time")


class AlertRelay:
    """This node's firings out, other nodes' in."""

    def __init__(self, link: Link, *, reject: Callable[[str, Exception], None]) -> None:
        self._link = link
        self._reject = reject
        self._outbox: deque[dict[str, Any]] = deque(maxlen=OUTBOX)
        self._wake = asyncio.Event()
        #: Where another node's firing goes (set by the running server), or ``None``.
        self.alerted: Callable[[dict[str, Any]], None] | None = None

    @property
    def channel(self) -> str:
        return f"{self._link.namespace}:alerts"

    def local(self, firing: dict[str, Any]) -> None:
        """An alert fired here (never waits)."""
        self._outbox.append(firing)
        self._wake.set()

    async def publish(self, client: Any) -> None:
        """Send each firing, in order, for as long as the link is up."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                firing = self._outbox[0]
                text = json.dumps({"node": self._link.node, "alert": firing})
                await within(client.publish(self.channel, text), self._link.io_timeout)
                if self._outbox and self._outbox[0] is firing:
                    self._outbox.popleft()

    def received(self, data: bytes) -> None:
        """A message on ``{ns}:alerts``: another node's alert fired."""
        try:
            node, firing = self._decode(data)
        except (ValueError, RecursionError) as exc:
            self._reject("an alert", ValueError(str(exc) or "too deep"))
            return
        if node != self._link.node and self.alerted is not None:
            self.alerted(firing)

    def _decode(self, data: bytes) -> tuple[str, dict[str, Any]]:
        if len(data) > _MAX_BYTES:
            raise ValueError(f"{len(data)} bytes, more than an alert holds")
        value = json.loads(data)
        node = value.get("node") if isinstance(value, dict) else None
        alert = value.get("alert") if isinstance(value, dict) else None
        if not isinstance(node, str) or not node or not isinstance(alert, dict):
            raise ValueError("not an alert from a node")
        stream, seq = alert.get("stream"), alert.get("seq")
        if not isinstance(stream, str) or not NAME_PATTERN.fullmatch(stream):
            raise ValueError("no stream name")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("no frame number")
        for name in _TEXT:
            if not isinstance(alert.get(name), str) or len(alert[name]) > 200:
                raise ValueError(f"no {name}")
        for name in _NUMBERS:
            number = alert.get(name)
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise ValueError(f"no {name}")
            if not math.isfinite(number):
                raise ValueError(f"{name} is not finite")
        return node, {k: alert[k] for k in ("stream", "seq", *_TEXT, *_NUMBERS)}
