"""Ingest benchmark: display stretch + JPEG encode of a 2560x2160 uint16 camera frame.

Compares ``framecast.imaging.encode`` (auto-stretch to 8-bit + simplejpeg) with the bare
simplejpeg encoder on the very same 8-bit frame, on one CPU core. Prints a table and
writes ``benchmarks/results/ingest.json``.

    python benchmarks/ingest.py           # full run (~20 s)
    python benchmarks/ingest.py --quick   # a few seconds

Targets (issue 4): stretch+encode >= 25 frames/s, and >= 0.7x the bare encoder's rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import simplejpeg

from framecast import imaging
from framecast.imaging import DisplayOptions

WIDTH, HEIGHT = 2560, 2160
RESULTS = Path(__file__).parent / "results" / "ingest.json"


def camera_frame(dtype: str = "uint16") -> np.ndarray[Any, Any]:
    """A 12-bit-ish camera frame in uint16: Gaussian beam, gradient background, shot noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    beam = 3000.0 * np.exp(-((x - 1200) ** 2 / (2 * 180.0**2) + (y - 1000) ** 2 / (2 * 140.0**2)))
    background = 180.0 + 0.02 * x
    frame = background + beam + rng.normal(0.0, 12.0, (HEIGHT, WIDTH)).astype(np.float32)
    if dtype == "float32":
        return frame.astype(np.float32)
    return np.clip(frame, 0, 4095).astype(np.uint16)


def rate(work: Callable[[], object], seconds: float) -> dict[str, float]:
    """Frames per second of ``work`` (median of per-call times after a warm-up)."""
    for _ in range(3):
        work()
    times: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"ms": round(median * 1000, 3), "fps": round(1.0 / median, 1), "runs": len(times)}


def run(quick: bool = False, *, pin: bool = True) -> dict[str, Any]:
    """Measure every case; the report written to JSON (rows under ``results``).

    With ``pin`` the measurement runs on one CPU core; the caller's affinity is restored.
    """
    seconds = 0.7 if quick else 3.0
    previous = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    pinned = min(previous) if pin and previous else None
    if pinned is not None:
        os.sched_setaffinity(0, {pinned})
    try:
        rows = _measure(seconds)
    finally:
        if pinned is not None and previous is not None:
            os.sched_setaffinity(0, previous)
    by_case = {row["case"]: row for row in rows}
    bare_fps = by_case[BARE]["fps"]
    ours = by_case[OURS]["fps"]
    ratio = round(ours / bare_fps, 3)
    return {
        "command": "python benchmarks/ingest.py" + (" --quick" if quick else ""),
        "frame": {"width": WIDTH, "height": HEIGHT, "dtype": "uint16", "quality": QUALITY},
        "pinned_core": pinned,
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "numpy": np.__version__,
            "simplejpeg": getattr(simplejpeg, "__version__", "?"),
        },
        "results": rows,
        "ratio_vs_bare": ratio,
        "targets": {"fps": 25, "ratio": 0.7},
        "targets_met": {"fps": ours >= 25, "ratio": ratio >= 0.7},
    }


BARE = "bare simplejpeg (same 8-bit frame)"
OURS = "stretch+encode uint16 auto"
QUALITY = DisplayOptions().quality


def _measure(seconds: float) -> list[dict[str, Any]]:
    frame = camera_frame()
    floats = camera_frame("float32")
    pixels = imaging.to_display(frame)

    def bare() -> object:
        return simplejpeg.encode_jpeg(pixels, quality=QUALITY, colorspace="GRAY")

    cases: dict[str, Callable[[], object]] = {
        BARE: bare,
        "stretch only (auto)": lambda: imaging.to_display(frame),
        OURS: lambda: imaging.encode(frame),
        "stretch+encode uint16 midtones": lambda: imaging.encode(
            frame, DisplayOptions(stretch="midtones")
        ),
        "stretch+encode uint16 viridis": lambda: imaging.encode(
            frame, DisplayOptions(colormap="viridis")
        ),
        "stretch+encode float32 auto": lambda: imaging.encode(floats),
    }
    return [{"case": name, **rate(work, seconds)} for name, work in cases.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter measurement")
    parser.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    args = parser.parse_args()
    report = run(args.quick, pin=not args.all_cores)
    core = report["pinned_core"]
    print(
        f"ingest benchmark: {WIDTH}x{HEIGHT} uint16, JPEG quality {QUALITY}, "
        f"{'one core (' + str(core) + ')' if core is not None else 'all cores'}"
    )
    print(f"{'case':<40} {'ms/frame':>10} {'frames/s':>10}")
    for row in report["results"]:
        print(f"{row['case']:<40} {row['ms']:>10.2f} {row['fps']:>10.1f}")
    ours = next(row["fps"] for row in report["results"] if row["case"] == OURS)
    print(
        f"stretch+encode vs bare encoder: {report['ratio_vs_bare']:.2f}x (target >= 0.70); "
        f"{ours:.0f} frames/s (target >= 25)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
