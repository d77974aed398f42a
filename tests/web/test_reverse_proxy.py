"""Behind a reverse proxy (docs/deploy.md): the public URL is what viewers are shown, its pages
may open the live connections, every viewer counts as itself, and a name nobody gave is
logged once with the fix."""

from __future__ import annotations

import logging
import re
import shlex
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from framecast import ImageServer
from framecast.cli import build_parser
from framecast.config.settings import Settings, load
from framecast.web.origins import OriginRefusals
from tests.conftest import LOCAL, base, gradient, next_json, until
from tests.web.test_ingest import encoded

PUBLIC = "https://cam.example.org/"
DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def _serve_flags(command: str) -> dict[str, Any]:
    """The options of a `framecast serve …` command line written in deploy.md."""
    words = shlex.split(command.replace("\\\n", " "))
    args = build_parser().parse_args(words[words.index("serve") :])
    return {k: v for k, v in vars(args).items() if v is not None and k != "command"}


def recipe() -> dict[str, Any]:
    """deploy.md's proxy recipe: the first `framecast serve` of its shell blocks."""
    blocks = re.findall(r"^```sh\n(.*?)^```", DEPLOY.read_text(), flags=re.S | re.M)
    return _serve_flags(next(block for block in blocks if "framecast serve" in block))


def unit_file() -> dict[str, Any]:
    """The ExecStart= of deploy.md's systemd unit."""
    match = re.search(r"^ExecStart=(.*?)\n(?!\s)", DEPLOY.read_text(), flags=re.S | re.M)
    assert match is not None, "no ExecStart= in docs/deploy.md"
    return _serve_flags(match.group(1))


def test_the_recipe_and_the_unit_file_say_the_same() -> None:
    """The systemd unit runs deploy.md's proxy recipe (plus its work folder): the same
    host, port, displayed URL and trusted proxy."""
    assert recipe() == {k: v for k, v in unit_file().items() if k != "work_folder"}
    assert recipe()["displayed_address"] == PUBLIC


def proxied(client: str) -> dict[str, str]:
    """The headers a proxy in front of https://cam.example.org adds for a viewer."""
    return {
        "Host": "cam.example.org",
        "Origin": "https://cam.example.org",
        "X-Forwarded-For": client,
    }


async def test_the_recipe_shows_the_public_url_and_lets_its_pages_in(
    work: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Started with deploy.md's recipe as written there (--host 127.0.0.1 --displayed-address
    https://cam.example.org/ --trusted-proxies 127.0.0.1, no --allowed-origins),
    /api/status, the Share QR code (a stream's too) and server.url show the public URL, no
    loopback warning is logged, pages of that origin open /ws, /events and ingest through
    the proxy, and the per-address cap counts each viewer, not the proxy."""
    caplog.set_level(logging.INFO, logger="framecast")
    given = {**recipe(), "port": "0", "work_folder": str(work)}  # on a free port
    srv = ImageServer(load(Settings, given, environ={}), max_clients_per_address=1)
    async with srv, aiohttp.ClientSession() as http:
        assert srv.url == PUBLIC and not srv.access_limited
        async with http.get(base(srv) + "/api/status", headers=proxied("198.51.100.7")) as answer:
            status = await answer.json()
        assert (status["url"], status["access_limited"]) == (PUBLIC, False)
        async with http.get(base(srv) + "/qr.svg", headers=proxied("198.51.100.7")) as answer:
            assert answer.status == 200 and answer.headers["X-Framecast-Url"] == PUBLIC
        srv.publish(gradient(), stream="cam1")
        async with http.get(base(srv) + "/s/cam1/qr.svg") as answer:
            assert answer.headers["X-Framecast-Url"] == PUBLIC + "s/cam1/"
        async with (
            http.ws_connect(base(srv) + "/ws", headers=proxied("198.51.100.7")) as first,
            http.ws_connect(base(srv) + "/ws", headers=proxied("198.51.100.8")) as second,
            http.get(base(srv) + "/events", headers=proxied("198.51.100.9")) as events,
        ):
            assert events.status == 200
            await until(lambda: srv.status()["clients"] == 3, what="three viewers")
            async with http.post(
                base(srv) + "/api/frames", data=encoded("PNG"), headers=proxied("198.51.100.7")
            ) as answer:
                assert answer.status == 202
            assert (await next_json(first))["type"] == "new_image"
            assert (await next_json(second))["type"] == "new_image"
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not any("other devices" in line or "refused" in line for line in said), said


async def test_a_refused_origin_is_logged_once_with_the_fix(
    work: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A page of an origin the server was not given (a proxy started without its public
    name) gets 403, and the log says so once per origin, with the options that allow it."""
    caplog.set_level(logging.WARNING, logger="framecast.web")
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    async with srv, aiohttp.ClientSession() as http:
        for origin in ["https://cam.example.org"] * 3 + ["https://other.example.org"]:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(base(srv) + "/ws", headers={"Origin": origin})
            assert refused.value.status == 403
    lines = [r.getMessage() for r in caplog.records if "refused a page of origin" in r.getMessage()]
    assert len(lines) == 2, lines
    assert lines[0].startswith("refused a page of origin https://cam.example.org: ")
    assert "displayed_address='https://cam.example.org/'" in lines[0]
    assert "allowed_origins='https://cam.example.org'" in lines[0]
    assert lines[1].startswith("refused a page of origin https://other.example.org: ")


def test_invented_origins_are_remembered_up_to_a_bound() -> None:
    """Each refused origin is logged once, at most ``remember`` are kept; beyond them one
    line per interval stands for the rest, with their count."""
    refusals = OriginRefusals(remember=2, interval=3600.0)
    first = [refusals.report(f"https://{n}.example.org") for n in range(2)]
    assert all(line is not None and "refused a page of origin" in line for line in first)
    assert refusals.report("https://0.example.org") is None
    beyond = [refusals.report(f"https://x{n}.example.org") for n in range(1000)]
    assert beyond[0] is not None and "refused 1 request(s)" in beyond[0]
    assert beyond[1:] == [None] * 999 and refusals.refused == 1003
