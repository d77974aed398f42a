"""Soak: N minutes (``FRAMECAST_SOAK_MINUTES``, default 60) of 1 image/s, 50 churning viewers,
one stalled viewer and bad ingest, with the attacks of round 2 mixed in all along (see
:mod:`tests.robustness.attackers`): a 24 MB uint16 frame every 5 s, downloads of it that are
never read, rectangles of its lower levels and statistics asked in a loop, a ``snapshot_now``
flood and a custom-command flood. RSS, fds, the viewers' frames and the snapshots folder are
sampled every 10 s into ``soak.json`` and drawn into ``soak.png`` (in ``FRAMECAST_SOAK_OUT``,
default ``docs/img``).

After the warm-up (the first fifth of the run, at least 3 min: the big frames fill the
history) RSS must stay within 150 MiB of its value then; with at least 10 minutes left after
it, the RSS slope must also stay ≤ 1 MiB per 10 min and the fds flat (beyond twice the
slope's standard error: the big frames make RSS jump between samples). A shorter run reports
these. In every 10 s window every steady viewer gets frames; every refusal is a documented
one (docs/reliability.md, "Soak with the round-2 attacks").

    FRAMECAST_LONG=1 FRAMECAST_SOAK_MINUTES=1 pytest tests/robustness/test_soak.py
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from framecast.live.snapshots import folder_bytes
from framecast.runtime.deadline import within
from tests.robustness import attackers
from tests.robustness.attackers import Tally
from tests.robustness.conftest import (
    FRAMECAST,
    MiB,
    Served,
    post_image,
    serving,
    small_jpeg,
)
from tests.robustness.peers import Publisher, Viewer, drop, raw_ws

MINUTES = float(os.environ.get("FRAMECAST_SOAK_MINUTES", "60"))
OUT = Path(os.environ.get("FRAMECAST_SOAK_OUT", Path(__file__).parents[2] / "docs" / "img"))
SAMPLE_EVERY = 10.0
CHURNERS = 50
#: Allowed growth: 1 MiB per 10 minutes, and fds that do not creep.
RSS_SLOPE = 1.0  # MiB per 10 min
FDS_SLOPE = 1.0  # fds per 10 min
#: Allowed RSS above its value at the end of the warm-up, at any time after it.
RSS_ABOVE_WARM = 150 * MiB
#: Seconds between two big (24 MB) frames.
BIG_EVERY = 5.0
#: The snapshots folder's cap (--max-snapshots-bytes): the big frames' snapshots fill it
#: within the first minute, so the flood meets the cap too.
SNAPSHOTS_CAP = 4 * MiB
#: Addresses downloading the big frames without reading (each asking 6 at once, one after
#: the other, every 15 s: over max_downloads_per_address 4, then over max_downloads 8), and
#: addresses asking rectangles and statistics.
HOARDERS = ("127.0.1.1", "127.0.1.2")
HOARDED_AT_ONCE = 6
SURVEYORS = ("127.0.2.1", "127.0.2.2", "127.0.2.3")
#: What /api/status counted, reported at the end.
STATUS_REPORTED = ("downloads_refused", "http_answers_cut_off", "commands_limited", "task_errors")
#: ``framecast`` with a custom command registered (``soak_echo``), for the command flood.
COMMAND_SERVER = (FRAMECAST[0], str(Path(__file__).with_name("commandserver.py")))


def slope_per_10_min(times: list[float], values: list[float]) -> tuple[float, float]:
    """Least-squares slope of ``values`` over ``times`` (seconds), per 10 minutes, and its
    standard error (0 with fewer than 4 points)."""
    t, v = np.asarray(times), np.asarray(values)
    if len(t) < 4:
        return float(np.polyfit(t, v, 1)[0]) * 600, 0.0
    coefficients, covariance = np.polyfit(t, v, 1, cov=True)
    return float(coefficients[0]) * 600, math.sqrt(covariance[0][0]) * 600


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


def draw(samples: list[dict[str, Any]], path: Path, title: str, bound: float | None) -> None:
    """RSS (with the end of the warm-up and the bound after it, if any), fds and clients
    over the run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s["t"] / 60 for s in samples]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    top.plot(minutes, [s["rss"] / MiB for s in samples], color="tab:blue")
    if bound is not None:
        top.axhline(bound / MiB, color="tab:red", linestyle="--", label="bound")
        top.axvline(warm_up(MINUTES) / 60, color="tab:gray", linestyle=":", label="warm-up")
        top.set_ylim(0, 1.1 * max(bound, *(s["rss"] for s in samples)) / MiB)
        top.legend(loc="lower right")
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


def warm_up(minutes: float) -> float:
    """Seconds after the start when the warm-up ends: the first fifth of the run, at least
    3 min (the big frames fill the history, max_history_bytes, in about 2)."""
    return max(180.0, 0.2 * minutes * 60)


def warm_rss(samples: list[dict[str, Any]], minutes: float) -> float | None:
    """RSS after the warm-up: the median of the samples of its first minute (one sample
    may catch a big frame on its way), or None when the run ends before the warm-up."""
    start = warm_up(minutes)
    first = [s["rss"] for s in samples if start <= s["t"] < start + 60]
    return float(np.median(first)) if first else None


async def sample(served: Served, elapsed: float, viewers: dict[str, Viewer]) -> dict[str, Any]:
    """One sample: the server's RSS and fds, what /api/status counts, each steady viewer's
    frames and the bytes in the snapshots folder."""
    status = await asyncio.to_thread(served.status)
    keys = (
        "clients",
        "frames_published",
        "task_errors",
        "downloads_running",
        "download_bytes_in_flight",
        "downloads_refused",
        "http_answers_cut_off",
        "commands_limited",
    )
    return {
        "t": round(elapsed, 1),
        "rss": served.rss(),
        "fds": served.fds(),
        **{key: status.get(key) for key in keys},
        "frames": {name: viewer.frames for name, viewer in viewers.items()},
        "snapshots_bytes": await asyncio.to_thread(folder_bytes, served.work / "snapshots"),
    }


@pytest.mark.long
@pytest.mark.timeout(int(MINUTES * 60) + 600)
async def test_soak(tmp_path: Path) -> None:
    """Ordinary and hostile traffic with the round-2 attacks mixed in: RSS within 150 MiB of
    its value after the warm-up (slope ≤ 1 MiB / 10 min on long runs), fds flat, every steady
    viewer gets frames in every 10 s window, only documented refusals, the snapshots folder
    under its cap, no task error, no 500, the steady viewer's p99 < 1 s."""
    options = (
        *("--heartbeat", "5", "--send-timeout", "5", "--max-clients-per-address", "500"),
        *("--max-snapshots-bytes", str(SNAPSHOTS_CAP)),
    )
    samples: list[dict[str, Any]] = []
    bad_statuses: list[int] = []
    tallies = {name: Tally() for name in ("downloads", "rectangles", "snapshot_now", "soak_echo")}
    rng = random.Random(9)
    big = await asyncio.to_thread(attackers.big_frames)
    with serving(tmp_path, *options, program=COMMAND_SERVER) as served:
        async with (
            Viewer(served) as viewer,
            Viewer(served, "127.0.0.2") as second,
            Viewer(served, "127.0.0.3", "/frames") as binary,
            Publisher(served, interval=1.0) as publisher,
            Publisher(
                served, interval=BIG_EVERY, body=lambda n: big[n % len(big)], total=60
            ) as bigs,
        ):
            viewers = {"ws": viewer, "ws2": second, "frames": binary}
            await within(bigs.shown.wait(), 60)
            tasks = [
                asyncio.create_task(churner(served, random.Random(rng.random())))
                for _ in range(CHURNERS)
            ]
            tasks.append(asyncio.create_task(stalled(served)))
            tasks.append(asyncio.create_task(bad_ingest(served, bad_statuses)))
            tasks.append(
                asyncio.create_task(
                    attackers.hoarder(
                        served, bigs.seqs, HOARDERS, tallies["downloads"], at_once=HOARDED_AT_ONCE
                    )
                )
            )
            tasks += [
                asyncio.create_task(
                    attackers.surveyor(served, bigs.seqs, source, tallies["rectangles"], n)
                )
                for n, source in enumerate(SURVEYORS)
            ]
            tasks += [
                asyncio.create_task(attackers.flood(served, {"cmd": name}, tallies[name]))
                for name in ("snapshot_now", "soak_echo")
            ]
            started = time.monotonic()
            try:
                while (elapsed := time.monotonic() - started) < MINUTES * 60:
                    samples.append(await sample(served, elapsed, viewers))
                    await asyncio.to_thread(save, {"minutes": MINUTES, "samples": samples})
                    await asyncio.sleep(SAMPLE_EVERY - (time.monotonic() - started) % SAMPLE_EVERY)
                samples.append(await sample(served, time.monotonic() - started, viewers))
                for task in tasks:
                    if task.done():
                        task.result()  # a client's own failure, if one ended
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        final = await asyncio.to_thread(served.status)
    warm = [s for s in samples if s["t"] >= warm_up(MINUTES)]
    if len(warm) < 2:  # a run shorter than its warm-up: its last samples, for the report
        warm = samples[-2:]
    times = [s["t"] for s in warm]
    rss_slope, rss_error = slope_per_10_min(times, [s["rss"] / MiB for s in warm])
    fds_slope, fds_error = slope_per_10_min(times, [s["fds"] for s in warm])
    reference = warm_rss(samples, MINUTES)
    bound = None if reference is None else reference + RSS_ABOVE_WARM
    max_warm = max(s["rss"] for s in warm)
    windows = {
        name: [after["frames"][name] - before["frames"][name] for before, after in pairs]
        for name in viewers
        if (pairs := list(itertools.pairwise(samples)))
    }
    summary = {
        "minutes": MINUTES,
        "rss_start_mib": round(samples[0]["rss"] / MiB, 1),
        "rss_after_warm_up_mib": None if reference is None else round(reference / MiB, 1),
        "rss_max_mib": round(max(s["rss"] for s in samples) / MiB, 1),
        "rss_max_after_warm_up_mib": None if bound is None else round(max_warm / MiB, 1),
        "rss_end_mib": round(samples[-1]["rss"] / MiB, 1),
        "rss_slope_mib_per_10_min": [round(rss_slope, 3), round(rss_error, 3)],
        "fds_slope_per_10_min": [round(fds_slope, 3), round(fds_error, 3)],
        "fds_min": min(s["fds"] for s in warm),
        "fds_max": max(s["fds"] for s in warm),
        "viewer_p99_s": round(viewer.p99(), 3),
        "frames_per_viewer": {name: v.frames for name, v in viewers.items()},
        "fewest_frames_in_a_window": {name: min(n) for name, n in windows.items()},
        "good_uploads": len(publisher.statuses),
        "big_uploads": len(bigs.statuses),
        "bad_uploads": len(bad_statuses),
        "bad_statuses": sorted(set(bad_statuses)),
        "answers": {name: dict(sorted(t.counts.items())) for name, t in tallies.items()},
        "unexpected": {name: t.wrong for name, t in tallies.items() if t.wrong},
        "snapshots_max_bytes": max(s["snapshots_bytes"] for s in samples),
        **{key: final.get(key) for key in STATUS_REPORTED},
    }
    await asyncio.to_thread(save, {"minutes": MINUTES, "summary": summary, "samples": samples})
    title = f"soak with the round-2 attacks: {MINUTES:g} min, RSS slope {rss_slope:+.2f} MiB/10 min"
    await asyncio.to_thread(draw, samples, OUT / "soak.png", title, bound)
    print(json.dumps(summary, indent=1))
    assert set(publisher.statuses) == {202}, sorted(set(publisher.statuses))
    assert set(bigs.statuses) == {202}, sorted(set(bigs.statuses))
    assert bad_statuses and set(bad_statuses) <= {400, 403, 413, 415}, sorted(set(bad_statuses))
    assert all(n > 0 for counts in windows.values() for n in counts), summary
    if bound is not None:
        assert max_warm <= bound, summary
    assert summary["snapshots_max_bytes"] <= SNAPSHOTS_CAP, summary
    assert not summary["unexpected"], summary
    answers = summary["answers"]
    assert {"200 npy, never read", "200 fits, never read"} <= answers["downloads"].keys(), summary
    assert {"503 max_downloads_per_address", "503 max_downloads"} <= answers["downloads"].keys()
    assert {"200 rectangle", "200 stats"} <= answers["rectangles"].keys(), summary
    refused = sum(n for t in tallies.values() for k, n in t.counts.items() if k.startswith("503"))
    assert final["downloads_refused"] >= refused > 0, summary
    assert final["http_answers_cut_off"] > 0, summary
    for name in ("snapshot_now", "soak_echo"):
        assert {"ok", "limited (socket)"} <= answers[name].keys(), summary
    assert answers["snapshot_now"].keys() & {"snapshots full", "no room for this snapshot"}
    assert final["commands_limited"] > 0, summary
    hoarded = len(HOARDERS) * HOARDED_AT_ONCE + len(SURVEYORS)
    assert summary["fds_max"] - summary["fds_min"] <= CHURNERS + hoarded + 10, summary
    if times[-1] - times[0] >= 600:  # a slope over less than 10 minutes is warm-up and noise
        # Big frames make RSS jump by tens of MiB between samples: a slope is only taken
        # to exceed its bar by more than twice its standard error.
        assert rss_slope - 2 * rss_error <= RSS_SLOPE, summary
        assert abs(fds_slope) - 2 * fds_error <= FDS_SLOPE, summary
    assert viewer.p99() < 1.0, summary
    assert final.get("task_errors") == 0, summary
