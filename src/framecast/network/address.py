"""Bind address versus displayed address, interface discovery, and the QR code of the URL."""

from __future__ import annotations

import io
import ipaddress
import logging
import socket
from typing import TextIO

import psutil
import segno

from framecast.errors import ConfigError

__all__ = [
    "displayed_ip",
    "is_loopback",
    "local_ipv4_addresses",
    "make_url",
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


def displayed_ip(preference: str, bind_host: str) -> str:
    """The address to put in the URL: ``ip:<addr>`` as given, or ``auto``.

    ``auto`` uses the bind address when it is a concrete one, otherwise this machine's best
    LAN address; with no usable interface it falls back to 127.0.0.1 (access limited).
    """
    if preference.startswith("ip:"):
        return preference[3:]
    if preference != "auto":
        raise ConfigError(
            f"displayed address {preference!r} is not understood; use auto or ip:ADDR"
        )
    if bind_host not in _ANY:
        return bind_host
    candidates = local_ipv4_addresses()
    return candidates[0] if candidates else "127.0.0.1"


def unreachable_warning(bind_host: str, displayed: str, url: str) -> str:
    """What to say when other devices cannot open ``url``, with the one change that helps.

    A server bound to loopback is unreachable whatever address is displayed: only another
    ``--host`` helps. Bound to every interface, only the displayed address is wrong.
    """
    if is_loopback(bind_host):
        return (
            f"the server listens on {bind_host} only: other devices cannot reach {url}; "
            "to serve them, listen on every interface with --host 0.0.0.0"
        )
    return (
        f"the displayed address {displayed} is loopback: other devices cannot reach {url}; "
        "use --displayed-address ip:<LAN address>"
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
