"""Scenario 5: ``publish()`` → the new image painted in headless Chromium.

Two pages on the same server, measured one after the other:

- **viewer**: the real framecast viewer (``/``). It hears ``new_image`` on ``/ws``, reads
  ``data.json`` until it has caught up, loads ``web_image.jpg`` into OpenSeadragon and then
  shows ``#<seq>`` in ``#meta-seq``. The page records when that text changes and the next
  animation frame has run (the image is on screen).
- **frames**: a minimal page written into the web folder for this benchmark: ``/frames``
  binary JPEG → ``Blob`` → ``<img>``, ``decode()``, next animation frame. It is the floor of
  what a browser needs for the same image.

Both clocks are wall clocks on the same machine: the publisher stamps ``time.time()``, the
page reports ``performance.timeOrigin + performance.now()``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import percentile
from benchmarks.wire import jpeg_of_size

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
window.__painted = {}; let n = 0;
const img = document.getElementById('img');
const ws = new WebSocket(`ws://${location.host}/frames`);
ws.binaryType = 'blob';
ws.onopen = () => { window.__open = true; };
ws.onmessage = async (ev) => {
  if (typeof ev.data === 'string') return;
  const seq = ++n;
  const url = URL.createObjectURL(ev.data);
  const next = new Image(); next.src = url; await next.decode();
  img.replaceWith(next); next.id = 'img';
  requestAnimationFrame(() => requestAnimationFrame(() => {
    window.__painted[seq] = performance.timeOrigin + performance.now();
  }));
};
</script>
"""


def _measure(
    page: Any, server: Any, jpeg: bytes, count: int, rate: float, first_seq: int
) -> list[float]:
    published: dict[int, float] = {}
    for k in range(count):
        seq = first_seq + k
        published[seq] = time.time()
        server.publish(jpeg, metadata={"bench_seq": seq})
        time.sleep(1 / rate)
    page.wait_for_timeout(1500)
    painted: dict[str, float] = page.evaluate("window.__painted")
    out = []
    for key, t in painted.items():
        seq = int(key)
        if t > 0 and seq in published:
            out.append((t / 1000 - published[seq]) * 1000)
    return out


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

    count = {"full": 40, "quick": 12, "smoke": 3}[level]
    rate = 1.0 if level != "smoke" else 4.0
    jpeg = jpeg_of_size(150_000, seed=1)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="framecast-bench-") as work:
        server = ImageServer(
            work_folder=work, host="127.0.0.1", port=0, displayed_address="ip:127.0.0.1"
        )
        server.start()
        try:
            (server.web_folder / "bench-frames.html").write_text(_FRAMES_PAGE)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                try:
                    seq = 1
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    page.goto(server.url, wait_until="load")
                    page.wait_for_function(
                        "document.getElementById('status').dataset.state === 'live'",
                        timeout=15_000,
                    )
                    page.evaluate(_WATCH_VIEWER)
                    lat = _measure(page, server, jpeg, count, rate, seq)
                    rows.append(_stats("viewer (/ws + web_image.jpg + OpenSeadragon)", lat, count))
                    log(f"  {rows[-1]}")
                    page.close()
                    seq += count
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    page.goto(server.url + "bench-frames.html", wait_until="load")
                    page.wait_for_function("window.__open === true", timeout=15_000)
                    painted = _measure(page, server, jpeg, count, rate, 1)
                    rows.append(_stats("minimal (/frames → Blob → <img>)", painted, count))
                    log(f"  {rows[-1]}")
                finally:
                    browser.close()
        finally:
            server.stop()
    for r in rows:
        r["scenario"] = "browser"
        r["rate"] = rate
    return rows
