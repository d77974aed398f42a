"""A producer's pace: pushes answered with nobody watching vs with one viewer.

A producer pushes the same PNG N times in a row with :meth:`framecast.Client.apublish`
(``POST /api/frames``; each push waits for its answer, as ``framecast push`` and a camera
loop do) to an ``ImageServer`` in this process with the default ``max_file_rate`` (2 per
second): first with nobody watching, then with one ``/ws`` viewer, in the same run. A
producer must never be paced by the viewers (docs/control.md): both cases should take
about the same time, far less than N / ``max_file_rate`` seconds.

    python benchmarks/push.py            # 20 pushes of a 1000×1000 PNG per case
    python benchmarks/push.py --smoke    # 3 pushes of a 256×256 PNG (seconds)

Prints a table and writes ``benchmarks/results/push.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `framecast` importable
    _root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(_root), str(_root / "src")]

import aiohttp
import numpy as np
from PIL import Image

__all__ = ["run"]

RESULTS = Path(__file__).parent / "results" / "push.json"
#: Pushes per case and the image's side, per level.
SIZES = {"full": (20, 1000), "quick": (20, 1000), "smoke": (3, 256)}


def _png(side: int) -> bytes:
    """A sky-like 8-bit PNG: a gradient with noise (about 0.7 MB at 1000×1000)."""
    rng = np.random.default_rng(1)
    sky = np.linspace(0, 200, side)[None, :] + rng.normal(0, 8, (side, side))
    out = io.BytesIO()
    Image.fromarray(sky.clip(0, 255).astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


async def _case(base: str, body: bytes, pushes: int, watched: bool) -> dict[str, Any]:
    from framecast import Client

    client = Client(base, timeout=30)
    async with aiohttp.ClientSession() as http:
        viewer = await http.ws_connect(base + "/ws") if watched else None
        drain = None
        if viewer is not None:

            async def read() -> None:
                async for _message in viewer:
                    pass

            drain = asyncio.create_task(read())
        try:
            await client.apublish(body)  # warm-up: connections, first frame
            times, seqs = [], []
            start = time.perf_counter()
            for _ in range(pushes):
                began = time.perf_counter()
                seqs.append(await client.apublish(body))
                times.append(time.perf_counter() - began)
            total = time.perf_counter() - start
        finally:
            if viewer is not None:
                await viewer.close()
            if drain is not None:
                drain.cancel()
                await asyncio.gather(drain, return_exceptions=True)
    return {
        "case": "one viewer" if watched else "nobody watching",
        "pushes": pushes,
        "seconds": round(total, 3),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "pushes_per_s": round(pushes / total, 1),
        "answered_with_seq": sum(seq is not None for seq in seqs),
    }


def run(level: str, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Both cases against one server; one row each."""
    from framecast import ImageServer

    pushes, side = SIZES[level]
    body = _png(side)
    rows = []
    with tempfile.TemporaryDirectory(prefix="framecast-bench-") as work:
        server = ImageServer(
            work_folder=work, host="127.0.0.1", port=0, displayed_address="ip:127.0.0.1"
        )
        server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            for watched in (False, True):
                row = asyncio.run(_case(base, body, pushes, watched))
                row.update(
                    scenario="push",
                    image=f"{side}x{side} PNG, {len(body)} bytes",
                    max_file_rate=server.settings.max_file_rate,
                )
                log("  " + ", ".join(f"{k}={v}" for k, v in row.items() if k != "scenario"))
                rows.append(row)
        finally:
            server.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same as the full run")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    args = parser.parse_args()
    level = "smoke" if args.smoke else "quick" if args.quick else "full"
    rows = run(level, lambda _line: None)
    print(f"push benchmark: {rows[0]['image']}, max_file_rate {rows[0]['max_file_rate']:g}/s")
    print(f"{'case':<18} {'pushes':>7} {'seconds':>8} {'median ms':>10} {'max ms':>8}")
    for row in rows:
        print(
            f"{row['case']:<18} {row['pushes']:>7} {row['seconds']:>8.2f} "
            f"{row['median_ms']:>10.1f} {row['max_ms']:>8.1f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"level": level, "results": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
