"""What the broker's parts (:mod:`framecast.broker.relay`, :mod:`framecast.broker.forwarding`,
:mod:`framecast.broker.questions`) need of the node's link to the broker, which
:class:`~framecast.broker.node.Broker` provides. The parts never import the link itself."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, Protocol

from framecast.broker import codec
from framecast.live.streams import Streams

__all__ = ["Link"]


class Link(Protocol):
    """One node's link to the broker, as its parts see it."""

    @property
    def node(self) -> str:
        """This node's name."""

    @property
    def namespace(self) -> str:
        """The prefix of every key and channel."""

    @property
    def client(self) -> Any:
        """The connected Redis client; ``None`` while the link is down."""

    @property
    def streams(self) -> Streams | None:
        """This node's streams, once the link is started."""

    @property
    def state(self) -> str:
        """``ok`` while the link is up, else ``degraded``."""

    @property
    def reason(self) -> str | None:
        """Why the link is degraded (``connecting`` until the first attempt ends)."""

    @property
    def executor(self) -> Executor | None:
        """The pool where frames from the broker are checked and rendered."""

    @property
    def limits(self) -> codec.Limits:
        """What the broker carries at most (a frame, an answer's body: ``max_frame_bytes``)."""

    @property
    def redis_error(self) -> type[Exception]:
        """The root of redis-py's exceptions."""

    @property
    def io_timeout(self) -> float:
        """Seconds any one call to Redis may take."""

    def channel(self, node: str) -> str:
        """The channel node ``node`` listens on."""

    def describe(self, exc: BaseException) -> str:
        """A one-line reason for a failed call to Redis (never the URL's password)."""

    def redact(self, text: str) -> str:
        """``text`` without the URL's password."""

    def reject(self, what: str, exc: Exception) -> None:
        """Count a bad message from the broker and log it (throttled)."""

    async def until_up(self) -> None:
        """Return once the link is up."""
