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


async def _sent_by_redis(redis: Redis) -> int:
    """Bytes redis-server has sent to its clients so far (INFO stats)."""
    import redis.asyncio as redis_py

    client = redis_py.from_url(redis.url)
    try:
        return int((await client.info("stats"))["total_net_output_bytes"])
    finally:
        await client.aclose()


async def test_a_hash_stuffed_past_the_limits_is_refused_inside_redis(
    redis: Redis, tmp_path: Path
) -> None:
    """A stream's marks hash holding a 20 MB value, or more than max_marks marks, is refused
    (counted, nothing shown) without the node reading it: Redis sends it well under 1 MB."""
    b = node(tmp_path, "b", redis.url, max_marks=5)
    async with running(b), aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as http:
        await until(lambda: b.status()["broker"] == "ok", 10, "the link")
        key, note = "framecast:marks:default", b'{"stream": "default", "node": "x"}'
        good = json.dumps({**CIRCLE, "id": "0123456789ab", "seq": None, "created": 1.0})
        await redis.command("HSET", key, "0123456789ab", good, "fedcba987654", b"x" * 20_000_000)
        before = await _sent_by_redis(redis)
        await redis.command("PUBLISH", "framecast:marks", note)
        # At least once: a link that was slow under load reads the hash again when it is back.
        await until(lambda: b.status()["broker_rejected"] >= 1, 20, "the oversized mark refused")
        await redis.command("HDEL", key, "fedcba987654")
        for i in range(6):  # now too many
            await redis.command("HSET", key, f"{i:012x}", good)
        rejected = b.status()["broker_rejected"]
        await redis.command("PUBLISH", "framecast:marks", note)
        await until(lambda: b.status()["broker_rejected"] > rejected, 20, "too many marks refused")
        assert await _sent_by_redis(redis) - before < 1_000_000
        assert await listed(http, url(b)) == []
