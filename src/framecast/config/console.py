"""Options of the ``framecast`` command itself (what it prints, the config file) and of
``framecast simulate``: declared like the server's settings (see :mod:`framecast.config.options`),
so they have flags, ``FRAMECAST_*`` variables and rows in docs/settings.md too."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from framecast.config.options import check_declared, option
from framecast.errors import ConfigError, spell

__all__ = ["ConsoleSettings", "SimulateSettings"]


@dataclass(frozen=True)
class ConsoleSettings:
    """Options of the ``framecast`` command itself: what it prints, not how a server runs."""

    verbose: int = field(
        default=0,
        metadata=option(
            help="More log output: -v for debug, -vv for per-frame detail too.",
            group="output",
            short="-v",
            count=True,
            at_least=0,
        ),
    )
    no_qr: bool = field(
        default=False,
        metadata=option(
            help="Do not draw the QR code of the URL (framecast serve).", group="output", flag=True
        ),
    )
    config: Path | None = field(
        default=None,
        metadata=option(
            help="TOML file of settings for framecast serve: top-level keys are the settings' "
            "names, [streams.NAME] tables give each stream its sources; flags and FRAMECAST_* "
            "variables win over it.",
            group="configuration",
        ),
    )

    def __post_init__(self) -> None:
        check_declared(self)


@dataclass(frozen=True)
class SimulateSettings:
    """Options of ``framecast simulate``, the stand-alone bsread sender."""

    ENV_PREFIX: ClassVar[str] = "FRAMECAST_SIMULATE_"
    MODES: ClassVar[tuple[str, ...]] = ("push", "pub")

    host: str = field(
        default="0.0.0.0",
        metadata=option(
            help="Address (or interface name) to bind; 0.0.0.0 listens on every IPv4 "
            "interface, 127.0.0.1 on this machine only.",
            group="simulate",
            short="-H",
            expects="an IP address or interface name, e.g. 127.0.0.1",
        ),
    )
    port: int = field(
        default=8888,
        metadata=option(
            help="TCP port to bind (tcp://HOST:PORT).",
            group="simulate",
            expects="a whole number from 1024 to 65535",
            at_least=1024,
            at_most=65535,
        ),
    )
    rate: float = field(
        default=10.0, metadata=option(help="Frames per second.", group="simulate", above=0)
    )
    count: int | None = field(
        default=None,
        metadata=option(
            help="Stop after COUNT frames (default: run until stopped).",
            group="simulate",
            short="-n",
            at_least=1,
        ),
    )
    mode: str = field(
        default="push", metadata=option(help="ZeroMQ socket type.", group="simulate", choices=MODES)
    )

    def __post_init__(self) -> None:
        if not self.host.strip() or any(c.isspace() or c in "/;" for c in self.host):
            raise ConfigError(
                f"host {self.host!r} is not an address; use e.g. {spell('host', '127.0.0.1')}"
            )
        check_declared(self)
