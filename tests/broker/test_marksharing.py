"""Shared marks cross the broker (docs/together.md, docs/scale-out.md): a mark made on one
node reaches the viewers of every node, a deletion too, and a node that joins later lists
them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from tests.broker.conftest import REQUEST_TIMEOUT, Redis, node, running, url
from tests.conftest import next_json, until

CIRCLE = {"shape": "circle", "x": 12, "y": 8, "r": 3, "text": "comet?", "colour": "cyan"}


async def listed(http: aiohttp.ClientSession, base: str) -> Any:
    async with http.get(base + "/api/marks", timeout=REQUEST_TIMEOUT) as response:
        assert response.status == 200
        return await response.json()


async def test_a_mark_made_on_one_node_reaches_every_node(redis: Redis, tmp_path: Path) -> None:
    """POST on node A: node B's /ws viewer gets the marks message with that mark and B
    lists it; DELETE on B: A lists none; a node C started afterwards lists what is left."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as http:
        await until(lambda: a.status()["broker"] == b.status()["broker"] == "ok", 10, "links")
        async with http.ws_connect(url(b) + "/ws") as ws:
            await until(lambda: b.status()["clients"] == 1, what="a viewer on B")
            posted = []
            for shape in (CIRCLE, {"shape": "point", "x": 1, "y": 2}):
                async with http.post(url(a) + "/api/marks", data=json.dumps(shape)) as response:
                    assert response.status == 201
                    posted.append(await response.json())
            told = await next_json(ws, 10)
            while told["marks"] != posted:  # the first change may come alone
                told = await next_json(ws, 10)
            assert told["type"] == "marks" and told["stream"] == "default"
        assert await listed(http, url(b)) == posted
        async with http.delete(f"{url(b)}/api/marks/{posted[0]['id']}") as response:
            assert response.status == 200
        await until(lambda: len(a._running.context.marks) == 1, 10, "the deletion on A")
        assert await listed(http, url(a)) == posted[1:]
        c = node(tmp_path, "c", redis.url)
        async with running(c):
            await until(lambda: len(c._running.context.marks) == 1, 10, "the marks on C")
            assert await listed(http, url(c)) == posted[1:]
