"""Bind versus displayed address: what ``auto`` picks, loopback detection, URLs and QR codes."""

from __future__ import annotations

import io
import ipaddress

import pytest

from framecast.errors import ConfigError
from framecast.network import address


def test_auto_uses_a_concrete_bind_address() -> None:
    """A server bound to one address shows that address, not another interface's."""
    assert address.displayed_ip("auto", "192.168.7.9") == "192.168.7.9"


def test_auto_on_all_interfaces_picks_a_reachable_lan_address() -> None:
    """Bound to 0.0.0.0, ``auto`` shows this machine's best LAN address (never loopback when
    another exists), or 127.0.0.1 when the machine has no other interface."""
    candidates = address.local_ipv4_addresses()
    shown = address.displayed_ip("auto", "0.0.0.0")
    if candidates:
        assert shown == candidates[0]
        assert not ipaddress.ip_address(shown).is_loopback
    else:
        assert shown == "127.0.0.1"


def test_local_addresses_leave_out_loopback_and_link_local_and_put_private_first() -> None:
    """Interface discovery lists usable IPv4 addresses, private (LAN) ones first."""
    found = [ipaddress.IPv4Address(a) for a in address.local_ipv4_addresses()]
    assert all(not (a.is_loopback or a.is_link_local or a.is_unspecified) for a in found)
    privacy = [0 if a.is_private else 1 for a in found]
    assert privacy == sorted(privacy)


def test_explicit_displayed_address_is_used_exactly() -> None:
    """``ip:<address>`` is shown as given, whatever the bind address."""
    assert address.displayed_ip("ip:10.1.2.3", "0.0.0.0") == "10.1.2.3"
    assert address.displayed_ip("ip:cam.example.org", "127.0.0.1") == "cam.example.org"


def test_unknown_preference_is_a_config_error() -> None:
    """Anything but ``auto``, ``ip:…`` or a URL is refused with a message saying what to use."""
    with pytest.raises(ConfigError, match="auto, ip:<address> or the URL viewers open"):
        address.displayed_ip("lan", "0.0.0.0")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("localhost", True),
        ("192.168.1.20", False),
        ("cam.example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    """Loopback addresses (which other devices cannot reach) are recognised."""
    assert address.is_loopback(host) is loopback


def test_urls_leave_out_default_ports_and_bracket_ipv6() -> None:
    """URLs are what a user types: no :80/:443, IPv6 literals in brackets."""
    assert address.make_url("http", "10.0.0.2", 8000) == "http://10.0.0.2:8000/"
    assert address.make_url("http", "10.0.0.2", 80) == "http://10.0.0.2/"
    assert address.make_url("https", "10.0.0.2", 443) == "https://10.0.0.2/"
    assert address.make_url("https", "fe80::1", 8443) == "https://[fe80::1]:8443/"


@pytest.mark.parametrize(
    ("given", "url", "host"),
    [
        ("https://cam.example.org", "https://cam.example.org/", "cam.example.org"),
        ("https://CAM.example.org/", "https://cam.example.org/", "cam.example.org"),
        (
            "http://lab.example.org:8080/cams",
            "http://lab.example.org:8080/cams/",
            "lab.example.org",
        ),
        ("https://[2001:db8::7]/", "https://[2001:db8::7]/", "2001:db8::7"),
    ],
)
def test_a_displayed_url_is_shown_as_given(given: str, url: str, host: str) -> None:
    """A URL as displayed address (a reverse proxy's public one) is the URL viewers are shown,
    whatever port and address the server itself has, ending with one "/"; it is not loopback."""
    shown = address.displayed(given, "127.0.0.1", "http", 8000)
    assert (shown.url, shown.host, shown.limited) == (url, host, False)
    address.check_displayed_address(given)


def test_a_loopback_url_is_limited_and_ip_stays_as_it_was() -> None:
    """A URL on loopback still counts as unreachable; ip:ADDR and auto build the server's URL."""
    assert address.displayed("http://127.0.0.1:9000/", "0.0.0.0", "http", 1).limited
    shown = address.displayed("ip:10.1.2.3", "0.0.0.0", "https", 8443)
    assert (shown.url, shown.limited) == ("https://10.1.2.3:8443/", False)


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("ftp://cam.example.org/", "http:// or https://"),
        ("https:///path", "http:// or https://"),
        ("https://user:pw@cam.example.org/", "no user name"),
        ("https://cam.example.org/?token=x", "?query"),
        ("https://cam.example.org/#top", "#fragment"),
        ("https://cam.example.org:http/", "a bad port"),
        ("https://cam.example.org/a b/", "no spaces"),
        ("ip:", "ip: needs an address"),
        ("ip:10.0.0.1/24", "ip: needs an address"),
        ("lan", "auto, ip:<address> or the URL viewers open, e.g. https://cam.example.org/"),
    ],
)
def test_a_displayed_address_viewers_could_not_open_is_refused(given: str, why: str) -> None:
    """A displayed address that is no usable URL or address is a ConfigError saying why and
    what to give (in the Python API's words: displayed_address=)."""
    with pytest.raises(ConfigError) as caught:
        address.check_displayed_address(given)
    assert why in str(caught.value) and "give displayed_address= " in str(caught.value)


def test_the_loopback_warning_offers_the_proxy_url() -> None:
    """Bound to loopback, the warning says to listen elsewhere or, behind a reverse proxy, to
    display its public URL; bound everywhere, to display a LAN address or that URL."""
    shown = address.displayed("auto", "127.0.0.1", "http", 8000)
    text = address.unreachable_warning("127.0.0.1", shown)
    assert "host='0.0.0.0'" in text and "displayed_address='https://cam.example.org/'" in text
    text = address.unreachable_warning("0.0.0.0", address.displayed("ip:127.0.0.1", "", "http", 1))
    assert "displayed_address='ip:<LAN address>'" in text and "public URL" in text


def test_qr_codes_are_drawn() -> None:
    """The QR code is an SVG document, and the terminal version is printable text."""
    svg = address.qr_svg("http://10.0.0.2:8000/")
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    out = io.StringIO()
    address.qr_text("http://10.0.0.2:8000/", out)
    assert len(out.getvalue().splitlines()) > 10
