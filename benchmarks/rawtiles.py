"""Scenario 8: a top-level raw tile (``.npy``, gzip) against the JPEG tile of the same region.

The server under test is an ``ImageServer`` on its own thread in this process, with
``max_web_size`` 1024 so that one large ``uint16`` frame (a smooth camera-like picture with
photon noise) has both pyramids: the JPEG one of docs/tiles.md and the raw one of docs/science.md.
Sampled top-level tiles are fetched once of each kind, interleaved (JPEG, raw gzip, raw
identity for the same column and row), over one kept-alive HTTP connection from this
thread, after one warm-up request of each kind (level 0): each request is the first for
its tile, so it measures cutting, encoding or compressing, and serving — not a cache.
Two frames: a noisy camera (whose low bits deflate cannot shrink: gzip costs the most) and
a sparse detector (which gzip shrinks tenfold). The baseline is the JPEG tile in the same run;
the target (issue 16) is that the raw gzip tile is served at least half as fast.

    python benchmarks/run.py --scenario rawtiles [--quick]
    python benchmarks/rawtiles.py [--quick|--smoke]     # the table alone
"""

from __future__ import annotations

import http.client
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script
    _root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(_root), str(_root / "src")]

import numpy as np

__all__ = ["SIZES", "frame", "run"]

#: Frame size (width, height) per level: a 12 MP camera, a 3 MP one, a small one for tests.
SIZES = {"full": (4096, 3072), "quick": (2048, 1536), "smoke": (600, 400)}
#: Most top-level tiles fetched of each kind (spread over the frame).
MAX_TILES = {"full": 120, "quick": 60, "smoke": 6}
TARGET = 0.5


def frame(width: int, height: int, kind: str = "camera", seed: int = 1) -> np.ndarray[Any, Any]:
    """A 16-bit test picture. ``camera``: a vignetted spot on a sloped background of 2 000 to
    35 000 counts with Poisson noise (the noisy low bits barely compress); ``detector``: a
    photon-counting detector's sparse low counts (a Poisson mean of 0.3, a few bright spots)."""
    rng = np.random.default_rng(seed)
    if kind == "detector":
        counts = rng.poisson(0.3, (height, width))
        spots = rng.integers(0, [height, width], (40, 2))
        counts[spots[:, 0], spots[:, 1]] += rng.integers(1000, 60000, 40)
        return counts.clip(0, 65535).astype(np.uint16)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    spot = 30000 * np.exp(-(((x - width * 0.6) ** 2 + (y - height * 0.4) ** 2) / (0.05 * width**2)))
    background = 2000 + 3000 * x / width + 1000 * y / height
    counts = rng.poisson(spot + background).clip(0, 65535)
    return counts.astype(np.uint16)


def _get(conn: http.client.HTTPConnection, path: str, gzip: bool) -> tuple[float, int]:
    headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
    t = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - t
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}: {body[:200]!r}")
    return elapsed, len(body)


def _row(case: str, times: list[float], sizes: list[int], raw_kb: float) -> dict[str, Any]:
    """One kind's figures; ``tiles_per_s`` is from the median (robust to a busy machine's
    outliers), ``mean_ms`` shows them."""
    ordered = sorted(times)
    median = statistics.median(times)
    return {
        "scenario": "rawtiles",
        "case": case,
        "tiles": len(times),
        "p50_ms": round(median * 1000, 2),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 2),
        "mean_ms": round(statistics.fmean(times) * 1000, 2),
        "tiles_per_s": round(1 / median, 1),
        "mean_kb": round(statistics.fmean(sizes) / 1024, 1),
        "ratio_to_raw_bytes": round(statistics.fmean(sizes) / 1024 / raw_kb, 3),
    }


def _measure(
    level: str, kind: str, log: Callable[[str], None]
) -> tuple[dict[str, list[float]], dict[str, list[int]], str]:
    """Fetch sampled top-level tiles of one frame as JPEG, raw gzip and raw identity."""
    from framecast import ImageServer
    from framecast.imaging.pyramid import grid, max_level

    width, height = SIZES[level]
    pixels = frame(width, height, kind)
    top = max_level(width, height)
    cols, rows = grid(width, height, top)
    cells = [(c, r) for r in range(rows) for c in range(cols)]
    step = max(1, len(cells) // MAX_TILES[level])
    cells = cells[::step][: MAX_TILES[level]]
    times: dict[str, list[float]] = {"jpeg": [], "gzip": [], "identity": []}
    sizes: dict[str, list[int]] = {"jpeg": [], "gzip": [], "identity": []}
    with tempfile.TemporaryDirectory(prefix="framecast-bench-") as work:
        server = ImageServer(
            work_folder=work,
            host="127.0.0.1",
            port=0,
            displayed_address="ip:127.0.0.1",
            max_web_size=min(1024, max(width, height) // 2),  # so the frame has a JPEG pyramid
        )
        server.start()
        try:
            server.publish(pixels)
            deadline = time.monotonic() + 60
            while server.status()["frames_published"] < 1:
                if time.monotonic() > deadline:
                    raise RuntimeError("the frame was not published within 60 s")
                time.sleep(0.01)  # polling the server's counters, with a deadline
            seq = 1  # the first frame of a fresh server
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            for path, gzip in (  # warm up: the worker threads, the connection, level 0
                (f"/tiles/{seq}_files/0/0_0.jpg", False),
                (f"/raw/{seq}_files/0/0_0.npy", True),
                (f"/raw/{seq}_files/0/0_0.npy", False),
            ):
                _get(conn, path, gzip)
            for col, row in cells:
                tile = f"{top}/{col}_{row}"
                for name, path, gzip in (
                    ("jpeg", f"/tiles/{seq}_files/{tile}.jpg", False),
                    ("gzip", f"/raw/{seq}_files/{tile}.npy", True),
                    ("identity", f"/raw/{seq}_files/{tile}.npy", False),
                ):
                    elapsed, size = _get(conn, path, gzip)
                    times[name].append(elapsed)
                    sizes[name].append(size)
            conn.close()
        finally:
            server.stop()
    return times, sizes, f"{width}×{height} uint16 {kind}"


def run(level: str = "full", log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Fetch the top-level tiles of a big uint16 frame (a noisy camera, then a sparse
    detector) as JPEG and as raw .npy (gzip and identity); rows per kind and frame, and the
    issue's target as a check row per frame."""
    from framecast.imaging.pyramid import TILE_SIZE

    raw_kb = (TILE_SIZE + 2) ** 2 * 2 / 1024  # an inner uint16 tile's raw bytes
    results: list[dict[str, Any]] = []
    for kind in ("camera", "detector"):
        times, sizes, what = _measure(level, kind, log)
        rows = [
            _row(f"{kind}: JPEG tile (baseline)", times["jpeg"], sizes["jpeg"], raw_kb),
            _row(f"{kind}: raw .npy tile, gzip", times["gzip"], sizes["gzip"], raw_kb),
            _row(f"{kind}: raw .npy tile, identity", times["identity"], sizes["identity"], raw_kb),
        ]
        ratio = rows[1]["tiles_per_s"] / rows[0]["tiles_per_s"]
        check = {
            "scenario": "rawtiles",
            "check": f"{kind}: raw tile (gzip) served ≥ {TARGET}× as fast as the JPEG tile",
            "value": f"{rows[1]['tiles_per_s']} vs {rows[0]['tiles_per_s']} tiles/s "
            f"({ratio:.2f}×), {what}",
            "ok": ratio >= TARGET,
        }
        for r in rows:
            log(f"  {r['case']}: p50 {r['p50_ms']} ms, {r['tiles_per_s']} tiles/s")
        log(f"  {check['check']}: {check['value']} {'ok' if check['ok'] else 'MISSED'}")
        results += [*rows, check]
    return results


def main(argv: list[str] | None = None) -> int:
    import argparse
    import logging

    from benchmarks import report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    level = "smoke" if args.smoke else "quick" if args.quick else "full"
    logging.getLogger("framecast").setLevel(logging.ERROR)  # an in-process server: quiet
    rows = run(level, log=lambda _line: None)
    table = [r for r in rows if "case" in r]
    checks = [r for r in rows if "check" in r]
    print(report.table(table, report._generic_columns(table)))
    print(report.table(checks, [("check", "target"), ("value", "measured"), ("ok", "ok")]))
    return 0 if all(r["ok"] for r in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
