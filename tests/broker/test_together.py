"""Watching together across nodes (docs/together.md): a presenter on one node is heard by the
viewers of its stream on another node, and so is the end of the presentation; an alert fired
by the node that made the frame shows in the other node's viewers and list."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from framecast.runtime.deadline import within
from tests.broker.conftest import Redis, node, running, status, url
from tests.conftest import gradient, next_json, until


async def _presenter(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while (message := await next_json(ws, 10))["type"] != "presenter":
        pass
    return message


async def test_a_presenter_on_one_node_reaches_a_viewer_of_another(
    redis: Redis, tmp_path: Path
) -> None:
    """A viewer of node B hears node A's presenter start, change its view and leave, with the
    presentation's number A gave it; a viewer joining B meanwhile hears the current view; bad
    messages on the views channel are skipped and counted."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        await until(lambda: a.status()["broker"] == "ok" and b.status()["broker"] == "ok", 10)
        async with http.ws_connect(url(b) + "/ws") as follower:
            async with http.ws_connect(url(a) + "/ws") as presenter:
                await presenter.send_str(json.dumps({"type": "present", "view": "zoom=2.000"}))
                while (reply := await next_json(presenter, 10))["type"] != "presenting":
                    pass
                ident = reply["id"]
                assert await _presenter(follower) == {
                    "type": "presenter", "id": ident, "view": "zoom=2.000"
                }  # fmt: skip
                await presenter.send_str(json.dumps({"type": "present", "view": "zoom=3.000"}))
                assert (await _presenter(follower))["view"] == "zoom=3.000"
                async with http.ws_connect(url(b) + "/ws") as late:
                    assert (await _presenter(late))["view"] == "zoom=3.000"
            assert await _presenter(follower) == {"type": "presenter", "id": ident, "view": None}
            # Views that are not views are counted and skipped; the follower hears nothing.
            for junk in (
                b"{",
                b"[]",
                b'{"node": "x", "stream": "default", "id": "1"}',
                b'{"node": "x", "stream": "default", "id": 1, "view": "' + b"v" * 9000,
            ):
                await redis.command("PUBLISH", "framecast:views", junk)
            await until(lambda: b.status()["broker_rejected"] >= 4, 10, "every bad view")
            await redis.command(
                "PUBLISH", "framecast:views", b'{"node":"x","stream":"default","id":7,"view":"z=1"}'
            )
            assert await _presenter(follower) == {"type": "presenter", "id": 7, "view": "z=1"}
        assert (await status(http, url(b)))["broker"] == "ok"


async def test_a_dead_nodes_presenter_ends_on_the_other_nodes(
    redis: Redis, tmp_path: Path, serve: Any
) -> None:
    """A presentation on node A (a real `framecast serve`) holds on node B past its lease while
    A lives (A says it again); once A is killed (no goodbye), B's viewer is told it ended
    within the lease."""
    lease = 1.5
    b = node(tmp_path, "b", redis.url, presenter_lease=lease)
    a = serve("a", "--broker", redis.url, "--presenter-lease", str(lease))
    async with running(b), aiohttp.ClientSession() as http:
        a_url = await a.start()
        async with (
            http.ws_connect(url(b) + "/ws") as follower,
            http.ws_connect(a_url + "/ws") as presenter,  # reset when A is killed
        ):
            await presenter.send_str(json.dumps({"type": "present", "view": "zoom=2.000"}))
            started = await _presenter(follower)
            assert started["view"] == "zoom=2.000"
            try:  # longer than the lease: A's word keeps it going, B's viewer hears nothing
                heard = await within(_presenter(follower), lease * 1.25)
            except TimeoutError:
                heard = None
            assert heard is None
            a.kill()
            killed = time.monotonic()
            ended = await _presenter(follower)
            assert ended == {"type": "presenter", "id": started["id"], "view": None}
            assert time.monotonic() - killed < lease + 2.0  # a margin for a loaded machine


async def test_an_alert_fired_on_one_node_reaches_the_viewers_of_another(
    redis: Redis, tmp_path: Path
) -> None:
    """Node A makes the frame and fires the rule; a /ws viewer of node B gets the alert message
    and B's <stream>/api/alerts lists it (A alone calls webhooks: B has no rules); bad
    messages on the alerts channel are counted and skipped."""
    a = node(tmp_path, "a", redis.url, alerts=["cam1:temperature>25"])
    b = node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(gradient(), {"temperature": 20}, stream="cam1")
        await until(lambda: b._streams and b._streams.get("cam1"), 10, "cam1 on node B")
        async with http.ws_connect(url(b) + "/s/cam1/ws") as viewer:
            await until(lambda: b.status()["clients"] == 1, 10, "the viewer")
            a.publish(gradient(), {"temperature": 30}, stream="cam1")
            while (message := await next_json(viewer, 10))["type"] != "alert":
                pass
            assert (message["stream"], message["rule"], message["value"]) == (
                "cam1", "cam1:temperature>25", 30
            )  # fmt: skip
        bad = b'{"node":"x","alert":{"stream":"cam1","seq":1,"rule":"r","key":"k","value":"hot",'
        for junk in (b"{", b'{"node":"x"}', bad + b'"threshold":1,"time":1}'):
            await redis.command("PUBLISH", "framecast:alerts", junk)
        await until(lambda: b.status()["broker_rejected"] >= 3, 10, "every bad alert")
        async with http.get(url(b) + "/s/cam1/api/alerts") as answer:
            listed = await answer.json()
        assert [(x["rule"], x["seq"]) for x in listed] == [("cam1:temperature>25", message["seq"])]
