"""Raw arrays count towards max_history_bytes and leave with their frame (issue 16, item 2)."""

from __future__ import annotations

import gc
import io
import json
from pathlib import Path

import aiohttp
import numpy as np
import psutil
import pytest

from framecast import ImageServer
from tests.conftest import LOCAL, base, until
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


async def test_downloads_nobody_reads_are_cut_off_and_their_memory_released(
    tmp_path: Path,
) -> None:
    """30 clients ask a 24 MB uint16 frame's .npy (identity) and never read: each is sent
    band by band, so the server process's peak RSS grows by less than 400 MiB (30 whole
    copies would be 720 MB, 1.4 GB with the socket buffers'); /api/status counts the 30
    running downloads and the bytes they hold; after send_timeout they are cut off, counted,
    and the RSS falls back within a minute."""
    from framecast.science import rawfiles
    from tests.robustness.conftest import serving
    from tests.web.test_senddeadline import stalled_get

    frame = np.random.default_rng(21).integers(0, 65536, (3000, 4000), dtype=np.uint16)
    options = ("--send-timeout", "3", "--max-downloads", "30", "--max-downloads-per-address", "30")
    with serving(tmp_path, *options) as served:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            body = io.BytesIO(rawfiles.fits(frame))
            async with http.post(f"{served.url}/api/frames", data=body) as answer:
                assert answer.status == 202, await answer.text()
                seq = (await answer.json())["seq"]
            url = f"{served.url}/raw/{seq}.npy"
            status, body, headers = await get(http, url, headers={"Accept-Encoding": "identity"})
            assert status == 200 and same(load(body, headers), frame)  # warms every path up
            del body
        baseline = served.rss()
        served.reset_peak()
        stalled = []
        try:
            for _ in range(30):
                _, writer = await stalled_get(
                    served.port, f"/raw/{seq}.npy", headers="Accept-Encoding: identity\r\n"
                )
                stalled.append(writer)
            report = await until(
                lambda: (s := served.status())["downloads_running"] == 30 and s, 20, "30 running"
            )
            assert 0 < report["download_bytes_in_flight"] <= 30 * 2 * MB
            await until(lambda: served.status()["downloads_running"] == 0, 30, "the cut-offs")
            grown = served.peak_rss() - baseline
            print(f"peak RSS +{grown / MB:.0f} MiB over {baseline / MB:.0f} MiB")
            assert grown < 400 * MB, f"peak RSS grew by {grown / MB:.0f} MiB"
            report = served.status()
            assert report["http_answers_cut_off"] == 30 and report["download_bytes_in_flight"] == 0
            await until(lambda: served.rss() < baseline + 64 * MB, 60, "the RSS back")
        finally:
            for writer in stalled:
                writer.transport.abort()
