"""Raw data and analysis routes on a node showing another node's stream: asked of the
publisher through the broker, kept with the frame (docs/scale-out.md, docs/science.md)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from framecast.broker.codec import encode_frame
from framecast.imaging import DisplayOptions, encode
from framecast.live.frames import Frame
from framecast.science.raw import Raw
from tests.broker.conftest import REQUEST_TIMEOUT, Redis, answered, get, node, running, shown, url
from tests.conftest import gradient, until

NO_PUBLISHER = "no publisher answered: the node publishing stream 'cam1' is gone or unreachable"


def _published() -> np.ndarray[Any, Any]:
    """A uint16 frame with values no 8-bit picture could hold."""
    return (gradient(64, 48, np.uint16) * 251 + 7).astype(np.uint16)


def _npy(body: bytes) -> np.ndarray[Any, Any]:
    return np.load(io.BytesIO(body), allow_pickle=False)


async def test_the_edge_serves_the_publishers_raw_array_exactly(
    redis: Redis, tmp_path: Path
) -> None:
    """On the edge, ``.npy`` of a uint16 frame published on the other node is the
    published array exactly (gzip or not), raw tiles, the ``.dzi`` and the ``.fits`` are the
    publisher's, and data.json carries the same ``dtype`` and ``raw`` URL."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    pixels = _published()
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(pixels, stream="cam1")
        frame = await shown(b, "cam1")
        seq = frame.seq
        path = f"/s/cam1/raw/{seq}"
        status_, body, headers = await get(http, url(b) + path + ".npy")
        assert status_ == 200
        assert headers["Content-Disposition"] == f'attachment; filename="cam1-{seq}.npy"'
        got = _npy(body)
        assert got.dtype == np.uint16 and np.array_equal(got, pixels)
        async with http.get(
            url(b) + path + ".npy", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
        ) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            assert np.array_equal(_npy(gzip.decompress(await response.read())), pixels)
        routes = (".dzi", "_files/6/0_0.npy", "_files/3/0_0.npy", ".fits", ".npy?level=5")
        for route in (*routes, ".npy?level=6&x=3&y=4&w=20&h=10"):
            on_a = await get(http, url(a) + path + route)
            on_b = await get(http, url(b) + path + route)
            assert on_b[0] == on_a[0] == 200 and on_b[1] == on_a[1], route
        tile = _npy((await get(http, url(b) + path + "_files/6/0_0.npy"))[1])
        assert np.array_equal(tile, pixels[:48, :64])
        part = _npy((await get(http, url(b) + path + ".npy?level=6&x=3&y=4&w=20&h=10"))[1])
        assert np.array_equal(part, pixels[4:14, 3:23])
        json_a = json.loads((await get(http, url(a) + "/s/cam1/data.json"))[1])["framecast"]
        json_b = json.loads((await get(http, url(b) + "/s/cam1/data.json"))[1])["framecast"]
        assert json_b["dtype"] == json_a["dtype"] == "uint16"
        assert json_b["raw"] == json_a["raw"] == f"/s/cam1/raw/{seq}.dzi"


async def test_analysis_on_the_edge_equals_the_publishers_and_is_asked_once(
    redis: Redis, tmp_path: Path
) -> None:
    """``/api/stats`` and ``/api/pixel`` on the edge equal the publisher's answers; the
    second identical question is answered from the edge's cache (the publisher is asked
    once); the publisher's 400 comes back as it is."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(_published(), stream="cam1", metadata={"saturation": 9000})
        seq = (await shown(b, "cam1")).seq
        for query in (
            f"stats?seq={seq}",
            f"stats?seq={seq}&x=3&y=4&w=10&h=7",
            f"pixel?seq={seq}&x=63&y=47",
            f"histogram?seq={seq}&bins=16",
            f"profile?seq={seq}&x0=0&y0=0&x1=63&y1=47",
        ):
            on_a = await get(http, f"{url(a)}/s/cam1/api/{query}")
            on_b = await get(http, f"{url(b)}/s/cam1/api/{query}")
            assert on_a[0] == on_b[0] == 200, query
            assert json.loads(on_b[1]) == json.loads(on_a[1]), query
        asked = await answered(http, a)
        again = await get(http, f"{url(b)}/s/cam1/api/stats?seq={seq}")
        assert again[0] == 200 and json.loads(again[1])["seq"] == seq
        assert await answered(http, a) == asked  # from the edge's cache
        fresh = await get(http, f"{url(b)}/s/cam1/api/pixel?seq={seq}&x=1&y=1")
        assert fresh[0] == 200
        assert await answered(http, a) == asked + 1  # a new question crosses the broker
        outside = f"/s/cam1/api/pixel?seq={seq}&x=64&y=0"
        refused, on_a = await get(http, url(b) + outside), await get(http, url(a) + outside)
        assert refused[0] == 400 and refused[1].decode().startswith("x=64 ")
        assert refused[:2] == on_a[:2]
        latest = await get(http, f"{url(b)}/s/cam1/api/pixel?x=2&y=3")
        assert latest[0] == 200 and latest[2]["Cache-Control"] == "no-cache"
        assert json.loads(latest[1])["value"] == int(_published()[3, 2])


async def test_the_same_question_asked_at_once_crosses_the_broker_once(
    redis: Redis, tmp_path: Path
) -> None:
    """Three viewers asking the edge the same new question while the publisher is still
    answering it: the publisher is asked once, all three get its answer, and the edge counts
    two questions joined."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(_published(), stream="cam1")
        seq = (await shown(b, "cam1")).seq
        broker = a._broker
        assert broker is not None and broker.answerer is not None
        original, gate, calls = broker.answerer, asyncio.Event(), []

        async def held(frame: Frame, route: str, params: Any, gzip: bool) -> Any:
            calls.append(route)
            await gate.wait()  # the publisher takes its time: the question stays on its way
            return await original(frame, route, params, gzip)

        broker.answerer = held
        question = f"{url(b)}/s/cam1/api/stats?seq={seq}&x=1&y=2&w=30&h=20"
        asking = [asyncio.ensure_future(get(http, question)) for _ in range(3)]
        await until(lambda: b.status()["broker_raw_joined"] == 2, 20, "two questions joined")
        gate.set()
        answers = await asyncio.gather(*asking)
        assert [status_ for status_, _, _ in answers] == [200, 200, 200]
        assert len({body for _, body, _ in answers}) == 1
        assert calls == ["stats"] and b.status()["broker_raw_asked"] == 1


async def test_a_stopped_publisher_gives_503_with_the_reason(
    redis: Redis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Once the publishing node has stopped, a raw route on the edge answers 503 at once
    with a message saying the publisher is gone (one log line for a burst of them); what
    was asked before is still kept."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(b), aiohttp.ClientSession() as http:
        async with running(a):
            a.publish(_published(), stream="cam1")
            seq = (await shown(b, "cam1")).seq
            kept = await get(http, f"{url(b)}/s/cam1/api/stats?seq={seq}")
            assert kept[0] == 200
            publisher = a.status()["broker_node"]
        await redis.gone(publisher)  # Redis saw A leave: a question finds nobody at once
        caplog.set_level(logging.INFO, logger="framecast")
        began = time.monotonic()
        gone = await get(http, f"{url(b)}/s/cam1/raw/{seq}.npy")
        assert time.monotonic() - began < 4.0  # not after broker_answer_timeout (5 s)
        assert gone[0] == 503 and gone[1].decode().startswith(NO_PUBLISHER)
        assert gone[1].count(b"\n") == 1
        for _ in range(3):
            assert (await get(http, f"{url(b)}/s/cam1/raw/{seq}.dzi"))[0] == 503
        said = [r for r in caplog.records if "did not answer" in r.getMessage()]
        assert len(said) == 1 and said[0].exc_info is None
        again = await get(http, f"{url(b)}/s/cam1/api/stats?seq={seq}")
        assert again[:2] == kept[:2]


async def test_a_publisher_that_never_answers_gives_503_after_the_timeout(
    redis: Redis, tmp_path: Path
) -> None:
    """A publisher that listens but never answers: after broker_answer_timeout the edge
    answers 503 with the no-publisher message."""
    b = node(tmp_path, "b", redis.url, broker_answer_timeout=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", redis.port)
    try:
        channel = b"framecast:node:mute-node"
        writer.write(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel))
        await writer.drain()
        await asyncio.wait_for(reader.readuntil(b":1\r\n"), 5)  # subscribed
        pixels = _published()
        encoded = encode(pixels, DisplayOptions())
        frame = Frame(
            seq=7,
            time=time.time(),
            jpeg=encoded.jpeg,
            width=encoded.width,
            height=encoded.height,
            metadata={},
            stream="cam1",
            raw=Raw(pixels),
        )
        async with running(b), aiohttp.ClientSession() as http:
            await redis.store("cam1", encode_frame(frame, "mute-node"), 7, "mute-node")
            await shown(b, "cam1")
            began = time.monotonic()
            answer = await get(http, f"{url(b)}/s/cam1/api/pixel?seq=7&x=1&y=1")
            waited = time.monotonic() - began
            assert answer[0] == 503 and answer[1].decode().startswith(NO_PUBLISHER)
            assert 0.2 <= waited < 4.0  # the setting, not the 5 s default
            assert b'"route": "pixel"' in await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 5)


async def test_a_garbage_raw_request_is_skipped_with_one_log_line(
    redis: Redis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A raw request naming no known route, or a parameter a route does not take, is
    skipped with one log line; the node goes on answering good questions."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(_published(), stream="cam1")
        seq = (await shown(b, "cam1")).seq
        caplog.set_level(logging.WARNING, logger="framecast.broker")
        bad = {
            "type": "raw",
            "id": "x1",
            "from": b.status()["broker_node"],
            "stream": "cam1",
            "seq": seq,
            "route": "../../etc/passwd",
            "params": {},
            "gzip": False,
        }
        channel = f"framecast:node:{a.status()['broker_node']}"
        await redis.command("PUBLISH", channel, json.dumps(bad))
        await redis.command(
            "PUBLISH", channel, json.dumps({**bad, "route": "pixel", "params": {"z": "1"}})
        )
        await until(lambda: a.status()["broker_rejected"] == 2, 5, "both skipped")
        skipped = [r for r in caplog.records if r.name == "framecast.broker"]
        assert len(skipped) == 1 and "raw request" in skipped[0].getMessage()
        assert skipped[0].exc_info is None
        assert await answered(http, a) == 0
        good = await get(http, f"{url(b)}/s/cam1/api/pixel?seq={seq}&x=0&y=0")
        assert good[0] == 200 and json.loads(good[1])["value"] == 7


async def test_without_raw_data_on_the_publisher_the_edge_says_so(
    redis: Redis, tmp_path: Path
) -> None:
    """A publisher with ``keep_raw = false``: the edge's data.json has ``raw: null`` and its
    raw routes answer 404 without asking anyone."""
    a = node(tmp_path, "a", redis.url, keep_raw=False)
    b = node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(_published(), stream="cam1")
        seq = (await shown(b, "cam1")).seq
        info = json.loads((await get(http, url(b) + "/s/cam1/data.json"))[1])["framecast"]
        assert info["raw"] is None and info["dtype"] is None
        refused = await get(http, f"{url(b)}/s/cam1/raw/{seq}.npy")
        assert refused[0] == 404 and b"keep_raw" in refused[1]
        assert await answered(http, a) == 0


async def test_an_answer_larger_than_the_broker_carries_is_502_saying_so(
    redis: Redis, tmp_path: Path
) -> None:
    """An answer beyond the publisher's ``max_ingest_bytes + max_metadata_bytes`` does not
    cross the broker: the edge answers 502 saying what to do; small answers still cross."""
    a = node(tmp_path, "a", redis.url, max_ingest_bytes=2048, max_metadata_bytes=1024)
    b = node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(_published(), stream="cam1")
        seq = (await shown(b, "cam1")).seq
        big = await _get_plain(http, f"{url(b)}/s/cam1/raw/{seq}.npy")
        assert big[0] == 502 and b"ask the publishing node directly" in big[1]
        assert big[1].count(b"\n") == 1
        small = await get(http, f"{url(b)}/s/cam1/raw/{seq}.dzi")
        assert small[0] == 200


async def _get_plain(http: aiohttp.ClientSession, address: str) -> tuple[int, bytes]:
    headers = {"Accept-Encoding": "identity"}
    async with http.get(address, headers=headers, timeout=REQUEST_TIMEOUT) as response:
        return response.status, await response.read()
