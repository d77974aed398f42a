"""The settings of where images come from and go to: the broker that shares every stream with
other nodes (docs/scale-out.md) and the default stream's sources (docs/streams.md).

One area of the one settings table (:class:`framecast.config.settings.Settings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from framecast.config.options import option

__all__ = ["SOURCE_KEYS", "ZMQ_MODES", "FeedSettings"]

ZMQ_MODES = ("pull", "sub")
#: The settings that say where one stream's images come from: per stream in a config file's
#: ``[streams.NAME]`` table, and for the default stream at the top level (docs/streams.md).
SOURCE_KEYS = (
    "watch",
    "existing",
    "zmq",
    "zmq_mode",
    "zmq_image_channel",
    "simulate",
    "simulate_rate",
)


@dataclass(frozen=True)
class FeedSettings:
    """The broker and the default stream's sources."""

    # broker (docs/scale-out.md)
    broker: str | None = field(
        default=None,
        repr=False,
        metadata=option(
            help="Share every stream with the other nodes of this Redis (or Valkey) server, "
            "e.g. redis://redis-host:6379/0 (rediss:// for TLS; a password in the URL is never "
            "shown). See docs/scale-out.md.",
            group="broker",
            expects="a URL redis://HOST:PORT/DB, rediss://… or unix://PATH",
            secret=True,
        ),
    )
    broker_namespace: str = field(
        default="framecast",
        metadata=option(
            help="Prefix of framecast's keys and channels on the broker: keeps several "
            "deployments apart on one Redis.",
            group="broker",
        ),
    )
    broker_answer_timeout: float = field(
        default=5.0,
        metadata=option(
            help="Seconds a node waits for the node publishing a stream to answer a /control "
            "command or a question about its raw data or tiles; then the client is told that "
            "no publisher answered (503 over HTTP).",
            group="broker",
            above=0,
        ),
    )
    presenter_lease: float = field(
        default=10.0,
        metadata=option(
            help="Seconds another node's presentation holds here without word from its node "
            "(which says it again every third of this): a node that died while one of its "
            "viewers presented stops showing as presenting after this long. Give every node "
            "the same.",
            group="broker",
            at_least=0.5,
            at_most=3600,
        ),
    )
    # sources
    watch: Path | None = field(
        default=None,
        metadata=option(
            help="Publish every new image file that appears in this folder.", group="sources"
        ),
    )
    existing: bool = field(
        default=False,
        metadata=option(
            help="With --watch, also publish the files already there at start.",
            group="sources",
            flag=True,
        ),
    )
    zmq: str | None = field(
        default=None,
        metadata=option(
            help="Connect to a bsread camera stream, e.g. tcp://host:9999.", group="sources"
        ),
    )
    zmq_mode: str = field(
        default="pull",
        metadata=option(help="ZeroMQ socket type for --zmq.", group="sources", choices=ZMQ_MODES),
    )
    zmq_image_channel: str | None = field(
        default=None,
        metadata=option(
            help="bsread channel holding the image (default: the first 2-D channel).",
            group="sources",
        ),
    )
    simulate: bool = field(
        default=False,
        metadata=option(
            help="Publish a built-in simulated camera (moving Gaussian beam).",
            group="sources",
            flag=True,
        ),
    )
    simulate_rate: float = field(
        default=10.0,
        metadata=option(help="Frames per second of --simulate.", group="sources", above=0),
    )
