"""Deep-zoom tiles of frames larger than ``max_web_size`` on a node showing another node's
stream: the same ``tiles`` URL, the same ``.dzi``, tiles asked of the publisher through the
broker and kept with the frame (docs/tiles.md, docs/scale-out.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from framecast import ImageServer
from framecast.broker.codec import (
    JPEG_TILE,
    Limits,
    RawRequest,
    WireError,
    decode_control,
    decode_frame,
    encode_frame,
    encode_raw_request,
)
from framecast.imaging import DisplayOptions, encode
from framecast.imaging.pyramid import Pyramid, RemotePyramid
from framecast.live.frames import Frame
from tests.broker.conftest import Redis, answered, get, node, running, shown, url
from tests.conftest import next_json, until

NO_PUBLISHER = "no publisher answered: the node publishing stream 'cam1' is gone or unreachable"
LIMITS = Limits(
    max_frame_bytes=1 << 20, max_metadata_bytes=4096, max_metadata_depth=4, max_pixels=10**8
)


def _large() -> np.ndarray[Any, Any]:
    """A 6000×4000 mono frame with detail at every scale (so tiles differ)."""
    x = np.arange(6000, dtype=np.uint32)
    y = np.arange(4000, dtype=np.uint32)[:, None]
    return ((x * 7 + y * 13 + (x * y) // 97) % 256).astype(np.uint8)


async def _data(http: aiohttp.ClientSession, server: ImageServer) -> dict[str, Any]:
    async with http.get(url(server) + "/s/cam1/data.json") as response:
        assert response.status == 200
        value: dict[str, Any] = (await response.json())["framecast"]
        return value


async def test_the_edge_serves_the_publishers_deep_zoom_tiles(redis: Redis, tmp_path: Path) -> None:
    """A 6000×4000 frame published on A: B's data.json and new_image carry A's ``tiles``
    URL, B's ``.dzi`` equals A's, B's tiles equal A's byte for byte (asked of A once, the
    second time from B's cache), and a tile outside the pyramid is A's 404."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(np.zeros((48, 64), np.uint8), stream="cam1")  # the stream exists on B
        first = (await shown(b, "cam1")).seq
        async with http.ws_connect(url(b) + "/s/cam1/ws") as ws:
            await until(lambda: b.status()["clients"] == 1)
            a.publish(_large(), stream="cam1")
            heard = await next_json(ws, 30)
            while heard.get("seq") == first:
                heard = await next_json(ws, 30)
        seq = heard["seq"]
        assert (await shown(b, "cam1")).seq == seq
        dzi = f"/s/cam1/tiles/{seq}.dzi"
        assert heard["type"] == "new_image" and heard["seq"] == seq
        assert heard["tiles"] == dzi
        on_a, on_b = await _data(http, a), await _data(http, b)
        assert on_b["tiles"] == on_a["tiles"] == dzi
        dzi_a, dzi_b = await get(http, url(a) + dzi), await get(http, url(b) + dzi)
        assert dzi_a[0] == dzi_b[0] == 200 and dzi_b[1] == dzi_a[1]
        assert b'Width="6000" Height="4000"' in dzi_b[1]
        assert dzi_b[2]["Content-Type"].startswith("application/xml")
        for tile in ("13/3_2.jpg", "13/23_15.jpg", "8/0_0.jpg", "0/0_0.jpg"):
            path = f"/s/cam1/tiles/{seq}_files/{tile}"
            asked = await answered(http, a)
            on_b_tile = await get(http, url(b) + path)
            on_a_tile = await get(http, url(a) + path)
            assert on_b_tile[0] == on_a_tile[0] == 200, tile
            assert on_b_tile[1] == on_a_tile[1] and on_b_tile[1].startswith(b"\xff\xd8\xff")
            assert on_b_tile[2]["Content-Type"] == "image/jpeg"
            assert on_b_tile[2]["Cache-Control"] == on_a_tile[2]["Cache-Control"]
            assert await answered(http, a) == asked + 1, tile  # asked of A once
            again = await get(http, url(b) + path)
            assert again[:2] == on_b_tile[:2]
            assert await answered(http, a) == asked + 1, tile  # then from B's cache
        outside = f"/s/cam1/tiles/{seq}_files/13/24_0.jpg"
        assert (await get(http, url(b) + outside))[0] == 404
        assert (await get(http, url(a) + outside))[0] == 404


async def test_tiles_cross_without_raw_data(redis: Redis, tmp_path: Path) -> None:
    """A publisher with ``keep_raw = false`` has no raw data, but its large frame's tiles
    are served on the edge all the same."""
    a = node(tmp_path, "a", redis.url, keep_raw=False)
    b = node(tmp_path, "b", redis.url)
    async with running(a, b), aiohttp.ClientSession() as http:
        a.publish(_large(), stream="cam1")
        seq = (await shown(b, "cam1")).seq
        on_b = await _data(http, b)
        assert on_b["raw"] is None and on_b["tiles"] == f"/s/cam1/tiles/{seq}.dzi"
        path = f"/s/cam1/tiles/{seq}_files/12/5_5.jpg"
        tile_a, tile_b = await get(http, url(a) + path), await get(http, url(b) + path)
        assert tile_b[0] == 200 and tile_b[1] == tile_a[1]


async def test_a_gone_publisher_gives_503_for_tiles_not_yet_kept(
    redis: Redis, tmp_path: Path
) -> None:
    """Once the publisher has stopped, a tile B never asked for answers 503 with the
    no-publisher message; a tile B already has, and the ``.dzi``, are still served."""
    a, b = node(tmp_path, "a", redis.url), node(tmp_path, "b", redis.url)
    async with running(b), aiohttp.ClientSession() as http:
        async with running(a):
            a.publish(_large(), stream="cam1")
            seq = (await shown(b, "cam1")).seq
            base = url(b) + f"/s/cam1/tiles/{seq}"
            kept = await get(http, base + "_files/13/1_1.jpg")
            assert kept[0] == 200
            publisher = a.status()["broker_node"]
        await redis.gone(publisher)  # Redis saw A leave: a question finds nobody at once
        began = time.monotonic()
        gone = await get(http, base + "_files/13/2_2.jpg")
        assert time.monotonic() - began < 4.0  # not after broker_answer_timeout (5 s)
        assert gone[0] == 503 and gone[1].decode().startswith(NO_PUBLISHER)
        again = await get(http, base + "_files/13/1_1.jpg")
        assert again[:2] == kept[:2]
        assert (await get(http, base + ".dzi"))[0] == 200


def _frame(pyramid: Pyramid | None) -> Frame:
    encoded = encode(np.zeros((48, 64), np.uint8), DisplayOptions())
    return Frame(
        seq=5,
        time=time.time(),
        jpeg=encoded.jpeg,
        width=encoded.width,
        height=encoded.height,
        metadata={},
        stream="cam1",
        pyramid=pyramid,
    )


def test_a_frame_carries_the_size_of_its_pyramid_not_its_pixels() -> None:
    """The receiving node's frame has a RemotePyramid of the publisher's size, says the same
    ``tiles`` URL, and the stored frame holds no pyramid pixels; a frame without a pyramid
    crosses without."""
    pixels = np.zeros((4000, 6000, 1), np.uint8)
    original = _frame(Pyramid(pixels))
    blob = encode_frame(original, "node-1")
    assert len(blob) < len(original.jpeg) + len(original.renderings.data_json) + 200
    _node, copy = decode_frame(blob, "cam1", LIMITS)
    assert isinstance(copy.pyramid, RemotePyramid)
    assert (copy.pyramid.width, copy.pyramid.height, copy.pyramid.node) == (6000, 4000, "node-1")
    assert copy.pyramid.dzi == original.pyramid.dzi  # type: ignore[union-attr]
    assert copy.renderings.data_json == original.renderings.data_json
    assert copy.tiles == "/s/cam1/tiles/5.dzi"
    _node, plain = decode_frame(encode_frame(_frame(None), "node-1"), "cam1", LIMITS)
    assert plain.pyramid is None and plain.tiles is None


@pytest.mark.parametrize(
    ("descriptor", "reason"),
    [
        (b"[6000]", "not \\[width, height\\]"),
        (b'{"w":6000}', "not \\[width, height\\]"),
        (b"[6000,-1]", "pyramid side"),
        (b"[100000,100000]", "max_image_pixels"),
        (b"[6000,4000", "not JSON"),
    ],
)
def test_a_bad_tiles_descriptor_is_refused(descriptor: bytes, reason: str) -> None:
    """A tiles descriptor that is not a sane ``[width, height]`` is refused with one line
    saying what."""
    blob = encode_frame(_frame(Pyramid(np.zeros((40, 60, 1), np.uint8))), "node-1")
    good = b"[60,40]"
    at = blob.index(good)
    mangled = blob[: at - 1] + bytes([len(descriptor)]) + descriptor + blob[at + len(good) :]
    with pytest.raises(WireError, match=reason):
        decode_frame(mangled, "cam1", LIMITS)


def test_a_frame_of_the_previous_format_is_refused() -> None:
    """A stored frame of the format before tiles crossed (``FCF2``) is refused as not a
    framecast frame (nodes are upgraded together)."""
    blob = encode_frame(_frame(None), "node-1")
    with pytest.raises(WireError, match="bad signature"):
        decode_frame(b"FCF2" + blob[4:], "cam1", LIMITS)


def test_a_tile_question_crosses_and_a_foreign_parameter_is_refused() -> None:
    """A deep-zoom tile question (route ``jpeg-tile``) decodes to what was sent; one with a
    parameter the route does not take is refused."""
    request = RawRequest("ab12", "node-2", "cam1", 9, JPEG_TILE, {"level": "3", "col": "0"}, False)
    assert decode_control(encode_raw_request(request), LIMITS) == request
    bad = RawRequest("ab12", "node-2", "cam1", 9, JPEG_TILE, {"bins": "3"}, False)
    with pytest.raises(WireError, match="no parameter"):
        decode_control(encode_raw_request(bad), LIMITS)
