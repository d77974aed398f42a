"""Shared marks over HTTP on real sockets (docs/together.md): stored, listed, told to the
live viewers, deleted, kept across a restart; every bad input refused with nothing stored."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from framecast import ImageServer
from tests.conftest import LOCAL, base, next_json, until

CIRCLE = {"shape": "circle", "x": 1200, "y": 800, "r": 30, "text": "comet?"}


async def marks_of(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> Any:
    async with http.get(url + "/api/marks", **kwargs) as response:
        assert response.status == 200
        return await response.json()


async def test_a_mark_is_stored_listed_told_and_deleted(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """POST answers 201 with the mark and its id; GET lists it; each open /ws viewer gets a
    marks message with every mark at each change; DELETE removes it (404 the second time)."""
    url = base(server)
    async with http.ws_connect(url + "/ws") as ws:
        await until(lambda: server.status()["clients"] == 1, what="ws client")
        async with http.post(url + "/api/marks", data=json.dumps(CIRCLE)) as response:
            assert response.status == 201
            mark = await response.json()
        told = await next_json(ws)
        assert told == {"type": "marks", "stream": "default", "marks": [mark]}
        assert {k: mark[k] for k in CIRCLE} == CIRCLE
        assert mark["seq"] is None and isinstance(mark["created"], float) and mark["id"]
        point = {"shape": "point", "x": 3, "y": 4, "colour": "#f80", "seq": 0}
        async with http.post(url + "/api/marks", data=json.dumps(point)) as response:
            second = await response.json()
        assert second["seq"] == 0
        assert (await next_json(ws))["marks"] == [mark, second]
        assert await marks_of(http, url) == [mark, second]
        async with http.delete(f"{url}/api/marks/{mark['id']}") as response:
            assert response.status == 200
            assert await response.json() == {"ok": True, "id": mark["id"]}
        assert (await next_json(ws))["marks"] == [second]
    async with http.delete(f"{url}/api/marks/{mark['id']}") as response:
        assert response.status == 404
        assert "has no mark" in (await response.json())["error"]
    assert await marks_of(http, url) == [second]
    async with http.get(url + "/s/nowhere/api/marks") as response:
        assert response.status == 404


BAD_MARKS = [
    ('{"shape": "star", "x": 1, "y": 2}', 'mark: shape is "star"; use one of circle'),
    ('{"shape": "circle", "x": "a", "y": 2, "r": 3}', 'x is not a number ("a")'),
    ('{"shape": "point", "x": 1, "y": 2, "text": "' + "t" * 201 + '"}', "201 characters"),
    ('{"shape": "point", "x": 1, "y": 2, "seq": -1}', "seq is -1"),
    ('{"shape": "point", "x": 1', "not valid JSON"),
    ("[1, 2]", "mark is not a JSON object"),
]


async def test_each_bad_mark_is_a_400_and_nothing_is_stored(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """Unknown shape, a coordinate that is not a number, text over 200 characters, a bad
    seq, broken JSON: 400 with the one line that says so; the stream keeps no mark."""
    for body, message in BAD_MARKS:
        async with http.post(base(server) + "/api/marks", data=body) as response:
            assert response.status == 400, body
            error = (await response.json())["error"]
        assert message in error and error.endswith("nothing was stored"), error
    assert await marks_of(http, base(server)) == []


async def test_limits_on_count_and_size(work: Path, http: aiohttp.ClientSession) -> None:
    """One mark more than max_marks is a 400 naming the setting; a body over
    max_mark_bytes is a 413; in both cases nothing more is stored."""
    server = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, max_marks=2, max_mark_bytes=500
    )
    await server.astart()
    try:
        url = base(server) + "/api/marks"
        for _ in range(2):
            async with http.post(url, data=json.dumps(CIRCLE)) as response:
                assert response.status == 201
        async with http.post(url, data=json.dumps(CIRCLE)) as response:
            assert response.status == 400
            assert "already has 2 marks (max_marks)" in (await response.json())["error"]
        big = json.dumps({**CIRCLE, "text": "x" * 100, "pad": " " * 600})
        async with http.post(url, data=big) as response:
            assert response.status == 413
            assert "max_mark_bytes" in (await response.json())["error"]
        assert len(await marks_of(http, base(server))) == 2
    finally:
        await server.astop()


async def test_viewer_token_reads_operator_token_writes(
    work: Path, http: aiohttp.ClientSession
) -> None:
    """With tokens set, listing needs the viewer token and changing the operator token
    (401 with the viewer token), as docs/together.md says."""
    server = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, token="op", viewer_token="view"
    )
    await server.astart()
    try:
        url = base(server)
        async with http.get(url + "/api/marks") as response:
            assert response.status == 401
        viewer = {"Authorization": "Bearer view"}
        async with http.post(url + "/api/marks", data=json.dumps(CIRCLE), headers=viewer) as r:
            assert r.status == 401
        operator = {"Authorization": "Bearer op"}
        async with http.post(url + "/api/marks", data=json.dumps(CIRCLE), headers=operator) as r:
            assert r.status == 201
        assert len(await marks_of(http, url, headers=viewer)) == 1
    finally:
        await server.astop()


async def test_marks_survive_a_restart(work: Path, http: aiohttp.ClientSession) -> None:
    """Marks are written to the work folder (marks/<stream>.json) and a server started
    again on it lists the same marks."""
    first = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    await first.astart()
    try:
        async with http.post(base(first) + "/api/marks", data=json.dumps(CIRCLE)) as response:
            mark = await response.json()
    finally:
        await first.astop()
    assert json.loads((work / "marks" / "default.json").read_text()) == [mark]
    again = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    await again.astart()
    try:
        assert await marks_of(http, base(again)) == [mark]
    finally:
        await again.astop()


async def test_events_carry_the_marks_too(server: ImageServer, http: aiohttp.ClientSession) -> None:
    """An /events client (the viewer's fallback) gets an ``event: marks`` with the stream's
    marks after a change, as /ws does."""
    async with http.get(base(server) + "/events") as stream:
        await until(lambda: server.status()["clients"] == 1, what="events client")
        async with http.post(base(server) + "/api/marks", data=json.dumps(CIRCLE)) as response:
            mark = await response.json()
        seen = b""
        while b"event: marks\n" not in seen or not seen.endswith(b"\n\n"):
            seen += await asyncio.wait_for(stream.content.readany(), 5)
    data = seen.split(b"event: marks\ndata: ", 1)[1].split(b"\n", 1)[0]
    assert json.loads(data) == {"type": "marks", "stream": "default", "marks": [mark]}
