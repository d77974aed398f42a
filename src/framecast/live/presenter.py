"""Presenting (docs/together.md): one viewer of a stream shows, every other viewer of the
stream may follow.

The presenter's view is the text of its page's URL fragment (zoom and pan, the frame, levels,
stretch, colormap, overlays: whatever the viewer keeps there), at most ``max_view_bytes``. It
travels as small ``presenter`` notices through the stream's hub (latest wins per viewer: a
viewer whose connection was busy gets the newest view when it drains, never an old one and
never none), never as images. Followers are not known here: every viewer hears who presents
and decides to follow on its own page, so a follower costs the server what any ``/ws`` viewer
costs — one write of the same prebuilt bytes per change. While someone presents the notice
is the hub's standing one: a viewer who connects hears it at once.

A presenter that sends faster than every :data:`INTERVAL` seconds is coalesced: the newest
view goes out at the end of the interval (one timer, no queue), so the changes a follower
sees are at most :data:`INTERVAL` late and never more than 1/:data:`INTERVAL` per second.
Presenting ends when the presenter says so or its connection closes; a viewer that starts
presenting while another does takes over (the previous one hears it from the ``presenter``
message, whose ``id`` is no longer its own). Another node's presentation (a broker's) holds
for a lease: when its node has not said it for that long (it died without a goodbye), it
ends here as if stopped (docs/together.md). Lives on one event loop.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Hashable

from framecast.live import protocol
from framecast.live.hub import Hub

__all__ = ["INTERVAL", "Presenter", "Relay"]

#: Tells the other nodes (a broker's) that this node's presentation of a stream changed:
#: stream, presentation number, view (``None`` at its end).
Relay = Callable[[str, int, "str | None"], None]

#: Shortest time between two ``presenter`` messages of one stream (seconds).
INTERVAL = 0.05


class Presenter:
    """Who presents on one stream, and what they show."""

    __slots__ = (
        "_expiry",
        "_hub",
        "_id",
        "_last",
        "_relay",
        "_remote",
        "_stream",
        "_timer",
        "_view",
        "_who",
    )

    def __init__(self, hub: Hub, stream: str = "", relay: Relay | None = None) -> None:
        """``relay``: where this node's presentations go for the other nodes (a broker's)."""
        self._hub = hub
        self._stream = stream
        self._relay = relay
        self._remote = False  # the presentation is another node's
        self._who: Hashable | None = None
        # Numbers start anywhere: a presentation from another node has its own number.
        self._id = secrets.randbelow(1 << 30)
        self._view: str | None = None
        self._last = float("-inf")  # loop time of the last message
        self._timer: asyncio.TimerHandle | None = None
        self._expiry: asyncio.TimerHandle | None = None  # another node's lease

    @property
    def ident(self) -> int | None:
        """The current presentation's number, or ``None`` when nobody presents."""
        return self._id if self._who is not None else None

    @property
    def view(self) -> str | None:
        return self._view if self._who is not None else None

    def present(self, who: Hashable, view: str) -> int:
        """``who`` presents ``view`` (starting, taking over, or showing something new);
        returns the presentation's number."""
        if who != self._who:
            self._id += 1
            self._remote = False
            self._end_lease()
            self._who = who
            self._view = view
            self._send()
            return self._id
        if view == self._view:
            return self._id
        self._view = view
        loop = asyncio.get_running_loop()
        due = self._last + INTERVAL
        if loop.time() >= due:
            self._send()
        elif self._timer is None:
            self._timer = loop.call_at(due, self._send)
        return self._id

    def stop(self, who: Hashable) -> None:
        """``who`` stops presenting (or left): everyone is told, if it was the presenter."""
        if who is None or who != self._who:
            return
        self._who = None
        self._view = None
        self._send()

    def remote(
        self, node: str, ident: int, view: str | None, *, lease: float | None = None
    ) -> None:
        """Another node's presentation of this stream started, changed, ended (``view``
        ``None``) or was said again: told to every viewer here, none of whom presents it.
        With ``lease``, it ends here unless said again within that many seconds."""
        who = ("node", node)
        if view is None:
            if self._remote and self._who == who and self._id == ident:
                self._end_remote()
            return
        same = self._remote and self._who == who and self._id == ident and self._view == view
        if not self._remote and self._who is not None and self._relay is not None:
            self._relay(self._stream, self._id, None)  # ours was taken over: not said again
        self._remote = True
        self._who = who
        self._id = ident
        self._view = view
        self._end_lease()
        if lease is not None:
            loop = asyncio.get_running_loop()
            self._expiry = loop.call_later(lease, self._end_remote)
        if not same:  # said again (its node is alive): nothing new for the viewers
            self._send()

    def _end_remote(self) -> None:
        self._end_lease()
        self._who = None
        self._view = None
        self._send()

    def _end_lease(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def close(self) -> None:
        """The server stops: a coalesced view still due is not sent."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._end_lease()

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last = asyncio.get_running_loop().time()
        # The presenter hears it too (its page knows its own number and ignores it).
        view = self.view
        self._hub.announce(protocol.presenter_notice(self._id, view), keep=view is not None)
        if self._relay is not None and not self._remote:
            self._relay(self._stream, self._id, self.view)
