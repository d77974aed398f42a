"""Memory: superseded frames are freed — no cache or client keeps big frames alive."""

from __future__ import annotations

import gc
from pathlib import Path

import aiohttp
import numpy as np
import psutil

from framecast import ImageServer
from tests.conftest import LOCAL, base, next_json, until

#: The issue's bar: RSS after big frames were superseded is within this of the baseline.
RSS_MARGIN = 150 * 1024 * 1024


async def test_big_frames_are_freed_once_superseded(work: Path) -> None:
    """8 frames of 6000x4000 RGB (72 MB each: holding them would be 576 MB) published to a
    /ws client, then 8 small ones: after
    gc.collect() the process's RSS is back within 150 MB of what it was before (with no
    history: what the history keeps, and its bound, is tests/web/test_timeline.py's)."""
    process = psutil.Process()
    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=50, history=0
    )
    async with srv, aiohttp.ClientSession() as http, http.ws_connect(base(srv) + "/ws") as ws:
        await until(lambda: srv.status()["clients"] == 1, what="client registered")
        small = np.full((100, 100), 7, np.uint8)
        srv.publish(small)  # warm up every path (encoder, renderings, files) once
        assert (await next_json(ws, timeout=30))["seq"] == 1
        gc.collect()
        before = process.memory_info().rss
        rng = np.random.default_rng(3)
        big = rng.integers(0, 255, (4000, 6000, 3), dtype=np.uint8)
        for i in range(8):
            big[0, 0, 0] = i  # a different image each time, built once
            srv.publish(big, metadata={"i": i})
            message = await next_json(ws, timeout=60)
        peak = process.memory_info().rss
        del big
        for i in range(8):
            srv.publish(small, metadata={"small": i})
            message = await next_json(ws, timeout=30)
            while message["metadata"].get("small") != i:  # a big one still arriving
                message = await next_json(ws, timeout=30)
        await until(lambda: srv.status()["latest_seq"] == message["seq"], what="last published")
        gc.collect()
        after = process.memory_info().rss
        grown = after - before
        print(f"RSS before {before >> 20} MB, peak {peak >> 20} MB, after {after >> 20} MB")
        assert grown < RSS_MARGIN, f"RSS grew by {grown >> 20} MB after the big frames left"
