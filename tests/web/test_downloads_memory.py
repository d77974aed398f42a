"""Raw arrays count towards max_history_bytes and leave with their frame (issue 16, item 2)."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import aiohttp
import numpy as np
import psutil
import pytest

from framecast import ImageServer
from tests.conftest import LOCAL, base
from tests.web.test_downloads import get, load, publish, same

MB = 1024 * 1024


@pytest.mark.slow
async def test_big_uint16_frames_stay_within_the_byte_bound(
    work: Path, http: aiohttp.ClientSession
) -> None:
    """history=1000 but max_history_bytes 100 MB: twelve 4000×3000 uint16 frames (23 MB of raw
    counts each) keep only what fits, /api/history lists exactly those, the newest's raw
    file is served and an evicted one is a 404, and RSS grows far less than the twelve."""
    bound = 100 * MB
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        max_file_rate=50,
        history=1000,
        max_history_bytes=bound,
    )
    await srv.astart()
    process = psutil.Process()
    try:
        rng = np.random.default_rng(13)
        base_counts = rng.integers(0, 60000, (3000, 4000), dtype=np.uint16)
        first = await publish(srv, http, base_counts + np.uint16(1))  # warm up every path
        gc.collect()
        before = process.memory_info().rss
        last = np.empty(0)
        for i in range(12):
            last = base_counts + np.uint16(i + 2)  # a new array each time
            await publish(srv, http, last, metadata={"i": i})
        gc.collect()
        grown = process.memory_info().rss - before
        status = srv.status()
        frames = status["streams"]["default"]["history_frames"]
        print(f"kept {frames} frames, {status['history_bytes'] // MB} MB; RSS +{grown // MB} MB")
        assert status["history_bytes"] <= bound
        assert 1 <= frames <= bound // last.nbytes  # each frame weighs at least its raw array
        _, body, _ = await get(http, base(srv) + "/api/history")
        listed = [f["seq"] for f in json.loads(body)["frames"]]
        assert len(listed) == frames
        status_code, body, headers = await get(
            http, f"{base(srv)}/raw/{listed[-1]}.npy", headers={"Accept-Encoding": "identity"}
        )
        assert status_code == 200 and same(load(body, headers), last)
        del body
        status_code, _, _ = await get(http, f"{base(srv)}/raw/{first}.npy")
        assert status_code == 404
        assert grown < bound + 80 * MB, f"RSS grew by {grown // MB} MB"
    finally:
        await srv.astop()
