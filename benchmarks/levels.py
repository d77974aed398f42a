"""Levels in the browser (issues 17 and 27): repainting raw tiles on a change of levels, and
staying live with levels on (docs/viewer.md, "Speed").

Two measurements, one run, real ImageServer and Debian's headless Chromium (1920×1080):

- **repaint**: a large ``uint16`` frame is shown with levels on (its raw tiles), zoomed so
  that top-level tiles fill the screen. Each step changes the colormap or the black point
  through the page's own controls and waits until it is painted (two animation frames); the
  baseline, the same run, is a plain redraw of the same view with nothing changed. Targets:
  p95 within 1.2× the baseline's p95, and 0 requests during the changes.
- **live**: ``2048×2048`` ``uint16`` frames published at 10 images/s with levels on; every
  100 ms the page is asked how many frames the one on screen is behind the newest notified.
  Targets: never more than 1, and notified → on screen p95 ≤ 150 ms. The frame "on screen"
  is the one the view last reported
  shown (its pixels follow at the next animation frame); "newest" is the newest whose
  notification reached the page. Also printed: each shown frame's stages in the page
  (``framecast.tools.frameMarks``: notified, read started, bytes in, parsed, first and last
  tile painted, shown, on screen), the whole-frame reads' Resource Timing (queued, server's
  first byte, transfer) and the page's long tasks.

    python benchmarks/levels.py [--quick|--smoke]

Prints a table and writes ``benchmarks/results/levels.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script
    _root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(_root), str(_root / "src")]

import numpy as np

from framecast import ImageServer

__all__ = ["run"]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1920, "height": 1080}
#: (repaint frame width, height, steps, live seconds) per level.
LEVELS = {
    "full": (4096, 3072, 60, 20.0),
    "quick": (2048, 1536, 30, 8.0),
    "smoke": (600, 400, 4, 1.5),
}
LIVE_SIZE = {"full": 2048, "quick": 2048, "smoke": 256}
RATE = 10.0
#: A change of levels repaints within this multiple of the plain redraw's p95.
TARGET_REPAINT_RATIO = 1.2
TARGET_LAG = 1
TARGET_ON_SCREEN_P95_MS = 150.0

STEP = """async (i) => {
  const twoFrames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const t0 = performance.now();
  if (i < 0) {
    framecast.view.osd.forceRedraw();
  } else if (i % 2) {
    const s = document.getElementById('tools-cmap');
    s.value = s.value === 'viridis' ? 'inferno' : 'viridis';
    s.dispatchEvent(new Event('change'));
  } else {
    const b = document.getElementById('tools-black');
    b.value = String(1000 + 50 * i);
    b.dispatchEvent(new Event('change'));
  }
  await twoFrames();
  return performance.now() - t0;
}"""


LONG_TASKS = """() => {
  performance.clearResourceTimings();
  performance.setResourceTimingBufferSize(2000);
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push(Math.round(e.duration));
  }).observe({ type: "longtask" });
}"""
#: The whole frames' reads (Resource Timing): queued, waiting for the server, transfer, in ms.
READS = """performance.getEntriesByType("resource")
  .filter((e) => /\\/raw\\/\\d+\\.npy/.test(e.name) && e.responseEnd > 0)
  .map((e) => [e.requestStart - e.startTime, e.responseStart - e.requestStart,
               e.responseEnd - e.responseStart, e.transferSize])"""


def reads(entries: list[list[float]]) -> dict[str, Any]:
    """p50 and p95 of each part of the whole frames' reads."""
    out: dict[str, Any] = {"count": len(entries)}
    for i, part in enumerate(["queued", "server", "transfer"]):
        values = [e[i] for e in entries]
        if values:
            out[part] = [statistics.median(values), p95(values)]
    return out


#: A live frame's stages in the page (framecast.tools.frameMarks), in order.
STAGES = ["notified", "read", "bytes", "parsed", "firstTile", "lastTile", "shown", "onScreen"]


def stages(marks: list[dict[str, float]]) -> dict[str, Any]:
    """Per stage, the ms from the stage before it (p50, p95) over the frames shown; how many
    frames were notified, read, and shown."""
    shown = [m for m in marks if "onScreen" in m and "notified" in m]
    out: dict[str, Any] = {
        "notified": sum("notified" in m for m in marks),
        "read": sum("bytes" in m for m in marks),
        "shown": len(shown),
    }
    for before, stage in itertools.pairwise(STAGES):
        spans = [m[stage] - m[before] for m in shown if stage in m and before in m]
        if spans:
            out[f"{before}->{stage}"] = [statistics.median(spans), p95(spans)]
    total = [m["onScreen"] - m["notified"] for m in shown]
    if total:
        out["notified->onScreen"] = [statistics.median(total), p95(total)]
    return out


def camera(width: int, height: int, seed: int = 1) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    spot = 30000 * np.exp(-(((x - width * 0.5) ** 2 + (y - height * 0.5) ** 2) / (0.05 * width**2)))
    return rng.poisson(spot + 2000 + 3000 * x / width).clip(0, 65535).astype(np.uint16)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(level: str = "full") -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    width, height, steps, seconds = LEVELS[level]
    result: dict[str, Any] = {"level": level, "viewport": VIEWPORT}
    with tempfile.TemporaryDirectory() as work, sync_playwright() as playwright:
        server = ImageServer(work_folder=work, port=0, displayed_address="ip:127.0.0.1")
        server.start()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"http://127.0.0.1:{server.port}/#auto=1")
            page.wait_for_function("document.getElementById('status').dataset.state === 'live'")
            server.publish(camera(width, height))
            page.wait_for_function(
                "framecast.view.current && framecast.view.current.key.endsWith('|raw')"
                " && framecast.view.current.item.getFullyLoaded()"
                " && framecast.tools.histogramData !== null",
                timeout=60_000,
            )
            # Native pixels on screen: the top level's tiles fill the viewport.
            zoom = width / 1920 * 1.2
            page.evaluate(
                f"framecast.view.setView({{zoom: {zoom}, x: 0.5, y: {height / width / 2}}})"
            )
            page.wait_for_function("framecast.view.current.item.getFullyLoaded()", timeout=60_000)
            before = len(requests)
            baseline = [page.evaluate(STEP, -1) for _ in range(steps)]
            changes = [page.evaluate(STEP, i) for i in range(steps)]
            tiles = page.evaluate(
                "framecast.tools._sources().reduce((n, s) => n + s.tiles.size, 0)"
            )
            result["repaint"] = {
                "frame": [width, height],
                "tiles_in_memory": tiles,
                "baseline_p50_ms": statistics.median(baseline),
                "baseline_p95_ms": p95(baseline),
                "change_p50_ms": statistics.median(changes),
                "change_p95_ms": p95(changes),
                "requests_during_changes": len(requests) - before,
            }

            side = LIVE_SIZE[level]
            frames = [camera(side, side, seed) for seed in range(4)]
            page.evaluate(LONG_TASKS)
            lags: list[int] = []
            start = time.monotonic()
            published = 0
            while time.monotonic() - start < seconds:
                due = start + published / RATE
                if time.monotonic() >= due:
                    server.publish(frames[published % len(frames)])
                    published += 1
                lag = page.evaluate(
                    "() => { const t = framecast.tools; return t.liveSeq !== null && t.frame"
                    " ? t.liveSeq - t.frame.seq : null; }"
                )
                if lag is not None and time.monotonic() - start > 1.0:
                    lags.append(int(lag))
                page.wait_for_timeout(100)
            result["live"] = {
                "frame": [side, side],
                "rate": RATE,
                "published": published,
                "samples": len(lags),
                "lag_max": max(lags, default=None),
                "lag_p95": p95([float(v) for v in lags]) if lags else None,
                "raw_view": page.evaluate("framecast.view.current.key.endsWith('|raw')"),
                "stages": stages(page.evaluate("[...framecast.tools.frameMarks.values()]")),
                "long_tasks_ms": page.evaluate("window.__longTasks"),
                "reads": reads(page.evaluate(READS)),
            }
        finally:
            browser.close()
            server.stop()
    repaint, live = result["repaint"], result["live"]
    on_screen = live["stages"].get("notified->onScreen")
    result["checks"] = {
        "repaint_p95_within_1.2x_redraw": repaint["change_p95_ms"]
        <= TARGET_REPAINT_RATIO * repaint["baseline_p95_ms"],
        "no_request_on_change": repaint["requests_during_changes"] == 0,
        "live_lag_at_most_1": live["lag_max"] is not None and live["lag_max"] <= TARGET_LAG,
        "on_screen_p95_at_most_150ms": on_screen is not None
        and on_screen[1] <= TARGET_ON_SCREEN_P95_MS,
    }
    return result


def row(what: str, p50: float, p95: float) -> str:
    return f"{what:<44}{p50:>10.1f}{p95:>10.1f}"


def table(result: dict[str, Any]) -> str:
    r, live = result["repaint"], result["live"]
    lines = [
        f"levels in the browser ({result['level']}, viewport 1920×1080)",
        f"{'what':<44}{'p50 ms':>10}{'p95 ms':>10}",
        row("redraw, nothing changed (baseline)", r["baseline_p50_ms"], r["baseline_p95_ms"]),
        row("change of levels, repainted", r["change_p50_ms"], r["change_p95_ms"]),
        f"requests during the changes: {r['requests_during_changes']}"
        f" ({r['tiles_in_memory']} raw tiles of {r['frame'][0]}×{r['frame'][1]} in memory)",
        f"live {live['frame'][0]}×{live['frame'][1]} uint16 at {live['rate']:g}/s with levels:"
        f" frames behind max {live['lag_max']}, p95 {live['lag_p95']}"
        f" ({live['samples']} samples, {live['published']} published, raw view {live['raw_view']})",
    ]
    st = live["stages"]
    lines.append(
        f"live frames: {st['notified']} notified, {st['read']} read, {st['shown']} shown;"
        f" long tasks (ms): {sorted(live['long_tasks_ms'], reverse=True)[:12]}"
    )
    lines += [row(f"  {k}", *v) for k, v in st.items() if isinstance(v, list)]
    rd = live["reads"]
    lines.append(f"whole-frame reads: {rd['count']} finished")
    lines += [row(f"  read {k}", *v) for k, v in rd.items() if isinstance(v, list)]
    lines += [f"check {name}: {'ok' if ok else 'NOT MET'}" for name, ok in result["checks"].items()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true")
    group.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    level = "smoke" if args.smoke else "quick" if args.quick else "full"
    result = run(level)
    print(table(result))
    out = Path(__file__).resolve().parent / "results" / "levels.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
