"""Scenario 5: ``publish()`` → the new image painted in headless Chromium, at 1 and 10 images/s.

Two pages on the same server, measured one after the other at each rate:

- **viewer**: the real framecast viewer (``/``). It hears ``new_image`` on ``/ws`` (which
  carries the metadata), fetches and decodes ``history/<seq>.jpg`` once, puts the pixels into
  OpenSeadragon and shows ``#<seq>`` in ``#meta-seq`` in the same task. The page records when
  that text changes and the next animation frame has run (the image is on screen).
- **frames**: a minimal page written into the web folder for this benchmark: ``/frames``
  binary JPEG → ``Blob`` → ``<img>``, ``decode()``, next animation frame. It is the floor of
  what a browser needs for the same image.

Each page first shows one warm-up image (not counted: the first image of a page also pays
for compiling its code). The JPEG carries its publish time in a comment segment, so the
minimal page, which sees no sequence number, still pairs each picture with its own publish
time when frames are skipped. Both clocks are wall clocks on the same machine: the publisher
stamps ``time.time()``, the page reports ``performance.timeOrigin + performance.now()``.
The viewer row carries ``vs_minimal``: its p99 over the minimal page's, same run, same rate.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import percentile
from benchmarks.wire import STAMP_KEY, jpeg_of_size, stamped_jpeg

__all__ = ["run"]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

_WATCH_VIEWER = """
() => {
  window.__painted = {};
  const el = document.getElementById('meta-seq');
  const note = () => {
    const m = /#(\\d+)/.exec(el.textContent || '');
    if (!m || window.__painted[m[1]]) return;
    const seq = m[1];
    window.__painted[seq] = -1;
    requestAnimationFrame(() => requestAnimationFrame(() => {
      window.__painted[seq] = performance.timeOrigin + performance.now();
    }));
  };
  new MutationObserver(note).observe(el, {childList: true, characterData: true, subtree: true});
}
"""

_FRAMES_PAGE = """<!doctype html><meta charset="utf-8"><title>frames bench</title>
<body style="margin:0"><img id="img" alt="">
<script type="module">
window.__painted = {};
const img = document.getElementById('img');
const ws = new WebSocket(`ws://${location.host}/frames`);
ws.binaryType = 'blob';
ws.onopen = () => { window.__open = true; };
ws.onmessage = async (ev) => {
  if (typeof ev.data === 'string') return;
  const url = URL.createObjectURL(ev.data);
  const next = new Image(); next.src = url; await next.decode();
  img.replaceWith(next); next.id = 'img';
  requestAnimationFrame(() => requestAnimationFrame(async () => {
    const t = performance.timeOrigin + performance.now();
    // after the paint: which publish this was (the stamp in the JPEG's comment segment)
    const head = new TextDecoder('latin1').decode(await ev.data.slice(0, 256).arrayBuffer());
    const m = /STAMP=([0-9.]+)/.exec(head);
    if (m) window.__painted[m[1]] = t;
    URL.revokeObjectURL(url);
  }));
};
</script>
""".replace("STAMP", STAMP_KEY)


class _Publisher:
    """Publishes the stamped test image and remembers each one's server seq and time."""

    def __init__(self, server: Any, jpeg: bytes) -> None:
        self.server = server
        self.jpeg = jpeg
        self.seq = 0
        self.published: dict[int, float] = {}  # server seq → publish time

    def one(self) -> tuple[int, float]:
        t = time.time()
        self.seq += 1
        self.server.publish(stamped_jpeg(self.jpeg, t), metadata={"bench_seq": self.seq})
        self.published[self.seq] = t
        return self.seq, t


def _measure(page: Any, pub: _Publisher, count: int, rate: float, *, by_stamp: bool) -> list[float]:
    """Publish ``count`` images at ``rate``; the latencies (ms) of those the page painted."""
    page.evaluate("window.__painted = {}")
    sent: list[tuple[int, float]] = []
    start = time.monotonic()
    for k in range(count):
        sent.append(pub.one())
        time.sleep(max(0.0, start + (k + 1) / rate - time.monotonic()))
    page.wait_for_timeout(1500)
    painted: dict[str, float] = page.evaluate("window.__painted")
    out = []
    for seq, t_pub in sent:
        key = f"{t_pub:.9f}" if by_stamp else str(seq)
        t = painted.get(key)
        if t is not None and t > 0:
            out.append((t / 1000 - t_pub) * 1000)
    return out


def _warm_up(page: Any, pub: _Publisher, *, by_stamp: bool) -> None:
    """One image shown before measuring (the first one also compiles the page's code)."""
    seq, t = pub.one()
    key = f"{t:.9f}" if by_stamp else str(seq)
    page.wait_for_function(f"(window.__painted || {{}})[{key!r}] > 0", timeout=15_000)


def _stats(name: str, latencies: list[float], count: int) -> dict[str, Any]:
    return {
        "page": name,
        "published": count,
        "painted": len(latencies),
        "p50_ms": round(percentile(latencies, 50) or 0, 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 99) or 0, 2) if latencies else None,
        "max_ms": round(max(latencies), 2) if latencies else None,
    }


def run(level: str, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        log(f"  skipped: {CHROMIUM} not found")
        return [{"scenario": "browser", "skipped": f"{CHROMIUM} not found"}]
    from playwright.sync_api import sync_playwright

    from framecast import ImageServer

    # (rate, images): 10/s gets more images for a meaningful p99 in the same time
    plan = {
        "full": [(1.0, 40), (10.0, 200)],
        "quick": [(1.0, 12), (10.0, 60)],
        "smoke": [(4.0, 3)],
    }[level]
    jpeg = jpeg_of_size(150_000, seed=1)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="framecast-bench-") as work:
        server = ImageServer(
            work_folder=work, host="127.0.0.1", port=0, displayed_address="ip:127.0.0.1"
        )
        server.start()
        try:
            (server.web_folder / "bench-frames.html").write_text(_FRAMES_PAGE)
            pub = _Publisher(server, jpeg)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                try:
                    for rate, count in plan:
                        page = browser.new_page(viewport={"width": 1280, "height": 800})
                        page.goto(server.url, wait_until="load")
                        page.wait_for_function(
                            "document.getElementById('status').dataset.state === 'live'",
                            timeout=15_000,
                        )
                        page.evaluate(_WATCH_VIEWER)
                        _warm_up(page, pub, by_stamp=False)
                        lat = _measure(page, pub, count, rate, by_stamp=False)
                        viewer = _stats(
                            "viewer (/ws + history/<seq>.jpg + OpenSeadragon)", lat, count
                        )
                        page.close()
                        page = browser.new_page(viewport={"width": 1280, "height": 800})
                        page.goto(server.url + "bench-frames.html", wait_until="load")
                        page.wait_for_function("window.__open === true", timeout=15_000)
                        _warm_up(page, pub, by_stamp=True)
                        lat = _measure(page, pub, count, rate, by_stamp=True)
                        minimal = _stats("minimal (/frames → Blob → <img>)", lat, count)
                        page.close()
                        if viewer["p99_ms"] and minimal["p99_ms"]:
                            viewer["vs_minimal"] = round(viewer["p99_ms"] / minimal["p99_ms"], 2)
                        for row in (viewer, minimal):
                            row["rate"] = rate
                            rows.append(row)
                            log(f"  {row}")
                finally:
                    browser.close()
        finally:
            server.stop()
    for r in rows:
        r["scenario"] = "browser"
    return rows
