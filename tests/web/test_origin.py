"""Same origin is decided against the server's own names, never the client's Host header."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from framecast import ImageServer
from framecast.errors import ConfigError
from framecast.web.origins import origin_key, server_origins
from tests.conftest import LOCAL, base
from tests.web.test_ingest import encoded


@pytest.mark.parametrize(
    ("origin", "key"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("HTTP://LocalHost:8000/", "http://localhost:8000"),
        ("https://cam.example.org", "https://cam.example.org:443"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("wss://cam.example.org", "https://cam.example.org:443"),
        ("null", None),
        ("http://host:notaport", None),
        ("file:///etc/passwd", None),
    ],
)
def test_origin_key_is_canonical(origin: str, key: str | None) -> None:
    """Origins compare in one spelling: lower case, explicit port, IPv6 in brackets."""
    assert origin_key(origin) == key


def test_a_malformed_allowed_origin_is_a_config_error() -> None:
    """An allowed origin without a scheme is refused at start with the fix in one line."""
    with pytest.raises(ConfigError, match="allowed_origins='https://"):
        server_origins(scheme="http", port=1, hosts=[], allowed=["cam.example.org"])


async def _ws_status(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> int:
    try:
        async with http.ws_connect(url, headers=headers):
            return 101
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status


async def test_rebound_name_is_refused_everywhere(work: Path) -> None:
    """A rebound DNS name (Origin and Host both evil.example:PORT) gets 403 on /ws, /frames,
    /control, /events and POST /api/frames (a one-line JSON error); nothing is published."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, token="op")
    async with srv, aiohttp.ClientSession() as http:
        evil = f"evil.example:{srv.port}"
        headers = {"Origin": f"http://{evil}", "Host": evil}
        for path in ("/ws", "/frames", "/control?token=op"):
            assert await _ws_status(http, base(srv) + path, headers) == 403, path
        async with http.get(base(srv) + "/events", headers=headers) as response:
            assert response.status == 403
        async with http.post(
            base(srv) + "/api/frames?token=op", data=encoded("PNG"), headers=headers
        ) as response:
            assert response.status == 403
            reply = await response.json()
        assert reply["ok"] is False and "allowed_origins=" in reply["error"]
        assert "\n" not in reply["error"]
        assert srv.status()["frames_submitted"] == 0
        assert srv.status()["ingest_rejected"] == 1


async def test_own_origins_and_scripts_are_accepted(work: Path) -> None:
    """Pages served by this server (127.0.0.1 and localhost on its port) and clients that
    send no Origin may open sockets and post images."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    async with srv, aiohttp.ClientSession() as http:
        for own in (f"http://127.0.0.1:{srv.port}", f"http://localhost:{srv.port}", None):
            headers = {} if own is None else {"Origin": own}
            assert await _ws_status(http, base(srv) + "/ws", headers) == 101, own
            assert await _ws_status(http, base(srv) + "/frames", headers) == 101, own
            async with http.post(
                base(srv) + "/api/frames", data=encoded("PNG"), headers=headers
            ) as response:
                assert response.status == 202, own
        # The same name on another port is another origin.
        other = {"Origin": f"http://127.0.0.1:{srv.port + 1}"}
        assert await _ws_status(http, base(srv) + "/ws", other) == 403


async def test_allowed_public_name_is_accepted(work: Path) -> None:
    """Behind a reverse proxy, the configured public origin is accepted whatever the Host;
    another name still is not."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        allowed_origins="https://cam.example.org",
    )
    async with srv, aiohttp.ClientSession() as http:
        proxied = {"Origin": "https://cam.example.org", "Host": "cam.example.org"}
        assert await _ws_status(http, base(srv) + "/ws", proxied) == 101
        async with http.post(
            base(srv) + "/api/frames", data=encoded("PNG"), headers=proxied
        ) as response:
            assert response.status == 202
        foreign = {"Origin": "https://other.example.org", "Host": "cam.example.org"}
        assert await _ws_status(http, base(srv) + "/ws", foreign) == 403
