"""Fan-out of frames to live clients: one latest-wins slot per client.

The hub never waits on a client. :meth:`Hub.publish` puts the new frame in every client's
slot and wakes it; a client that is still busy with an older frame simply finds the newest
one when it is ready (the older one is counted as skipped, never queued). Memory per
client is therefore one reference to a shared :class:`~framecast.live.frames.Frame`.

A transport can install a fast path, :attr:`Subscription.direct`: when its client is idle
(its sender is waiting and its slot is empty) ``publish`` hands the frame straight to that
callable, which writes it without waking a task; it returns ``False`` to fall back to the
slot. With many clients this saves a task switch per client per frame.

Besides frames, a hub carries :class:`~framecast.live.protocol.Notice` messages (a stream's
shared marks, who presents and what they show, its recent alerts: docs/together.md) to the
subscriptions that asked for them (``/ws`` and ``/events``, not ``/frames``): one slot per
kind of notice, latest wins, taken before the frame (an idle ``/ws`` client takes it at once
through :attr:`Subscription.direct_notice`, as a frame). Each notice says the whole state of its
kind, so a viewer that was busy while several came loses nothing by getting the newest. A
notice announced with ``keep`` is the standing state of its kind (someone presents): a
subscription made later hears it at once.

Anything that produces frames can feed :meth:`Hub.publish` — the local publishing
pipeline today, a backplane subscriber (e.g. Redis pub/sub for several server nodes)
tomorrow. The hub lives on one asyncio loop and is not thread-safe.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from framecast.live.counters import StreamCounters
from framecast.live.frames import Frame
from framecast.live.protocol import Notice

__all__ = ["Hub", "Subscription"]


class Subscription:
    """One client's slot. Iterate with :meth:`next`; ``None`` means the hub is closing."""

    __slots__ = (
        "_event",
        "_frame",
        "_hub",
        "_notices",
        "_waiting",
        "closed",
        "delivered",
        "direct",
        "direct_notice",
        "hears_notices",
        "kind",
        "skipped",
    )

    def __init__(self, hub: Hub, kind: str, *, notices: bool = False) -> None:
        self._hub = hub
        self._frame: Frame | None = None
        #: The newest notice of each kind not yet taken (a handful of kinds at most).
        self._notices: dict[str, Notice] = {}
        self.hears_notices = notices
        self._event = asyncio.Event()
        self._waiting = False
        self.kind = kind
        self.closed = False
        self.skipped = 0
        self.delivered = 0
        #: Optional fast path: write ``frame`` now and return True, or return False.
        self.direct: Callable[[Frame], bool] | None = None
        #: The same for a notice (a ``/ws`` viewer's).
        self.direct_notice: Callable[[Notice], bool] | None = None

    def offer(self, frame: Frame) -> None:
        """Deliver ``frame`` at once through :attr:`direct` when the client is idle; otherwise
        put it in the slot, replacing (and counting) any frame not yet taken."""
        direct = self.direct
        if direct is not None and self._waiting and self._frame is None and direct(frame):
            self.delivered += 1
            return
        if self._frame is not None:
            self.skipped += 1
            self._hub.counters.client_frames_skipped += 1
        self._frame = frame
        self._event.set()

    def notify(self, notice: Notice) -> None:
        """Deliver ``notice`` at once through :attr:`direct_notice` when the client is idle;
        otherwise put it in its kind's slot (replacing one not yet taken) and wake the client."""
        direct = self.direct_notice
        if (
            direct is not None
            and self._waiting
            and self._frame is None
            and not self._notices
            and direct(notice)
        ):
            return
        self._notices.pop(notice.kind, None)
        self._notices[notice.kind] = notice
        self._event.set()

    async def next(self) -> Frame | Notice | None:
        """Wait for the next notice, else the newest frame, not yet taken; ``None`` once the
        subscription is closed."""
        while True:
            if self.closed:
                return None
            if self._notices:
                kind = next(iter(self._notices))
                return self._notices.pop(kind)
            frame = self._frame
            if frame is not None:
                self._frame = None
                self._event.clear()
                self.delivered += 1
                return frame
            self._event.clear()
            self._waiting = True
            try:
                await self._event.wait()
            finally:
                self._waiting = False

    def close(self) -> None:
        """End the subscription: a waiting :meth:`next` returns ``None``."""
        if not self.closed:
            self.closed = True
            self._frame = None
            self._notices.clear()
            self.direct = None
            self.direct_notice = None
            self._hub._discard(self)
            self._event.set()


class Hub:
    """Holds the latest frame and every client's slot."""

    def __init__(self, counters: StreamCounters | None = None) -> None:
        """``counters``: the stream's, which it counts frames published and skipped into
        (its pipeline counts into them too)."""
        self._subscriptions: set[Subscription] = set()
        self.latest: Frame | None = None
        self.closed = False
        self.counters = counters if counters is not None else StreamCounters()
        self.client_arrived = asyncio.Event()
        #: The standing notice of each kind that has one, for subscriptions made later.
        self._kept: dict[str, Notice] = {}

    def subscribe(self, kind: str = "ws", *, notices: bool = False) -> Subscription:
        """A new slot; it hears only about frames published from now on (no replay), and
        with ``notices`` about the standing notices (at once) and those announced from now on."""
        sub = Subscription(self, kind, notices=notices)
        if self.closed:
            sub.closed = True
            return sub
        self._subscriptions.add(sub)
        if notices:
            for notice in self._kept.values():
                sub.notify(notice)
        self.client_arrived.set()
        return sub

    def _discard(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)

    def publish(self, frame: Frame) -> None:
        """Make ``frame`` the latest and offer it to every client. Never blocks."""
        self.latest = frame
        self.counters.frames_published += 1
        for sub in self._subscriptions:
            sub.offer(frame)

    def announce(self, notice: Notice, *, keep: bool = False) -> None:
        """Offer ``notice`` to every subscription that hears notices. Never blocks. With
        ``keep`` it is its kind's standing state, which later subscriptions hear at once;
        without, its kind has none any more."""
        if keep:
            self._kept[notice.kind] = notice
        else:
            self._kept.pop(notice.kind, None)
        for sub in self._subscriptions:
            if sub.hears_notices:
                sub.notify(notice)

    @property
    def clients(self) -> int:
        return len(self._subscriptions)

    def clients_by_kind(self) -> dict[str, int]:
        return dict(Counter(sub.kind for sub in self._subscriptions))

    def close(self) -> None:
        """Close every slot (their clients are told the server is going away)."""
        self.closed = True
        self._kept.clear()
        for sub in list(self._subscriptions):
            sub.close()
