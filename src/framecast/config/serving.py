"""The settings of where a server serves and to whom: its folders, its address and port, TLS,
the origins and proxies it trusts, and the tokens of operators and viewers (docs/settings.md).

One area of the one settings table: :class:`framecast.config.settings.Settings` is made of
these declarations and its siblings'; a new setting is one field declared here with
:func:`~framecast.config.options.option`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from framecast.config.options import option

__all__ = ["ServingSettings"]


@dataclass(frozen=True)
class ServingSettings:
    """Folders, address, TLS, trusted origins and proxies, tokens."""

    work_folder: Path = field(
        default=Path("framecast-work"),
        metadata=option(
            help="Folder for snapshots and, unless --web-folder is set, the web files "
            "(created if missing).",
            group="files",
        ),
    )
    web_folder: Path | None = field(
        default=None,
        metadata=option(
            help="Dedicated folder for the viewer files (index.html, web_image.jpg, data.json); "
            "defaults to the work folder.",
            group="files",
        ),
    )
    host: str = field(
        default="0.0.0.0",
        metadata=option(
            help="Address to bind; 0.0.0.0 listens on every IPv4 interface.",
            short="-H",
            expects="an IP address or host name, e.g. 0.0.0.0",
        ),
    )
    port: int = field(
        default=8000,
        metadata=option(
            help="TCP port, 1024-65535 (0 picks any free port).",
            short="-P",
            expects="a whole number from 1024 to 65535 (or 0 for any free port)",
        ),
    )
    displayed_address: str = field(
        default="auto",
        metadata=option(
            help="Address viewers are shown (the printed URL, the page's Share link and QR "
            "code, /api/status): 'auto' picks this machine's LAN address, 'ip:ADDR' uses ADDR, "
            "a URL (https://cam.example.org/: a reverse proxy's public address) is shown as "
            "it is, and pages from its origin may open the live connections.",
            expects="auto, ip:ADDR or a URL such as https://cam.example.org/",
        ),
    )
    certfile: Path | None = field(
        default=None, metadata=option(help="PEM certificate: serve HTTPS and WSS (with --keyfile).")
    )
    keyfile: Path | None = field(
        default=None, metadata=option(help="PEM private key for --certfile.")
    )
    allowed_origins: tuple[str, ...] = field(
        default=(),
        metadata=option(
            help="Comma-separated extra origins (e.g. https://cam.example.org behind a proxy) "
            "whose pages may open the live sockets, /events and ingest; the server's own "
            "addresses are always allowed."
        ),
    )
    trusted_proxies: tuple[str, ...] = field(
        default=(),
        metadata=option(
            help="Comma-separated addresses or networks (e.g. 127.0.0.1 or 10.0.0.0/8) of "
            "reverse proxies whose X-Forwarded-For names the client; the per-address "
            "connection cap then counts each client, not the proxy.",
        ),
    )
    # access
    token: str | None = field(
        default=None,
        metadata=option(
            help="Operator token: required for /control and ingest (?token= or "
            "'Authorization: Bearer').",
            group="access",
            secret=True,
        ),
    )
    viewer_token: str | None = field(
        default=None,
        metadata=option(
            help="Viewer token: when set, watching needs it too (private sessions).",
            group="access",
            secret=True,
        ),
    )
