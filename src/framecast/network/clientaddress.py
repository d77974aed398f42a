"""Which address a request comes from, behind trusted reverse proxies. Pure.

Behind a proxy every connection comes from the proxy's address, so a cap per client address
(``max_clients_per_address``) would count every viewer together. A proxy says whom it
forwards in ``X-Forwarded-For`` by appending the address it received the request from; any
client can put whatever it likes in front of that. So the header is believed only when the
connection comes from a configured trusted proxy, and read from the right: each address
that is itself a trusted proxy is a hop passed through, and the first one that is not is the
client. A missing or unreadable entry where the client should be leaves the nearest trusted
proxy as the address (one address for all it forwards — the safe side of a cap).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["MAX_HOPS", "Network", "client_address", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Most ``X-Forwarded-For`` entries read, from the right (a longer chain is the client's own).
MAX_HOPS = 16


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """``("127.0.0.1", "10.0.0.0/8", "::1")`` as networks; :class:`ValueError` naming the
    first entry that is not an IP address or network."""
    networks: list[Network] = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/8)"
            ) from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An entry of ``X-Forwarded-For`` as an address (``[v6]:port`` and ``v4:port`` forms
    included), or None."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: tuple[Network, ...]
) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: ``peer`` (the connection's), unless ``peer`` is a trusted proxy
    and ``forwarded_for`` (the ``X-Forwarded-For`` header) names who it forwards."""
    current = _address(peer)
    if not trusted or current is None or not _trusted(current, trusted) or not forwarded_for:
        return peer
    client = str(current)
    for entry in reversed(forwarded_for.split(",")[-MAX_HOPS:]):
        address = _address(entry)
        if address is None:
            break  # unreadable: the nearest trusted proxy stands for the client
        client = str(address)
        if not _trusted(address, trusted):
            break
    return client
