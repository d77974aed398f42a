"""Who may do what, through real requests: viewer and operator tokens on every kind of route,
passed as ?token=, as a Bearer header or as the cookie a token link leaves behind."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from framecast import ImageServer
from framecast.web.guards import token_matches
from tests.conftest import LOCAL, base

VIEWER, OPERATOR = "look-only-4821", "hands-on-9377"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63600000000200015e2f1cf40000000049454e44ae426082"
)


async def _status(http: aiohttp.ClientSession, method: str, url: str, **kw: object) -> int:
    async with http.request(method, url, **kw) as response:  # type: ignore[arg-type]
        return response.status


async def _upgrade(http: aiohttp.ClientSession, url: str, **kw: object) -> int:
    try:
        async with http.ws_connect(url, **kw):  # type: ignore[arg-type]
            return 101
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status


@pytest.mark.parametrize(
    ("given", "watch", "command"),
    [
        ({}, 401, 401),
        ({"params": {"token": "wrong"}}, 401, 401),
        ({"params": {"token": VIEWER}}, 200, 401),
        ({"headers": {"Authorization": f"Bearer {VIEWER}"}}, 200, 401),
        ({"params": {"token": OPERATOR}}, 200, 200),
        ({"headers": {"Authorization": f"Bearer {OPERATOR}"}}, 200, 200),
        ({"headers": {"Authorization": f"bearer {OPERATOR}"}}, 200, 200),
    ],
)
async def test_tokens_on_every_kind_of_route(
    work: Path, given: dict[str, object], watch: int, command: int
) -> None:
    """With both tokens set: the page, status, /ws and /events need the viewer (or operator)
    token; /control and ingest need the operator token; a wrong one is 401 everywhere."""
    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, token=OPERATOR, viewer_token=VIEWER
    )
    async with srv, aiohttp.ClientSession() as http:
        url = base(srv)
        assert await _status(http, "GET", url + "/", **given) == watch
        assert await _status(http, "GET", url + "/api/status", **given) == watch
        assert await _status(http, "GET", url + "/data.json", **given) == watch
        assert await _upgrade(http, url + "/ws", **given) == (101 if watch == 200 else watch)
        ingest = await _status(http, "POST", url + "/api/frames", data=PNG, **given)
        assert ingest == (202 if command == 200 else command)
        control = await _upgrade(http, url + "/control", **given)
        assert control == (101 if command == 200 else command)


async def test_a_token_link_leaves_a_cookie_for_the_pages_own_requests(work: Path) -> None:
    """Opening the page with ?token= (a QR link) sets an HttpOnly cookie, so the page's own
    requests (data.json, /ws) work without the token in their URL; the cookie never grants
    operator rights."""
    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, token=OPERATOR, viewer_token=VIEWER
    )
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP-address host
    async with srv, aiohttp.ClientSession(cookie_jar=jar) as http:
        url = base(srv)
        async with http.get(url + "/", params={"token": VIEWER}) as response:
            assert response.status == 200
            cookie = response.cookies["framecast_token"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
        assert await _status(http, "GET", url + "/data.json") == 200
        assert await _upgrade(http, url + "/ws") == 101
        assert await _status(http, "POST", url + "/api/frames", data=PNG) == 401


async def test_without_tokens_everyone_watches_and_commands(server: ImageServer) -> None:
    """No token configured: an open session on a trusted network."""
    async with aiohttp.ClientSession() as http:
        url = base(server)
        assert await _status(http, "GET", url + "/api/status") == 200
        assert await _upgrade(http, url + "/control") == 101
        assert await _status(http, "POST", url + "/api/frames", data=PNG) == 202


def test_token_comparison() -> None:
    """Equal tokens match, anything else does not; no expected token matches everyone."""
    assert token_matches("abc", "abc")
    assert not token_matches("abd", "abc") and not token_matches("", "abc")
    assert not token_matches(None, "abc")
    assert token_matches(None, None) and token_matches("x", None)
    assert token_matches("ünï", "ünï")
