"""Overlays from the producer (docs/together.md) on real sockets: they travel with their
frame (new_image, data.json, the history) and only with it; invalid ones publish nothing."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import aiohttp
import pytest
from PIL import Image

from framecast import ImageServer
from framecast.errors import ShapeError
from framecast.live.frames import Frame
from tests.conftest import base, gradient, next_json, until

CIRCLE = {"shape": "circle", "x": 40, "y": 30, "r": 12, "text": "beam", "colour": "#0f0"}
POLYGON = {"shape": "polygon", "points": [[1, 1], [20, 1], [10, 15]], "colour": "yellow"}


def png() -> bytes:
    out = io.BytesIO()
    Image.fromarray(gradient(80, 60)).save(out, format="PNG")
    return out.getvalue()


async def test_published_overlays_belong_to_their_frame(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """publish(overlays=…) shows them in that frame's new_image and history data.json;
    the next frame, published without, carries none (nor does data.json)."""
    async with http.ws_connect(base(server) + "/ws") as ws:
        await until(lambda: server.status()["clients"] == 1, what="ws client")
        server.publish(gradient(80, 60), {"EXPO": 1}, overlays=[CIRCLE, POLYGON])
        first = await next_json(ws)
        server.publish(gradient(80, 60), {"EXPO": 2})
        second = await next_json(ws)
    assert first["metadata"]["framecast"]["overlays"] == [CIRCLE, POLYGON]
    assert first["metadata"]["EXPO"] == 1
    assert "overlays" not in second["metadata"]["framecast"]
    async with http.get(f"{base(server)}/history/{first['seq']}.json") as response:
        kept = await response.json()
    assert kept["framecast"]["overlays"] == [CIRCLE, POLYGON]
    async with http.get(f"{base(server)}/data.json") as response:
        assert "overlays" not in (await response.json())["framecast"]


async def test_publish_refuses_bad_overlays_and_publishes_nothing(server: ImageServer) -> None:
    """A shape publish() cannot draw raises ShapeError naming the overlay and its field;
    the image is not published."""
    bad = [CIRCLE, {"shape": "circle", "x": "left", "y": 1, "r": 2}]
    with pytest.raises(ShapeError, match=r"overlay 1 \(circle\): x is not a number"):
        server.publish(gradient(80, 60), overlays=bad)
    with pytest.raises(ShapeError, match="more than max_overlays"):
        server.publish(gradient(80, 60), overlays=[CIRCLE] * 1001)
    server.publish(gradient(80, 60))
    await until(lambda: server.status()["latest_seq"] == 1, what="the good image")
    assert server.status()["frames_submitted"] == 1


async def test_ingest_takes_overlays_in_a_header_or_the_query(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """POST /api/frames with X-Framecast-Overlays (or ?overlays=) publishes the frame with
    them; bad ones answer 400 with the shape's field named, and nothing is published."""
    url = f"{base(server)}/api/frames"
    header = {"X-Framecast-Overlays": json.dumps([CIRCLE])}
    async with http.post(url, data=png(), headers=header) as response:
        assert response.status == 202
        seq = (await response.json())["seq"]
    query = quote(json.dumps([POLYGON]))
    async with http.post(f"{url}?overlays={query}", data=png()) as response:
        assert response.status == 202
        second = (await response.json())["seq"]
    for number, shapes in ((seq, [CIRCLE]), (second, [POLYGON])):
        async with http.get(f"{base(server)}/history/{number}.json") as response:
            assert (await response.json())["framecast"]["overlays"] == shapes
    bad = {"X-Framecast-Overlays": json.dumps([{"shape": "star", "x": 1, "y": 1}])}
    async with http.post(url, data=png(), headers=bad) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert 'overlay 0: shape is "star"; use one of circle' in error
    assert "nothing was published" in error
    async with http.post(url, data=png(), headers={"X-Framecast-Overlays": "{"}) as response:
        assert response.status == 400
        assert "not valid JSON" in (await response.json())["error"]
    assert server.status()["latest_seq"] == second


def test_a_frame_without_overlays_renders_as_before() -> None:
    """data.json of a frame without overlays has no overlays key (ALS readers see no change)."""
    frame = Frame(seq=1, time=1.0, jpeg=b"", width=2, height=2, metadata={})
    assert "overlays" not in json.loads(frame.renderings.data_json)["framecast"]
    drawn = Frame(seq=1, time=1.0, jpeg=b"", width=2, height=2, metadata={}, overlays=(CIRCLE,))
    assert json.loads(drawn.renderings.new_image)["metadata"]["framecast"]["overlays"] == [CIRCLE]
