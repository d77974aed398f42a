"""The client's address behind trusted reverse proxies (X-Forwarded-For read from the right,
believed only from a trusted peer)."""

from __future__ import annotations

import pytest

from framecast.network.clientaddress import MAX_HOPS, client_address, parse_networks

TRUSTED = parse_networks(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", "192.0.2.9", "192.0.2.9"),  # one proxy
        ("127.0.0.1", "198.51.100.1, 192.0.2.9", "192.0.2.9"),  # the client's own entry is skipped
        ("127.0.0.1", "192.0.2.9, 10.1.2.3", "192.0.2.9"),  # two proxies, both trusted
        ("::1", "[2001:db8::5]:4711", "2001:db8::5"),  # IPv6 with a port
        ("127.0.0.1", "192.0.2.9:5000", "192.0.2.9"),  # IPv4 with a port
        ("::ffff:127.0.0.1", "192.0.2.9", "192.0.2.9"),  # the proxy as a mapped IPv4
        ("192.0.2.50", "192.0.2.9", "192.0.2.50"),  # an untrusted peer: header ignored
        ("127.0.0.1", None, "127.0.0.1"),  # no header: the proxy itself
        ("127.0.0.1", "unknown", "127.0.0.1"),  # unreadable: the nearest proxy
        ("127.0.0.1", "192.0.2.9, garbage, 10.0.0.7", "10.0.0.7"),
        ("127.0.0.1", "10.0.0.1, 10.0.0.2", "10.0.0.1"),  # all trusted: the farthest
    ],
)
def test_the_client_is_the_first_untrusted_entry_from_the_right(
    peer: str, forwarded: str | None, client: str
) -> None:
    """Each case gives the address a per-address cap should count."""
    assert client_address(peer, forwarded, TRUSTED) == client


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    """No trusted proxy configured: X-Forwarded-For is never believed."""
    assert client_address("127.0.0.1", "192.0.2.9", ()) == "127.0.0.1"


def test_a_long_chain_is_read_only_so_far() -> None:
    """At most MAX_HOPS entries are read: a client cannot make the server walk a huge list."""
    chain = ", ".join(["192.0.2.1"] + ["10.0.0.9"] * (MAX_HOPS + 5))
    assert client_address("127.0.0.1", chain, TRUSTED) == "10.0.0.9"


def test_networks_are_parsed_and_bad_entries_named() -> None:
    """Addresses and CIDR networks parse; anything else is a ValueError naming the entry."""
    assert [str(n) for n in parse_networks([" 10.0.0.0/8", "::1", "192.0.2.7/24"])] == [
        "10.0.0.0/8",
        "::1/128",
        "192.0.2.0/24",
    ]
    with pytest.raises(ValueError, match=r"'proxy\.lan' is not an IP address or network"):
        parse_networks(["proxy.lan"])
