"""Every route about one frame finds it, or refuses it, the same way (docs/history.md):
history, deep-zoom tiles, raw files and tiles, and the analysis questions, on real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from framecast import ImageServer
from tests.conftest import LOCAL, base, until

#: Every route that names a frame, ``{seq}`` where its number goes (a query's ``seq`` too).
ROUTES = (
    "history/{seq}.jpg",
    "history/{seq}.json",
    "tiles/{seq}.dzi",
    "tiles/{seq}_files/0/0_0.jpg",
    "raw/{seq}.npy",
    "raw/{seq}.npy?level=0",
    "raw/{seq}.fits",
    "raw/{seq}.dzi",
    "raw/{seq}_files/0/0_0.npy",
    "api/pixel?seq={seq}&x=0&y=0",
    "api/stats?seq={seq}",
    "api/profile?seq={seq}&x0=0&y0=0&x1=3&y1=3",
    "api/histogram?seq={seq}",
)


@pytest.fixture
async def kept_two(work: Path) -> AsyncIterator[ImageServer]:
    """A server whose streams keep their last 2 frames, each large enough for deep zoom."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        max_file_rate=50,
        history=2,
        max_web_size=256,
    )
    await srv.astart()
    try:
        yield srv
    finally:
        await srv.astop()


def published(srv: ImageServer, stream: str) -> int:
    counters: dict[str, int] = srv.status()["streams"].get(stream, {})
    return counters.get("frames_published", 0)


async def answers(
    http: aiohttp.ClientSession, srv: ImageServer, prefix: str, seq: str
) -> dict[str, tuple[int, str]]:
    """Each route's status and body for frame ``seq`` under ``prefix``."""
    found = {}
    for route in ROUTES:
        async with http.get(f"{base(srv)}{prefix}/{route.format(seq=seq)}") as response:
            found[route] = (response.status, (await response.read()).decode(errors="replace"))
    return found


async def test_every_route_refuses_a_frame_with_the_same_line(
    kept_two: ImageServer, http: aiohttp.ClientSession
) -> None:
    """A frame no longer kept, one not published yet, and a seq that is not a number get
    the same status and the same one line from every route about a frame, at the root and
    under /s/<name>/ alike; the frames kept are served by all of them."""
    srv = kept_two
    for _ in range(3):
        before = published(srv, "cam1")
        srv.publish(np.zeros((300, 400), np.uint16), stream="cam1")
        await until(lambda b=before: published(srv, "cam1") > b, timeout=30, what="a frame")
    listing = "see /s/cam1/api/history for the frames kept\n"
    expected = {
        "1": (
            404,
            "frame 1 of stream 'cam1' is not kept any more (history keeps the last 2, within "
            "max_history_bytes); " + listing,
        ),
        "9": (404, "frame 9 of stream 'cam1' is not published yet (the latest is 3); " + listing),
        "x1": (
            400,
            "seq 'x1' is not a frame number: use the seq of data.json or new_image; " + listing,
        ),
    }
    for seq, answer in expected.items():
        assert await answers(http, srv, "/s/cam1", seq) == dict.fromkeys(ROUTES, answer)
    for seq in ("2", "3"):
        kept = await answers(http, srv, "/s/cam1", seq)
        assert {route: status for route, (status, _) in kept.items()} == dict.fromkeys(
            ROUTES, 200
        ), seq


async def test_a_stream_without_an_image_says_so_on_every_route(
    kept_two: ImageServer, http: aiohttp.ClientSession
) -> None:
    """Before its first image, the default stream answers every route about a frame with one
    404 line saying it has none yet, at the root as under /s/default/, and the questions
    about its latest frame say the same."""
    line = (
        "frame 1 of stream 'default' is not published yet (the stream has no image yet); "
        "see /s/default/api/history for the frames kept\n"
    )
    for prefix in ("", "/s/default"):
        assert await answers(http, kept_two, prefix, "1") == dict.fromkeys(ROUTES, (404, line))
        async with http.get(f"{base(kept_two)}{prefix}/api/stats") as response:
            assert response.status == 404
            assert await response.text() == (
                "stream 'default' has no image yet; ask again once one is published\n"
            )
