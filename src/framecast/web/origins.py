"""The server's own origins: which web pages count as "same origin".

A browser sends ``Origin`` with every WebSocket upgrade, event stream and cross-site POST.
Comparing it with the ``Host`` header is not enough: after a DNS rebinding, a foreign page
(``http://evil.example:8000``) reaches the server with ``Host: evil.example:8000`` too. So the
origins a page may come from are computed once at start from names the server itself knows:
its bind and displayed addresses, every address of this machine's interfaces, ``localhost``
and the loopback addresses, the host name, all with the port actually bound, plus the
configured ``allowed_origins`` (public names in front of a reverse proxy).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import psutil

from framecast.errors import ConfigError

__all__ = ["interface_addresses", "origin_key", "own_hosts", "server_origins"]

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
                "e.g. --allowed-origins https://cam.example.org"
            )
        keys.add(key)
    return frozenset(keys)
