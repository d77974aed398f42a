"""A stream's audience: the live viewers (``/ws``) that hear the stream's small messages —
who presents and what they show, alerts (docs/together.md).

A message is built once, as a whole WebSocket frame, and handed to every member's ``write``,
which puts it on that viewer's connection at once (never a task, never a queue: a member
that cannot take it now declines, see :mod:`framecast.web.presenting`). Telling N viewers
costs N writes of the same bytes, as a frame's fast path does. Lives on one event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

__all__ = ["Audience", "Write"]

#: Writes one prebuilt WebSocket frame to a viewer now; False when it could not.
Write = Callable[[bytes], bool]


class Audience:
    """The members of one stream's audience, by key (any hashable: the connection)."""

    __slots__ = ("_members", "declined")

    def __init__(self) -> None:
        self._members: dict[Hashable, Write] = {}
        #: Messages a member could not take (its connection was far behind).
        self.declined = 0

    def join(self, key: Hashable, write: Write) -> None:
        self._members[key] = write

    def leave(self, key: Hashable) -> None:
        self._members.pop(key, None)

    def __len__(self) -> int:
        return len(self._members)

    def tell(self, message: bytes, *, but: Hashable = None) -> None:
        """Write ``message`` (a whole WebSocket frame) to every member but ``but``."""
        for key, write in list(self._members.items()):
            if key is not but and not write(message):
                self.declined += 1

    def tell_one(self, key: Hashable, message: bytes) -> None:
        """Write ``message`` to the member ``key`` only, if it is one."""
        write = self._members.get(key)
        if write is not None and not write(message):
            self.declined += 1
