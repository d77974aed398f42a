"""Cross-site writes and DNS rebinding: a page from another origin can neither open the live
sockets nor push images, even when its name resolves to the server (Origin and Host both
foreign); the page's own origin and programs that send no Origin still work."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.robustness.conftest import (
    Served,
    check_still_publishing,
    post_image,
    small_jpeg,
    timeout,
)

LIVE_SOCKETS = ("/ws", "/frames", "/control")


def evil(served: Served) -> dict[str, str]:
    """What a browser sends from a rebound name: Origin and Host both evil.example:PORT."""
    name = f"evil.example:{served.port}"
    return {"Origin": f"http://{name}", "Host": name}


def own(served: Served) -> dict[str, str]:
    return {"Origin": f"http://127.0.0.1:{served.port}"}


@pytest.mark.parametrize("path", LIVE_SOCKETS)
async def test_rebound_origin_cannot_open_a_socket(served: Served, path: str) -> None:
    """/ws, /frames and /control refuse Origin and Host both evil.example:PORT with 403 and
    accept the page's own origin."""
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(f"{served.ws_url}{path}", headers=evil(served))
        assert refused.value.status == 403
        async with session.ws_connect(f"{served.ws_url}{path}", headers=own(served)) as ws:
            assert not ws.closed


async def test_rebound_origin_cannot_open_events(served: Served) -> None:
    """/events refuses a rebound origin with 403 and streams for the page's own origin."""
    async with aiohttp.ClientSession() as session:
        url = f"{served.url}/events"
        async with session.get(url, headers=evil(served), timeout=timeout(10)) as response:
            assert response.status == 403
        async with session.get(url, headers=own(served), timeout=timeout(10)) as response:
            assert response.status == 200


async def test_control_command_never_runs_for_a_rebound_origin(served: Served) -> None:
    """A rebound page cannot reset the counters: /control is refused before any command."""
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            assert (await post_image(session, served, small_jpeg(1)))[0] == 202
        with pytest.raises(aiohttp.WSServerHandshakeError):
            async with session.ws_connect(f"{served.ws_url}/control", headers=evil(served)) as ws:
                await ws.send_str(json.dumps({"cmd": "reset"}))
        status = served.status()
        assert status["frames_ingested"] == 2


@pytest.mark.parametrize("foreign", ["rebound", "cross-site"])
async def test_ingest_refuses_foreign_origins(served: Served, foreign: str) -> None:
    """POST /api/frames from a foreign page (a no-cors text/plain simple request, or a rebound
    name) is 403 and publishes nothing; the own origin and no Origin at all are accepted."""
    headers = (
        evil(served)
        if foreign == "rebound"
        else {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    )
    async with aiohttp.ClientSession() as session:
        status, answer = await post_image(session, served, small_jpeg(1), headers=headers)
        assert status == 403, answer
        assert served.status()["frames_ingested"] == 0
        assert (await post_image(session, served, small_jpeg(2), headers=own(served)))[0] == 202
        assert (await post_image(session, served, small_jpeg(3)))[0] == 202
    await check_still_publishing(served)
