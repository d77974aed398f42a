"""The analysis routes over real sockets (docs/science.md): pixel, stats, profile and histogram
equal numpy on the very array published; every refusal names its parameter; a named
stream, a history frame; 100 concurrent questions stay bounded; the live fan-out goes on."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import psutil
import pytest

from framecast import ImageServer
from framecast.science.raw import RAW_NOT_KEPT
from tests.conftest import LOCAL, base, gradient, next_json, until

IMMUTABLE = "public, max-age=31536000, immutable"
RNG = np.random.default_rng(11)


def arrays() -> dict[str, np.ndarray]:
    """One frame per dtype docs/science.md lists, with the awkward values in it."""
    u16 = RNG.integers(0, 65536, (48, 64), dtype=np.uint16)
    u16[0, :5] = 65535
    f32 = RNG.normal(500.0, 80.0, (30, 40)).astype(np.float32)
    f32[1, 2], f32[3, 4], f32[5, 6] = np.nan, np.inf, -np.inf
    return {
        "u8": RNG.integers(0, 256, (20, 30), dtype=np.uint8),
        "u16": u16,
        "i16": RNG.integers(-32768, 32768, (25, 35), dtype=np.int16),
        "f32": f32,
        "rgb": RNG.integers(0, 256, (24, 32, 3), dtype=np.uint8),
    }


def published(srv: ImageServer, stream: str, count: int = 1) -> bool:
    return srv.status()["streams"].get(stream, {}).get("frames_published", 0) >= count


@pytest.fixture
async def loaded() -> AsyncIterator[tuple[ImageServer, dict[str, np.ndarray]]]:
    """A server with one stream per test array, each published once (seq 1), and u16 again
    on stream "sat" with a saturation level of 60000 in its metadata."""
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=50)
        await srv.astart()
        try:
            cases = arrays()
            for name, array in cases.items():
                srv.publish(array, stream=name)
            srv.publish(cases["u16"], {"saturation": 60000}, stream="sat")
            for name in [*cases, "sat"]:
                await until(lambda n=name: published(srv, n), timeout=15, what=f"{name} published")
            yield srv, cases
        finally:
            await srv.astop()


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any, Any]:
    async with http.get(url) as response:
        if response.content_type == "application/json":
            return response.status, await response.json(), response.headers
        return response.status, await response.text(), response.headers


def finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)] if values.dtype.kind == "f" else values.ravel()


def numpy_stats(values: np.ndarray, level: float | None) -> dict[str, Any]:
    """What numpy says about ``values`` (one channel), as the route must answer."""
    kept = finite(values)
    return {
        "count": kept.size,
        "min": kept.min().item(),
        "max": kept.max().item(),
        "mean": pytest.approx(float(kept.mean(dtype=np.float64)), rel=1e-12),
        "std": pytest.approx(float(kept.std(dtype=np.float64)), rel=1e-10),
        "sum": (
            int(kept.astype(object).sum())
            if kept.dtype.kind in "iu"
            else pytest.approx(float(kept.sum(dtype=np.float64)), rel=1e-12)
        ),
        "saturated": 0 if level is None else int(np.count_nonzero(kept >= level)),
        "nonfinite": values.size - kept.size,
    }


def numpy_centroid(weights: np.ndarray, x: int, y: int) -> list[Any]:
    weights = np.where(np.isfinite(weights), weights, 0).astype(np.float64)
    ys, xs = np.mgrid[0 : weights.shape[0], 0 : weights.shape[1]]
    total = weights.sum()
    return [
        pytest.approx(x + (weights * xs).sum() / total, rel=1e-12),
        pytest.approx(y + (weights * ys).sum() / total, rel=1e-12),
    ]


async def test_pixel_values_are_the_published_numbers(
    loaded: tuple[ImageServer, dict[str, np.ndarray]], http: aiohttp.ClientSession
) -> None:
    """Pixel answers carry the raw value: 65535, negatives, null for NaN, "inf"/"-inf", a
    list per channel for RGB."""
    srv, cases = loaded
    url = base(srv)
    checks = [
        ("u16", 3, 0, 65535),
        ("u16", 7, 9, int(cases["u16"][9, 7])),
        ("u8", 29, 19, int(cases["u8"][19, 29])),
        ("i16", 4, 2, int(cases["i16"][2, 4])),
        ("f32", 2, 1, None),
        ("f32", 4, 3, "inf"),
        ("f32", 6, 5, "-inf"),
        ("f32", 0, 0, float(cases["f32"][0, 0])),
        ("rgb", 31, 23, cases["rgb"][23, 31].tolist()),
    ]
    for name, x, y, value in checks:
        status, body, headers = await get(http, f"{url}/s/{name}/api/pixel?seq=1&x={x}&y={y}")
        assert status == 200, body
        assert body == {"seq": 1, "x": x, "y": y, "value": value}
        assert type(body["value"]) is type(value)
        assert headers["Cache-Control"] == IMMUTABLE


async def test_pixel_tables_and_levels_over_http(
    loaded: tuple[ImageServer, dict[str, np.ndarray]], http: aiohttp.ClientSession
) -> None:
    """``/api/pixel?r=`` adds the raw values around the pixel (cut at the frame's edge),
    ``r`` beyond 8 is a 400 naming it, and ``/api/levels`` answers the presets as
    :func:`framecast.science.levels.levels` computes them from the published array."""
    from framecast.science.levels import levels

    srv, cases = loaded
    url = base(srv)
    status, body, _ = await get(http, f"{url}/s/u16/api/pixel?seq=1&x=1&y=10&r=2")
    assert status == 200, body
    assert body["value"] == int(cases["u16"][10, 1])
    assert body["around"] == {"x": 0, "y": 8, "values": cases["u16"][8:13, 0:4].tolist()}
    status, body, _ = await get(http, f"{url}/s/f32/api/pixel?seq=1&x=3&y=2&r=1")
    around = body["around"]["values"]  # rows 1..3, columns 2..4: NaN at (2, 1), inf at (4, 3)
    assert around[0][0] is None and around[2][2] == "inf"
    assert around[1][1] == float(cases["f32"][2, 3])
    status, text, _ = await get(http, f"{url}/s/u16/api/pixel?seq=1&x=1&y=1&r=9")
    assert status == 400 and text.startswith("r=9 is out of range: use 0 to 8")
    for name in ("u16", "f32", "rgb"):
        status, body, headers = await get(http, f"{url}/s/{name}/api/levels?seq=1")
        assert status == 200, body
        assert body == {"seq": 1, **json.loads(json.dumps(levels(cases[name])))}
        assert headers["Cache-Control"] == IMMUTABLE


async def test_stats_equal_numpy_whole_and_region(
    loaded: tuple[ImageServer, dict[str, np.ndarray]], http: aiohttp.ClientSession
) -> None:
    """Stats of every dtype, whole frame and a region, equal numpy's figures on the same
    array: exact integer min/max/sum, population std, finite values only, the centroid in
    frame pixels, saturated at the dtype maximum or the metadata level."""
    srv, cases = loaded
    url = base(srv)
    levels = {"u8": 255, "u16": 65535, "i16": 32767, "f32": None, "rgb": 255, "sat": 60000}
    for name, level in levels.items():
        array = cases["u16" if name == "sat" else name]
        height, width = array.shape[:2]
        for query, (x, y, w, h) in (
            ("", (0, 0, width, height)),
            ("&x=3&y=2&w=11&h=7", (3, 2, 11, 7)),
        ):
            status, body, _ = await get(http, f"{url}/s/{name}/api/stats?seq=1{query}")
            assert status == 200, body
            part = array[y : y + h, x : x + w]
            assert body["seq"] == 1 and body["roi"] == [x, y, w, h]
            if part.ndim == 2:
                want = numpy_stats(part, level)
                assert {k: body[k] for k in want} == want, name
                assert body["centroid"] == numpy_centroid(part, x, y)
            else:
                for c in range(part.shape[2]):
                    want = numpy_stats(part[:, :, c], level)
                    assert {k: body[k][c] for k in want} == want
                assert body["centroid"] == numpy_centroid(part.sum(axis=2), x, y)
    assert srv.status()["frame_cache_bytes"] > 0


async def test_profiles_follow_lines(
    loaded: tuple[ImageServer, dict[str, np.ndarray]], http: aiohttp.ClientSession
) -> None:
    """Horizontal, vertical and diagonal profiles are the raw values of the nearest pixels
    of round(length)+1 points, both ends included; NaN and inf as in pixel answers."""
    srv, cases = loaded
    url = base(srv)
    u16 = cases["u16"]
    status, body, _ = await get(http, f"{url}/s/u16/api/profile?seq=1&x0=2&y0=5&x1=40&y1=5")
    assert (status, body) == (200, {"seq": 1, "values": u16[5, 2:41].tolist()})
    status, body, _ = await get(http, f"{url}/s/u16/api/profile?x0=9&y0=47&x1=9&y1=0")
    assert body["values"] == u16[::-1, 9].tolist()
    status, body, _ = await get(http, f"{url}/s/u16/api/profile?x0=0.5&y0=0&x1=30.5&y1=40")
    xs = np.rint(np.linspace(0.5, 30.5, 51)).astype(int)
    ys = np.rint(np.linspace(0, 40, 51)).astype(int)
    assert body["values"] == u16[ys, xs].tolist()
    status, body, _ = await get(http, f"{url}/s/f32/api/profile?x0=0&y0=1&x1=4&y1=1")
    assert body["values"][2] is None
    status, body, _ = await get(http, f"{url}/s/f32/api/profile?x0=6&y0=5&x1=4&y1=3")
    assert (body["values"][0], body["values"][-1], len(body["values"])) == ("-inf", "inf", 4)
    status, body, _ = await get(http, f"{url}/s/rgb/api/profile?x0=0&y0=0&x1=2&y1=0")
    assert body["values"] == cases["rgb"][0, :3].tolist()


async def test_histograms_equal_numpy_over_the_finite_values(
    loaded: tuple[ImageServer, dict[str, np.ndarray]], http: aiohttp.ClientSession
) -> None:
    """Edges and counts equal numpy.histogram of the finite values (default 256 bins, or
    ``bins``); colour has counts per channel over shared edges."""
    srv, cases = loaded
    url = base(srv)
    for name in ("u8", "u16", "i16", "f32"):
        array = cases[name]
        for query, bins in (("", 256), ("&bins=13", 13), ("&bins=4096", 4096)):
            status, body, _ = await get(http, f"{url}/s/{name}/api/histogram?seq=1{query}")
            assert status == 200, body
            counts, edges = np.histogram(finite(array), bins)
            assert body["counts"] == counts.tolist() and body["edges"] == edges.tolist()
            assert (body["min"], body["max"]) == (finite(array).min(), finite(array).max())
            assert body["nonfinite"] == array.size - finite(array).size
    rgb = cases["rgb"]
    status, body, _ = await get(http, f"{url}/s/rgb/api/histogram?bins=8")
    edges = np.histogram_bin_edges(rgb, 8)
    assert body["counts"] == [np.histogram(rgb[:, :, c], edges)[0].tolist() for c in range(3)]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("pixel?x=1.5&y=2", "x"),
        ("pixel?x=1&y=", "y"),
        ("pixel?y=2", "x"),
        ("pixel?x=64&y=0", "x"),
        ("pixel?x=0&y=-1", "y"),
        ("pixel?x=1e3&y=0", "x"),
        ("pixel?x=1&y=1&seq=abc", "seq"),
        ("stats?x=0&y=0&w=65&h=1", "w"),
        ("stats?x=0&y=40&w=1&h=9", "h"),
        ("stats?x=0&y=0&w=5", "h"),
        ("stats?x=0&y=0&w=0&h=1", "w"),
        ("profile?x0=0&y0=0&x1=70&y1=0", "x1"),
        ("profile?x0=0&y0=0&x1=nan&y1=0", "x1"),
        ("profile?x0=0&y0=0&x1=3", "y1"),
        ("histogram?bins=0", "bins"),
        ("histogram?bins=4097", "bins"),
        ("histogram?bins=99999999999999", "bins"),
    ],
)
async def test_bad_questions_are_400_naming_the_parameter(
    server: ImageServer,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    query: str,
    named: str,
) -> None:
    """A missing or malformed parameter, a point or region outside the 64×48 frame, or bins
    out of range: 400, one line naming the parameter, one log line, no traceback."""
    server.publish(np.zeros((48, 64), np.uint16))
    await until(lambda: published(server, "default"), what="a frame")
    caplog.set_level("INFO", logger="framecast")
    status, text, _ = await get(http, f"{base(server)}/api/{query}")
    assert status == 400
    assert text.startswith((f"{named}=", f"{named} ")), text
    assert text.count("\n") == 1
    refusals = [r for r in caplog.records if r.name == "framecast.web.analysis"]
    assert len(refusals) == 1 and refusals[0].exc_info is None


async def test_a_profile_or_polygon_beyond_its_setting_is_refused(
    work: Path, http: aiohttp.ClientSession
) -> None:
    """max_profile_points caps a line and max_polygon_corners a polygon: one point or corner
    more is a 400 that names the setting; api/status tells the viewer the polygon's cap."""
    async with ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        max_profile_points=11,
        max_polygon_corners=4,
    ) as srv:
        srv.publish(np.zeros((20, 20), np.uint8))
        await until(lambda: published(srv, "default"), what="a frame")
        ok = await get(http, f"{base(srv)}/api/profile?x0=0&y0=0&x1=10&y1=0")
        refused = await get(http, f"{base(srv)}/api/profile?x0=0&y0=0&x1=11&y1=0")
        square = await get(http, f"{base(srv)}/api/stats?polygon=1,1,9,1,9,9,1,9")
        pentagon = await get(http, f"{base(srv)}/api/stats?polygon=1,1,9,1,9,9,5,12,1,9")
        status = await get(http, f"{base(srv)}/api/status")
    assert ok[0] == 200 and len(ok[1]["values"]) == 11
    assert refused[0] == 400 and "max_profile_points" in refused[1]
    assert square[0] == 200 and square[1]["count"] == 64
    assert pentagon == (
        400,
        "polygon: 5 corners, more than max_polygon_corners (4); draw it with fewer corners\n",
        pentagon[2],
    )
    assert status[1]["limits"]["max_polygon_corners"] == 4


async def test_frames_not_kept_and_raw_not_kept_are_404(
    server: ImageServer, http: aiohttp.ClientSession, work: Path
) -> None:
    """404 for a frame not published yet, a stream with no image yet, an unknown stream,
    and with keep_raw=false a clear "raw data is not kept" line."""
    url = base(server)
    status, text, _ = await get(http, f"{url}/api/stats")
    assert status == 404 and "no image yet" in text
    server.publish(np.zeros((4, 4), np.uint8))
    await until(lambda: published(server, "default"), what="a frame")
    status, text, _ = await get(http, f"{url}/api/stats?seq=99")
    assert status == 404 and "frame 99 of stream 'default' is not published yet" in text
    status, text, _ = await get(http, f"{url}/s/nosuch/api/histogram")
    assert status == 404 and "nosuch" in text
    async with ImageServer(
        work_folder=work / "other", port=0, displayed_address=LOCAL, keep_raw=False
    ) as srv:
        srv.publish(np.zeros((4, 4), np.uint16))
        await until(lambda: published(srv, "default"), what="a frame")
        for route in ("pixel?x=0&y=0", "stats", "profile?x0=0&y0=0&x1=1&y1=1", "histogram"):
            status, text, _ = await get(http, f"{base(srv)}/api/{route}")
            assert (status, text) == (404, RAW_NOT_KEPT + "\n")


async def test_latest_and_history_frames_on_a_named_stream(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """seq omitted answers about the latest frame (no-cache); an older kept seq answers
    about that frame (immutable); the default stream answers at the root too."""
    first = np.full((6, 8), 100, np.uint16)
    second = np.full((6, 8), 40000, np.uint16)
    server.publish(first, stream="cam1")
    await until(lambda: published(server, "cam1", 1), what="frame 1")
    server.publish(second, stream="cam1")
    await until(lambda: published(server, "cam1", 2), what="frame 2")
    url = f"{base(server)}/s/cam1/api/pixel?x=1&y=1"
    status, body, headers = await get(http, url)
    assert (status, body["seq"], body["value"]) == (200, 2, 40000)
    assert headers["Cache-Control"] == "no-cache"
    status, body, headers = await get(http, url + "&seq=1")
    assert (body["seq"], body["value"], headers["Cache-Control"]) == (1, 100, IMMUTABLE)
    server.publish(second * 0 + 7)
    await until(lambda: published(server, "default"), what="a default frame")
    for prefix in ("", "/s/default"):
        status, body, _ = await get(http, f"{base(server)}{prefix}/api/stats")
        assert (status, body["max"], body["sum"]) == (200, 7, 7 * 48)


async def test_viewer_token_guards_the_answers(work: Path, http: aiohttp.ClientSession) -> None:
    """With a viewer token, the analysis routes need it (same access as viewing)."""
    async with ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, viewer_token="secret"
    ) as srv:
        srv.publish(np.zeros((4, 4), np.uint8))
        await until(lambda: published(srv, "default"), what="a frame")
        assert (await get(http, f"{base(srv)}/api/histogram"))[0] == 401
        assert (await get(http, f"{base(srv)}/api/histogram?token=secret"))[0] == 200


async def burst(urls: list[str], done: list[int]) -> list[int]:
    """Every URL at once, from a client loop of its own (run it in another thread)."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=110)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def fetch(url: str) -> int:
            async with client.get(url) as response:
                await response.read()
                done.append(response.status)
                return response.status

        return list(await asyncio.gather(*(fetch(url) for url in urls)))


async def test_a_hundred_questions_at_once_stay_bounded(work: Path) -> None:
    """100 different stats questions about a 6-megapixel uint16 frame all answer, and the
    server's memory grows by less than one float64 copy of the frame (they queue in the
    bounded workers, each works band by band; 100 at once would need 100 such copies)."""
    async with ImageServer(work_folder=work, port=0, displayed_address=LOCAL) as srv:
        frame = RNG.integers(0, 65536, (2000, 3000), dtype=np.uint16)
        srv.publish(frame, stream="big")
        await until(lambda: published(srv, "big"), timeout=30, what="the big frame")
        process = psutil.Process()
        before = process.memory_info().rss
        peak = before
        done: list[int] = []
        urls = [
            f"{base(srv)}/s/big/api/stats?seq=1&x={i}&y=0&w={3000 - i}&h=2000" for i in range(100)
        ]
        task = asyncio.create_task(asyncio.to_thread(asyncio.run, burst(urls, done)))
        while not task.done():
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.01)  # sampling memory, not waiting for readiness
        statuses = await task
        async with aiohttp.ClientSession() as http:
            _, body, _ = await get(http, urls[42])
    assert statuses == [200] * 100
    assert body["sum"] == int(frame[:, 42:].sum(dtype=np.int64))
    growth = peak - before
    float_copy = frame.size * 8
    assert growth < float_copy, f"RSS grew {growth / 1e6:.0f} MB"


async def test_analysis_never_holds_up_the_live_fan_out(work: Path) -> None:
    """While 100 histogram questions about a big frame are computed, a /ws viewer of the
    same stream still hears each new_image within 0.5 s of its publish."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=50)
    await srv.astart()
    try:
        srv.publish(RNG.integers(0, 65536, (3000, 4000), dtype=np.uint16), stream="cam")
        await until(lambda: published(srv, "cam"), timeout=30, what="the big frame")
        url = base(srv)
        urls = [f"{url}/s/cam/api/histogram?seq=1&bins={b}" for b in range(1, 101)]
        done: list[int] = []
        async with aiohttp.ClientSession() as http, http.ws_connect(url + "/s/cam/ws") as ws:
            await until(lambda: srv.status()["clients"] == 1, what="the viewer")
            requests = asyncio.create_task(asyncio.to_thread(asyncio.run, burst(urls, done)))
            await until(lambda: len(done) >= 5, timeout=60, what="answers being computed")
            delays = []
            for n in range(3):
                started = time.monotonic()
                srv.publish(gradient(64, 48), stream="cam")
                message = await next_json(ws)
                delays.append(time.monotonic() - started)
                assert message["seq"] == n + 2
            still_computing = len(done) < len(urls)
            statuses = await asyncio.wait_for(requests, 100)
        assert max(delays) < 0.5, delays
        assert still_computing, "the burst ended before the live frames were published"
        assert statuses == [200] * len(urls)
    finally:
        await srv.astop()


async def test_a_jpeg_frame_answers_with_its_decoded_pixels(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """A frame published as JPEG bytes answers with its decoded pixels (uint8 per channel)."""
    import simplejpeg

    rgb = RNG.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    jpeg = simplejpeg.encode_jpeg(rgb, quality=90)
    decoded = simplejpeg.decode_jpeg(jpeg)
    server.publish(jpeg, stream="jpg")
    await until(lambda: published(server, "jpg"), what="the JPEG frame")
    status, body, _ = await get(http, f"{base(server)}/s/jpg/api/pixel?x=5&y=7")
    assert (status, body["value"]) == (200, decoded[7, 5].tolist())
    status, body, _ = await get(http, f"{base(server)}/s/jpg/api/stats")
    assert body["sum"] == [int(decoded[:, :, c].sum()) for c in range(3)]


async def test_an_answer_is_computed_once_per_frame(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """Asking the same question twice gives the same bytes from the cache (its size, more
    than the answer's bytes with the entry's own cost, does not grow); another question
    adds to it."""
    server.publish(RNG.integers(0, 65536, (40, 50), dtype=np.uint16))
    await until(lambda: published(server, "default"), what="a frame")
    url = f"{base(server)}/api/histogram?seq=1&bins=32"
    async with http.get(url) as response:
        first = await response.read()
    cached = server.status()["frame_cache_bytes"]
    async with http.get(url) as response:
        again = await response.read()
    assert again == first and server.status()["frame_cache_bytes"] == cached > len(first)
    await get(http, f"{base(server)}/api/histogram?seq=1&bins=33")
    assert server.status()["frame_cache_bytes"] > cached
