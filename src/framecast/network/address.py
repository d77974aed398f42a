"""Bind address versus displayed address, interface discovery, and the QR code of the URL.

The displayed address is what viewers are shown (the page's share link and QR code,
``/api/status``, the URL printed at start): ``auto`` (this machine's LAN address), ``ip:ADDR``,
or a whole URL, ``https://cam.example.org/``, the public address of a reverse proxy in front
of the server (docs/deploy.md).
"""

from __future__ import annotations

import io
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

import psutil
import segno

from framecast.errors import ConfigError, spell

__all__ = [
    "Displayed",
    "check_displayed_address",
    "displayed",
    "displayed_ip",
    "is_loopback",
    "local_ipv4_addresses",
    "make_url",
    "public_url",
    "qr_svg",
    "qr_text",
    "unreachable_warning",
]

log = logging.getLogger("framecast.address")

_ANY = {"0.0.0.0", "", "::"}


def local_ipv4_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces that are up, best candidates first.

    Private LAN addresses (192.168/16, 10/8, 172.16/12) come first, then other routable
    ones; loopback and link-local addresses are left out.
    """
    try:
        stats = psutil.net_if_stats()
        interfaces = psutil.net_if_addrs()
    except OSError:  # pragma: no cover - exotic platforms
        return []
    found: list[tuple[int, str]] = []
    for name, addresses in interfaces.items():
        if name in stats and not stats[name].isup:
            continue
        for entry in addresses:
            if entry.family != socket.AF_INET:
                continue
            ip = ipaddress.IPv4Address(entry.address)
            if ip.is_loopback or ip.is_link_local or ip.is_unspecified:
                continue
            found.append((0 if ip.is_private else 1, entry.address))
    return [address for _, address in sorted(found)]


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def _not_understood(preference: str, why: str = "") -> ConfigError:
    return ConfigError(
        f"displayed address {preference!r} is not understood{why}; give "
        f"{spell('displayed_address')} auto, ip:<address> or the URL viewers open, "
        "e.g. https://cam.example.org/"
    )


def public_url(preference: str) -> str | None:
    """The URL ``preference`` names, in one spelling (``https://cam.example.org`` →
    ``https://cam.example.org/``), or ``None`` when it is not a URL (``auto``, ``ip:…``).
    :class:`ConfigError` for a URL viewers could not open as given: another scheme than
    http(s), no host, a user name, a query or a fragment, a bad port."""
    if "://" not in preference:
        return None
    try:
        parts = urlsplit(preference)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        raise _not_understood(preference, " (a bad port)") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _not_understood(preference, " (a URL needs http:// or https:// and a host)")
    if parts.username is not None or parts.query or parts.fragment:
        raise _not_understood(preference, " (no user name, ?query or #fragment in a URL)")
    if any(c.isspace() for c in preference):
        raise _not_understood(preference, " (a URL has no spaces)")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}"


def check_displayed_address(preference: str) -> None:
    """Raise :class:`ConfigError` unless ``preference`` is ``auto``, ``ip:ADDR`` or a URL."""
    if preference == "auto" or public_url(preference) is not None:
        return
    if not preference.startswith("ip:"):
        raise _not_understood(preference)
    if not preference[3:] or any(c.isspace() or c == "/" for c in preference[3:]):
        raise _not_understood(preference, " (ip: needs an address, e.g. ip:192.168.1.20)")


def displayed_ip(preference: str, bind_host: str) -> str:
    """The address to put in the URL: ``ip:<addr>`` as given, or ``auto``.

    ``auto`` uses the bind address when it is a concrete one, otherwise this machine's best
    LAN address; with no usable interface it falls back to 127.0.0.1 (access limited).
    """
    if preference.startswith("ip:"):
        return preference[3:]
    if preference != "auto":
        raise _not_understood(preference)
    if bind_host not in _ANY:
        return bind_host
    candidates = local_ipv4_addresses()
    return candidates[0] if candidates else "127.0.0.1"


@dataclass(frozen=True)
class Displayed:
    """What viewers are shown: the ``url``, and its ``host`` (what reaches the server)."""

    url: str
    host: str

    @property
    def limited(self) -> bool:
        """True when other devices cannot open the URL: its host is loopback."""
        return is_loopback(self.host)


def displayed(preference: str, bind_host: str, scheme: str, port: int) -> Displayed:
    """The URL viewers are shown, for a server bound to ``bind_host`` and ``port``: a
    URL ``preference`` as given, else ``scheme://<displayed_ip>:port/``."""
    url = public_url(preference)
    if url is None:
        host = displayed_ip(preference, bind_host)
        return Displayed(make_url(scheme, host, port), host)
    return Displayed(url, urlsplit(url).hostname or "")


def unreachable_warning(bind_host: str, shown: Displayed) -> str:
    """What to say when other devices cannot open the URL shown, with the change that helps.

    A server bound to loopback is unreachable whatever address is displayed: another
    ``host`` helps, or (behind a reverse proxy) displaying the proxy's public URL. Bound to
    every interface, only the displayed address is wrong.
    """
    proxy = f"{spell('displayed_address', 'https://cam.example.org/')}"
    if is_loopback(bind_host):
        return (
            f"the server listens on {bind_host} only: other devices cannot reach {shown.url}; "
            f"to serve them, listen on every interface with {spell('host', '0.0.0.0')}, "
            f"or behind a reverse proxy show its public URL: {proxy}"
        )
    return (
        f"the displayed address {shown.host} is loopback: other devices cannot reach "
        f"{shown.url}; use {spell('displayed_address', 'ip:<LAN address>')}, or behind a "
        f"reverse proxy its public URL: {proxy}"
    )


def make_url(scheme: str, host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}/" if port == default else f"{scheme}://{host}:{port}/"


def qr_svg(text: str, *, dark: str = "#000", light: str = "#fff", scale: int = 6) -> bytes:
    """An SVG QR code of ``text`` (a URL), ready to serve as ``image/svg+xml``."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=scale, dark=dark, light=light)
    return out.getvalue()


def qr_text(text: str, out: TextIO) -> None:
    """Draw the QR code of ``text`` in a terminal, with half-block characters."""
    segno.make(text, error="l").terminal(out=out, compact=True)
