"""The server's own origins: which web pages count as "same origin".

A browser sends ``Origin`` with every WebSocket upgrade, event stream and cross-site POST.
Comparing it with the ``Host`` header is not enough: after a DNS rebinding, a foreign page
(``http://evil.example:8000``) reaches the server with ``Host: evil.example:8000`` too. So the
origins a page may come from are computed once at start from names the server itself knows:
its bind and displayed addresses, every address of this machine's interfaces, ``localhost``
and the loopback addresses, the host name, all with the port actually bound, plus the
configured ``allowed_origins`` and the displayed address when it is a URL (public names in
front of a reverse proxy).

A refused origin is logged once (:class:`OriginRefusals`), with the option that allows it: a
proxy whose public name was not given shows a page whose live connections all fail, and the
log is where its operator looks.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import psutil

from framecast.errors import ConfigError, spell
from framecast.runtime.throttle import LogThrottle

__all__ = [
    "OriginRefusals",
    "interface_addresses",
    "origin_key",
    "own_hosts",
    "server_origins",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
_ANY = frozenset({"", "0.0.0.0", "::"})


def origin_key(origin: str) -> str | None:
    """``scheme://host:port`` in one canonical spelling (lower case, explicit port, IPv6 in
    brackets), or ``None`` when ``origin`` is not an http(s) origin (``null``, garbage)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = _SCHEMES.get(parts.scheme.lower())
    host = (parts.hostname or "").rstrip(".")
    if scheme is None or not host:
        return None
    return _key(scheme, host, port or _DEFAULT_PORTS[scheme])


def _key(scheme: str, host: str, port: int) -> str:
    host = host.lower().strip("[]")
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def interface_addresses() -> list[str]:
    """Every IPv4 and IPv6 address of this machine's interfaces (scope ids dropped)."""
    try:
        interfaces = psutil.net_if_addrs()
    except OSError:  # pragma: no cover - exotic platforms
        return []
    return [
        entry.address.split("%", 1)[0]
        for addresses in interfaces.values()
        for entry in addresses
        if entry.family in (socket.AF_INET, socket.AF_INET6)
    ]


def own_hosts(bind_host: str, displayed: str) -> set[str]:
    """The host names and addresses under which this server can be reached."""
    hosts = {*_LOOPBACK, displayed, *interface_addresses()}
    if bind_host not in _ANY:
        hosts.add(bind_host)
    name = socket.gethostname()
    if name:
        hosts.update({name, f"{name}.local"})
    return hosts


def server_origins(
    *, scheme: str, port: int, hosts: Iterable[str], allowed: Iterable[str]
) -> frozenset[str]:
    """The canonical origins of ``hosts`` on ``port``, plus the ``allowed`` origins (``*``
    stays ``*``: every origin is allowed). :class:`ConfigError` for an allowed origin that
    is not one."""
    keys = {_key(scheme, host, port) for host in hosts if host}
    for origin in allowed:
        key = "*" if origin.strip() == "*" else origin_key(origin)
        if key is None:
            raise ConfigError(
                f"allowed origin {origin!r} is not an origin; give scheme and name, "
                f"e.g. {spell('allowed_origins', 'https://cam.example.org')}"
            )
        keys.add(key)
    return frozenset(keys)


def how_to_allow(origin: str) -> str:
    """The options that let pages of ``origin`` (as the browser sent it) in."""
    public = origin.rstrip("/")
    return (
        f"if it is this server's public name (a reverse proxy's), start with "
        f"{spell('displayed_address', public + '/')} or {spell('allowed_origins', public)}"
    )


class OriginRefusals:
    """Which refused origins were logged: each the first time, once. At most ``remember``
    of them are remembered (pages may invent origins); beyond that, one line per
    ``interval`` stands for the refusals of the others."""

    def __init__(self, *, remember: int = 256, interval: float = 60.0) -> None:
        self.remember = remember
        self.refused = 0
        self._logged: set[str] = set()
        self._others = LogThrottle(interval)

    def report(self, origin: str) -> str | None:
        """Count one refusal of ``origin`` (printable, as sent); the line to log, or
        ``None`` when it was said already."""
        self.refused += 1
        key = origin_key(origin) or origin
        if key in self._logged:
            return None
        if len(self._logged) < self.remember:
            self._logged.add(key)
            return (
                f"refused a page of origin {origin}: not one of this server's own names, "
                f"its live connections and uploads get 403; {how_to_allow(origin)}"
            )
        count = self._others.due()
        if count is None:
            return None
        return (
            f"refused {count} request(s) from pages of origins not logged before "
            f"(e.g. {origin}); {how_to_allow(origin)}"
        )
