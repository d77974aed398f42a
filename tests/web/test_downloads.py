"""Raw data over real sockets (docs/science.md): .npy round trips of every depth, raw tiles at every
level, gzip on and off, named streams, history frames, and the 404s."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from framecast import ImageServer
from framecast.imaging.pyramid import grid, max_level
from tests.conftest import LOCAL, base
from tests.science.test_rawtiles import reference_level, reference_tile

IMMUTABLE = "public, max-age=31536000, immutable"
NS = "{http://schemas.microsoft.com/deepzoom/2008}"
PLAIN = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture
async def raw_http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that leaves gzip bodies compressed, so a test sees the bytes on the wire."""
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=30), auto_decompress=False
    ) as session:
        yield session


async def get(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, bytes, Any]:
    async with http.get(url, **kwargs) as response:
        return response.status, await response.read(), response.headers


def prefix_of(stream: str) -> str:
    return "" if stream == "default" else f"/s/{stream}"


async def latest_seq(http: aiohttp.ClientSession, srv: ImageServer, stream: str) -> int | None:
    status, body, _ = await get(http, base(srv) + prefix_of(stream) + "/data.json")
    return json.loads(body)["framecast"]["seq"] if status == 200 else None


async def publish(
    srv: ImageServer,
    http: aiohttp.ClientSession,
    image: Any,
    stream: str = "default",
    metadata: dict[str, Any] | None = None,
) -> int:
    """Publish one image, wait until data.json shows it, and return its seq."""
    before = await latest_seq(http, srv, stream) or 0
    srv.publish(image, metadata=metadata, stream=stream)
    deadline = time.monotonic() + 30
    while (seq := await latest_seq(http, srv, stream) or 0) <= before:
        assert time.monotonic() < deadline, f"no new frame on {stream} within 30 s"
        await asyncio.sleep(0.01)  # poll data.json with a deadline
    return seq


def load(body: bytes, headers: Any) -> np.ndarray:
    """The array of a .npy answer, gunzipped when it says Content-Encoding: gzip."""
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return np.load(io.BytesIO(body), allow_pickle=False)


def same(got: np.ndarray, expected: np.ndarray) -> bool:
    """Same dtype, shape and values (NaN equal to NaN)."""
    return (
        got.dtype == expected.dtype
        and got.shape == expected.shape
        and bool(np.array_equal(got, expected, equal_nan=expected.dtype.kind == "f"))
    )


DEPTHS = {
    "u8": np.arange(35, dtype=np.uint8).reshape(5, 7) * 7,
    "u16": np.array([[0, 1, 40000], [65535, 65534, 12]], dtype=np.uint16),
    "i16": np.array([[-32768, -1, 0], [1, 32767, -12345]], dtype=np.int16),
    "f32": np.array([[np.nan, np.inf, -np.inf], [3.25e-05, -1.5, 1e30]], dtype=np.float32),
    "rgb": np.random.default_rng(2).integers(0, 255, (6, 9, 3), dtype=np.uint8),
}


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_npy_round_trips_every_depth(
    server: ImageServer, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession, encoding: str
) -> None:
    """uint8, uint16 to 65535, int16 negatives, float32 NaN/±inf and RGB come back from
    /raw/<seq>.npy with the published dtype, shape and values, gzip-compressed exactly when
    the client accepts gzip, as an immutable attachment named <stream>-<seq>.npy."""
    for name, array in DEPTHS.items():
        seq = await publish(server, http, array, stream=name)
        status, body, headers = await get(
            raw_http,
            f"{base(server)}/s/{name}/raw/{seq}.npy",
            headers={"Accept-Encoding": encoding},
        )
        assert status == 200, body
        assert headers.get("Content-Encoding") == ("gzip" if encoding == "gzip" else None)
        assert headers["Content-Disposition"] == f'attachment; filename="{name}-{seq}.npy"'
        assert headers["Cache-Control"] == IMMUTABLE
        assert same(load(body, headers), array), name


async def test_default_stream_npy_at_the_root_and_under_s_default(
    server: ImageServer, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession
) -> None:
    """The default stream's raw file is at /raw/<seq>.npy and /s/default/raw/<seq>.npy alike;
    gzip really shrinks a smooth 16-bit frame."""
    array = (np.arange(200 * 300, dtype=np.uint32).reshape(200, 300) % 4000).astype(np.uint16)
    seq = await publish(server, http, array)
    for prefix in ("", "/s/default"):
        status, body, headers = await get(
            raw_http, f"{base(server)}{prefix}/raw/{seq}.npy", headers=GZIP
        )
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert headers["Content-Disposition"] == f'attachment; filename="default-{seq}.npy"'
        assert len(body) < array.nbytes // 4
        assert same(load(body, headers), array)


async def test_a_noisy_frame_is_sent_as_it_is_even_to_a_gzip_client(
    server: ImageServer, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession
) -> None:
    """A camera's noisy 16-bit frame would shrink by a tenth for tens of ms a megapixel: its
    .npy comes uncompressed to a client that accepts gzip, exact, and still immutable."""
    array = np.random.default_rng(5).integers(0, 65536, (512, 768), dtype=np.uint16)
    seq = await publish(server, http, array)
    for _ in range(2):  # the decision is remembered with the frame: the same answer again
        status, body, headers = await get(raw_http, f"{base(server)}/raw/{seq}.npy", headers=GZIP)
        assert status == 200 and "Content-Encoding" not in headers
        assert headers["Cache-Control"] == IMMUTABLE and headers["Vary"] == "Accept-Encoding"
        assert len(body) > array.nbytes and same(load(body, headers), array)


async def test_history_frames_keep_their_raw_files(
    server: ImageServer, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession
) -> None:
    """An earlier frame, now in history, still answers its own numbers, not the latest's."""
    first = np.full((4, 5), 1000, np.uint16)
    second = np.full((4, 5), 2000, np.uint16)
    seq1 = await publish(server, http, first)
    seq2 = await publish(server, http, second)
    for seq, array in ((seq1, first), (seq2, second)):
        status, body, headers = await get(raw_http, f"{base(server)}/raw/{seq}.npy")
        assert status == 200 and same(load(body, headers), array)


def dzi_of(body: bytes) -> tuple[dict[str, str], dict[str, str]]:
    root = ET.fromstring(body)
    size = root.find(f"{NS}Size")
    assert root.tag == f"{NS}Image" and size is not None
    return dict(root.attrib), dict(size.attrib)


async def check_raw_pyramid(
    srv: ImageServer, http: aiohttp.ClientSession, stream: str, array: np.ndarray, seq: int
) -> None:
    """The .dzi and every tile of every level against the numpy reference, gzip on and off."""
    url = base(srv) + prefix_of(stream)
    height, width = array.shape[:2]
    status, body, headers = await get(http, f"{url}/raw/{seq}.dzi")
    assert status == 200 and headers["Cache-Control"] == IMMUTABLE
    image, size = dzi_of(body)
    assert (image["TileSize"], image["Overlap"], image["Format"]) == ("254", "1", "npy")
    assert (size["Width"], size["Height"]) == (str(width), str(height))
    top = max_level(width, height)
    for level in range(top + 1):
        cols, rows = grid(width, height, level)
        for col in range(cols):
            for row in range(rows):
                tile_url = f"{url}/raw/{seq}_files/{level}/{col}_{row}.npy"
                encoding = GZIP if (level + col + row) % 2 else PLAIN
                status, body, headers = await get(http, tile_url, headers=encoding)
                assert status == 200, (tile_url, body)
                assert headers.get("Content-Encoding") == ("gzip" if encoding is GZIP else None), (
                    tile_url
                )
                assert headers["Cache-Control"] == IMMUTABLE
                tile = load(body, headers)
                expected = reference_tile(array, level, col, row)
                assert tile.dtype == (array.dtype if level == top else np.float32), tile_url
                assert tile.shape == expected.shape, tile_url
                if array.dtype.kind == "f":
                    np.testing.assert_allclose(tile, expected, rtol=2e-6, err_msg=tile_url)
                else:
                    assert np.array_equal(tile, expected), tile_url


async def test_raw_tiles_at_every_level_of_a_uint16_frame(
    server: ImageServer, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession
) -> None:
    """A 700×300 uint16 frame (not square, not a power of two, below max_web_size: no JPEG
    pyramid) has raw tiles at every level: the top exact with its overlap, lower levels the
    float32 block means."""
    array = np.random.default_rng(8).integers(0, 65536, (300, 700), dtype=np.uint16)
    seq = await publish(server, http, array)
    await check_raw_pyramid(server, raw_http, "default", array, seq)


async def test_raw_tiles_of_a_colour_float_frame_on_a_named_stream(
    server: ImageServer, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession
) -> None:
    """A 3-channel float32 frame on stream cam1: every level per channel, under /s/cam1/."""
    array = np.random.default_rng(9).normal(100, 30, (261, 389, 3)).astype(np.float32)
    seq = await publish(server, http, array, stream="cam1")
    await check_raw_pyramid(server, raw_http, "cam1", array, seq)


async def test_tiles_are_computed_once_and_kept_with_the_frame(
    server: ImageServer, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession
) -> None:
    """Asking a tile twice gives the same bytes, and the server's answer cache holds it."""
    array = np.random.default_rng(10).integers(0, 65536, (300, 700), dtype=np.uint16)
    seq = await publish(server, http, array)
    await check_kept_once(server, raw_http, f"{base(server)}/raw/{seq}_files/9/1_0.npy", GZIP)


async def check_kept_once(
    server: ImageServer, http: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> None:
    """``url`` asked twice gives the same bytes, and the server's answer cache holds one
    answer more."""
    answers = server._streams.answers if server._streams is not None else None
    assert answers is not None
    before = len(answers)
    first = await get(http, url, headers=headers)
    second = await get(http, url, headers=headers)
    assert first[1] == second[1] and len(answers) == before + 1


async def test_npy_answers_a_rectangle_of_one_level(
    server: ImageServer, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession
) -> None:
    """``.npy?level=L&x=&y=&w=&h=`` is that rectangle of the raw pyramid, exactly what its
    tiles hold (the raw pixels at the top level, float32 means below); ``level`` alone is
    the whole level. A lower level is reduced once and kept with the frame: its rectangles,
    the whole level and its tiles are sliced from it, and rectangles add nothing more to the
    cache."""
    array = np.random.default_rng(13).integers(0, 65536, (300, 700), dtype=np.uint16)
    seq = await publish(server, http, array)
    url = f"{base(server)}/raw/{seq}.npy"
    top = max_level(700, 300)
    for query, level, (x0, y0, x1, y1) in [
        (f"level={top}&x=250&y=7&w=300&h=200", top, (250, 7, 550, 207)),
        ("x=0&y=0&w=700&h=300", top, (0, 0, 700, 300)),
        (f"level={top - 1}", top - 1, (0, 0, 350, 150)),
        (f"level={top - 2}&x=100&y=50&w=75&h=25", top - 2, (100, 50, 175, 75)),
    ]:
        for encoding in (PLAIN, GZIP):
            status, body, headers = await get(raw_http, f"{url}?{query}", headers=encoding)
            assert status == 200, (query, body)
            assert headers["Cache-Control"] == IMMUTABLE
            assert f"-{seq}-level{level}.npy" in headers["Content-Disposition"]
            got = load(body, headers)
            expected = reference_level(array, level)[y0:y1, x0:x1]
            assert got.dtype == (np.uint16 if level == top else np.float32), query
            assert np.array_equal(got, expected), query
    answers = server._streams.answers if server._streams is not None else None
    assert answers is not None
    before = len(answers)
    level = top - 3  # not asked yet
    for x in range(5):
        part = f"{url}?level={level}&x={x}&y=2&w=20&h=20"
        status, body, headers = await get(raw_http, part, headers=GZIP)
        assert status == 200
        assert np.array_equal(load(body, headers), reference_level(array, level)[2:22, x : x + 20])
    assert len(answers) == before + 1  # the level, reduced once
    status, body, headers = await get(raw_http, f"{url}?level={level}", headers=PLAIN)
    assert status == 200 and np.array_equal(load(body, headers), reference_level(array, level))
    assert len(answers) == before + 1
    tile_url = f"{base(server)}/raw/{seq}_files/{level}/0_0.npy"  # cut from the kept level
    status, body, headers = await get(raw_http, tile_url, headers=GZIP)
    assert status == 200 and np.array_equal(load(body, headers), reference_tile(array, level, 0, 0))


async def test_a_level_too_big_to_keep_is_reduced_for_each_request(
    work: Path, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession
) -> None:
    """With max_frame_cache_bytes too small to keep a lower level, its rectangles and the
    whole level (gzip-compressed band by band when that pays, or not) still hold exactly
    the block means, and nothing is kept for them."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        max_file_rate=50,
        max_frame_cache_bytes=64 * 1024,
    )
    await srv.astart()
    try:
        array = (np.add.outer(np.arange(300), np.arange(700)) * 50).astype(np.uint16)
        seq = await publish(srv, http, array)
        url = f"{base(srv)}/raw/{seq}.npy"
        level = max_level(700, 300) - 1  # 350×150 float32: 210 kB, more than half the cache
        expected = reference_level(array, level)
        answers = srv._streams.answers if srv._streams is not None else None
        assert answers is not None
        for query, (x0, y0, x1, y1) in [
            (f"level={level}", (0, 0, 350, 150)),
            (f"level={level}&x=10&y=20&w=300&h=100", (10, 20, 310, 120)),
        ]:
            for encoding in (PLAIN, GZIP):
                status, body, headers = await get(raw_http, f"{url}?{query}", headers=encoding)
                assert status == 200, body
                assert headers.get("Content-Encoding") == ("gzip" if encoding is GZIP else None)
                assert np.array_equal(load(body, headers), expected[y0:y1, x0:x1]), query
        latest = srv._streams.default.latest if srv._streams is not None else None
        assert latest is not None and answers.peek(latest.raw, ("level", level)) is None
        assert answers.bytes < 64 * 1024
    finally:
        await srv.astop()


async def test_npy_refuses_a_rectangle_outside_the_pyramid(
    server: ImageServer, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession
) -> None:
    """A level above the top, a malformed number, an empty or overhanging rectangle: 400
    with one line naming the parameter; the frame is still served whole."""
    array = np.zeros((300, 700), np.uint16)
    seq = await publish(server, http, array)
    url = f"{base(server)}/raw/{seq}.npy"
    top = max_level(700, 300)
    for query, name in [
        (f"level={top + 1}", "level="),
        ("level=-1", "level="),
        ("level=x", "level="),
        ("x=0&y=0&w=701&h=300", "w="),
        ("x=700&y=0&w=1&h=1", "x="),
        ("x=0&y=0&w=0&h=1", "w="),
        (f"level={top - 1}&x=0&y=100&w=10&h=51", "h="),
        ("x=0&y=0&w=10", "h="),
    ]:
        status, body, _ = await get(raw_http, f"{url}?{query}")
        assert status == 400 and name in one_line(body), (query, body)
    status, body, headers = await get(raw_http, url, headers=PLAIN)
    assert status == 200 and same(load(body, headers), array)


def one_line(body: bytes) -> str:
    text = body.decode()
    assert text.count("\n") == 1 and text.endswith("\n"), text
    return text


async def test_refusals_are_404_with_one_line(
    server: ImageServer, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession
) -> None:
    """A seq never published, a tile outside the grid (level, column, row) and an unknown
    stream are 404s with one line saying why; a non-number seq is a 400."""
    array = np.zeros((300, 700), np.uint16)
    seq = await publish(server, http, array)
    url = base(server)
    for path in (f"/raw/{seq + 50}.npy", f"/raw/{seq + 50}.dzi", f"/raw/{seq + 50}.fits"):
        status, body, _ = await get(raw_http, url + path)
        assert status == 404 and "not published yet" in one_line(body), path
    top = max_level(700, 300)
    for tile in (f"{top + 1}/0_0", f"{top}/3_0", f"{top}/0_2", "0/1_0"):
        status, body, _ = await get(raw_http, f"{url}/raw/{seq}_files/{tile}.npy")
        assert status == 404 and "outside the grid" in one_line(body), tile
    status, body, _ = await get(raw_http, f"{url}/s/nosuch/raw/1.npy")
    assert status == 404 and "nosuch" in one_line(body)
    for bad in ("abc", "-1", "1e3", "99999999999999999999999999"):
        status, body, _ = await get(raw_http, f"{url}/raw/{bad}.npy")
        assert status == 400 and "is not a frame number" in one_line(body), bad


async def test_keep_raw_false_answers_404(work: Path, raw_http: aiohttp.ClientSession) -> None:
    """keep_raw=False: the frame exists, yet every raw route answers 404 saying raw data is
    not kept because keep_raw is false."""
    async with ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, keep_raw=False
    ) as srv:
        seq = await publish(srv, raw_http, np.full((4, 4), 40000, np.uint16))
        for path in (f"{seq}.npy", f"{seq}.fits", f"{seq}.dzi", f"{seq}_files/0/0_0.npy"):
            status, body, _ = await get(raw_http, f"{base(srv)}/raw/{path}")
            text = one_line(body)
            assert status == 404 and "keep_raw is false" in text, path


async def test_a_jpeg_frame_serves_its_decoded_pixels(
    server: ImageServer, http: aiohttp.ClientSession, raw_http: aiohttp.ClientSession
) -> None:
    """A frame published as JPEG bytes has raw data too: its decoded JPEG, uint8 RGB, in
    the .npy and in the top-level raw tile."""
    import simplejpeg

    picture = np.random.default_rng(15).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    jpeg = simplejpeg.encode_jpeg(picture, quality=90)
    seq = await publish(server, http, jpeg)
    decoded = simplejpeg.decode_jpeg(jpeg)
    status, body, headers = await get(raw_http, f"{base(server)}/raw/{seq}.npy", headers=GZIP)
    assert status == 200 and same(load(body, headers), decoded)
    status, body, headers = await get(raw_http, f"{base(server)}/raw/{seq}_files/6/0_0.npy")
    assert status == 200 and same(load(body, headers), decoded)
