"""Soak: N minutes (``FRAMECAST_SOAK_MINUTES``, default 60) of 1 image/s, 50 churning viewers,
one stalled viewer and bad ingest mixed in. RSS and fds are sampled every 10 s into
``soak.json`` and drawn into ``soak.png`` (in ``FRAMECAST_SOAK_OUT``, default ``docs/img``);
the RSS slope must stay ≤ 1 MiB per 10 min and the fds flat (the slopes are asserted when
at least 10 minutes remain after the warm-up, the first fifth of the run or 1 min; a
shorter run checks everything else and reports them).

    FRAMECAST_LONG=1 FRAMECAST_SOAK_MINUTES=2 pytest tests/robustness/test_soak.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests.robustness.conftest import (
    MiB,
    Publisher,
    Served,
    Viewer,
    drop,
    post_image,
    raw_ws,
    serving,
    small_jpeg,
)

MINUTES = float(os.environ.get("FRAMECAST_SOAK_MINUTES", "60"))
OUT = Path(os.environ.get("FRAMECAST_SOAK_OUT", Path(__file__).parents[2] / "docs" / "img"))
SAMPLE_EVERY = 10.0
CHURNERS = 50
#: Allowed growth: 1 MiB per 10 minutes, and fds that do not creep.
RSS_SLOPE = 1.0  # MiB per 10 min
FDS_SLOPE = 1.0  # fds per 10 min


def slope_per_10_min(times: list[float], values: list[float]) -> float:
    """Least-squares slope of ``values`` over ``times`` (seconds), per 10 minutes."""
    return float(np.polyfit(np.asarray(times), np.asarray(values), 1)[0]) * 600


async def churner(served: Served, rng: random.Random) -> None:
    """A viewer that comes and goes: stays 1-20 s, leaves cleanly or (one time in four) drops
    the connection, pauses up to 2 s, and comes back."""
    async with aiohttp.ClientSession() as session:
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, AssertionError):
                if rng.random() < 0.25:
                    _, writer = await raw_ws(served, "/ws")
                    try:
                        await asyncio.sleep(rng.uniform(1, 20))
                    finally:
                        drop(writer)
                else:
                    async with session.ws_connect(f"{served.ws_url}/ws", heartbeat=None) as ws:
                        stay = time.monotonic() + rng.uniform(1, 20)
                        while time.monotonic() < stay:
                            with contextlib.suppress(TimeoutError):
                                await ws.receive(timeout=max(0.01, stay - time.monotonic()))
            await asyncio.sleep(rng.uniform(0, 2))


async def stalled(served: Served) -> None:
    """One viewer that never reads, replaced by a fresh one every minute."""
    writer = None
    try:
        while True:
            with contextlib.suppress(OSError, AssertionError, TimeoutError):
                if writer is not None:
                    drop(writer)
                _, writer = await raw_ws(served, "/ws", rcvbuf=4096)
            await asyncio.sleep(60)
    finally:
        if writer is not None:
            drop(writer)


BAD = [
    ("corrupt jpeg", small_jpeg(1)[:200], {}),
    (
        "deep metadata",
        small_jpeg(2),
        {"X-Framecast-Metadata": '{"a": ' + "[" * 300 + "]" * 300 + "}"},
    ),
    ("not json", small_jpeg(3), {"X-Framecast-Metadata": "{nope"}),
    ("foreign origin", small_jpeg(4), {"Origin": "http://evil.example"}),
    ("empty body", b"", {}),
    ("not an image", b"hello world" * 10, {}),
]


async def bad_ingest(served: Served, statuses: list[int]) -> None:
    """A bad upload every 5 s, cycling through :data:`BAD`."""
    async with aiohttp.ClientSession() as session:
        n = 0
        while True:
            _, body, headers = BAD[n % len(BAD)]
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                status, _ = await post_image(session, served, body, headers=headers, total=10)
                statuses.append(status)
            n += 1
            await asyncio.sleep(5)


def save(record: dict[str, Any]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "soak.json").write_text(json.dumps(record, indent=1))


def draw(samples: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s["t"] / 60 for s in samples]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    top.plot(minutes, [s["rss"] / MiB for s in samples], color="tab:blue")
    top.set_ylabel("RSS (MiB)")
    top.set_title(title)
    bottom.plot(minutes, [s["fds"] for s in samples], color="tab:orange", label="fds")
    bottom.plot(minutes, [s["clients"] for s in samples], color="tab:gray", label="clients")
    bottom.set_ylabel("count")
    bottom.set_xlabel("minutes")
    bottom.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


@pytest.mark.long
@pytest.mark.timeout(int(MINUTES * 60) + 600)
async def test_soak(tmp_path: Path) -> None:
    """Hours of ordinary and hostile traffic: RSS slope ≤ 1 MiB / 10 min, fds flat, no task
    error, no 500, every good image accepted and the steady viewer's p99 < 1 s."""
    options = ("--heartbeat", "5", "--send-timeout", "5", "--max-clients-per-address", "500")
    samples: list[dict[str, Any]] = []
    bad_statuses: list[int] = []
    rng = random.Random(9)
    with serving(tmp_path, *options) as served:
        async with Viewer(served) as viewer, Publisher(served, interval=1.0) as publisher:
            tasks = [
                asyncio.create_task(churner(served, random.Random(rng.random())))
                for _ in range(CHURNERS)
            ]
            tasks.append(asyncio.create_task(stalled(served)))
            tasks.append(asyncio.create_task(bad_ingest(served, bad_statuses)))
            started = time.monotonic()
            try:
                while (elapsed := time.monotonic() - started) < MINUTES * 60:
                    status = await asyncio.to_thread(served.status)
                    samples.append(
                        {
                            "t": round(elapsed, 1),
                            "rss": served.rss(),
                            "fds": served.fds(),
                            "clients": status["clients"],
                            "frames_published": status["frames_published"],
                            "task_errors": status.get("task_errors"),
                        }
                    )
                    await asyncio.to_thread(save, {"minutes": MINUTES, "samples": samples})
                    await asyncio.sleep(SAMPLE_EVERY - (time.monotonic() - started) % SAMPLE_EVERY)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        final = await asyncio.to_thread(served.status)
    warm = [s for s in samples if s["t"] >= max(60.0, 0.2 * MINUTES * 60)] or samples[-2:]
    times = [s["t"] for s in warm]
    rss_slope = slope_per_10_min(times, [s["rss"] / MiB for s in warm])
    fds_slope = slope_per_10_min(times, [s["fds"] for s in warm])
    summary = {
        "minutes": MINUTES,
        "rss_start_mib": round(samples[0]["rss"] / MiB, 1),
        "rss_end_mib": round(samples[-1]["rss"] / MiB, 1),
        "rss_slope_mib_per_10_min": round(rss_slope, 3),
        "fds_slope_per_10_min": round(fds_slope, 3),
        "fds_min": min(s["fds"] for s in warm),
        "fds_max": max(s["fds"] for s in warm),
        "viewer_p99_s": round(viewer.p99(), 3),
        "good_uploads": len(publisher.statuses),
        "bad_uploads": len(bad_statuses),
        "bad_statuses": sorted(set(bad_statuses)),
        "task_errors": final.get("task_errors"),
    }
    await asyncio.to_thread(save, {"minutes": MINUTES, "summary": summary, "samples": samples})
    await asyncio.to_thread(
        draw,
        samples,
        OUT / "soak.png",
        f"soak: {MINUTES:g} min, RSS slope {rss_slope:+.2f} MiB/10 min",
    )
    assert set(publisher.statuses) == {202}, sorted(set(publisher.statuses))
    assert bad_statuses and set(bad_statuses) <= {400, 403, 413, 415}, sorted(set(bad_statuses))
    assert summary["fds_max"] - summary["fds_min"] <= CHURNERS + 10, summary
    if times[-1] - times[0] >= 600:  # a slope over less than 10 minutes is warm-up and noise
        assert rss_slope <= RSS_SLOPE, summary
        assert abs(fds_slope) <= FDS_SLOPE, summary
    assert viewer.p99() < 1.0, summary
    assert final.get("task_errors") == 0, summary
