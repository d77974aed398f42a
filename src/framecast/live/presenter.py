"""Presenting (docs/together.md): one viewer of a stream shows, every other viewer of the
stream may follow.

The presenter's view is the text of its page's URL fragment (zoom and pan, the frame, levels,
stretch, colormap, overlays: whatever the viewer keeps there), at most ``max_view_bytes``. It
travels as small ``presenter`` messages to the stream's :class:`~framecast.live.audience.
Audience`, never as images. Followers are not known here: every viewer hears who presents and
decides to follow on its own page, so a follower costs the server what any ``/ws`` viewer
costs — one write of the same prebuilt bytes per change.

A presenter that sends faster than every :data:`INTERVAL` seconds is coalesced: the newest
view goes out at the end of the interval (one timer, no queue), so the changes a follower
sees are at most :data:`INTERVAL` late and never more than 1/:data:`INTERVAL` per second.
Presenting ends when the presenter says so or its connection closes; a viewer that starts
presenting while another does takes over (the previous one hears it from the ``presenter``
message, whose ``id`` is no longer its own). Lives on one event loop.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Hashable

from framecast.live import protocol
from framecast.live.audience import Audience

__all__ = ["INTERVAL", "Presenter", "Relay"]

#: Tells the other nodes (a broker's) that this node's presentation of a stream changed:
#: stream, presentation number, view (``None`` at its end).
Relay = Callable[[str, int, "str | None"], None]

#: Shortest time between two ``presenter`` messages of one stream (seconds).
INTERVAL = 0.05


class Presenter:
    """Who presents on one stream, and what they show."""

    __slots__ = (
        "_audience",
        "_id",
        "_last",
        "_relay",
        "_remote",
        "_stream",
        "_timer",
        "_view",
        "_who",
    )

    def __init__(self, audience: Audience, stream: str = "", relay: Relay | None = None) -> None:
        """``relay``: where this node's presentations go for the other nodes (a broker's)."""
        self._audience = audience
        self._stream = stream
        self._relay = relay
        self._remote = False  # the presentation is another node's
        self._who: Hashable | None = None
        # Numbers start anywhere: a presentation from another node has its own number.
        self._id = secrets.randbelow(1 << 30)
        self._view: str | None = None
        self._last = float("-inf")  # loop time of the last message
        self._timer: asyncio.TimerHandle | None = None

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

    def remote(self, node: str, ident: int, view: str | None) -> None:
        """Another node's presentation of this stream started, changed or ended (``view``
        ``None``): told to every viewer here, none of whom presents it."""
        who = ("node", node)
        if view is None:
            if self._remote and self._who == who and self._id == ident:
                self._who = None
                self._view = None
                self._send()
            return
        self._remote = True
        self._who = who
        self._id = ident
        self._view = view
        self._send()

    def close(self) -> None:
        """The server stops: a coalesced view still due is not sent."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def current(self) -> bytes | None:
        """The ``presenter`` message a viewer arriving now needs, or ``None``."""
        if self._who is None:
            return None
        return protocol.presenter_message(self._id, self._view)

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last = asyncio.get_running_loop().time()
        # The presenter has its own answer (``presenting``) and knows what it shows.
        self._audience.tell(protocol.presenter_message(self._id, self.view), but=self._who)
        if self._relay is not None and not self._remote:
            self._relay(self._stream, self._id, self.view)
