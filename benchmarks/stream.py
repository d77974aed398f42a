"""Scenario 4b: a bsread stream into framecast at increasing rates.

The sender is framecast's own stand-alone bsread simulator (``framecast simulate``: 640×480
uint16 frames with scalar metadata and x/y profiles, PUSH) in its own process; the server
under test is an ``ImageServer`` with ``zmq=`` in this process, with one ``/ws`` viewer
connected (so every frame it keeps is stretched, encoded and fanned out). A rate is
*sustained* when at least 95 % of the frames sent are published and the published rate
(first to last frame, read from the server's counters) is at least 90 % of the rate asked;
the highest sustained published rate is reported. The sender is Python too: at high rates it
is the sender, not the server, that falls short, which the published rate shows.
"""

from __future__ import annotations

import socket
import tempfile
import time
from collections.abc import Callable
from typing import Any

from benchmarks.harness import Proc

__all__ = ["run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _one_rate(rate: float, seconds: float) -> dict[str, Any]:
    from framecast import ImageServer

    port = _free_port()
    count = max(1, round(rate * seconds))
    with tempfile.TemporaryDirectory(prefix="framecast-bench-") as work:
        server = ImageServer(
            work_folder=work,
            host="127.0.0.1",
            port=0,
            displayed_address="ip:127.0.0.1",
            zmq=f"tcp://127.0.0.1:{port}",
        )
        server.start()
        viewer = Proc(
            ["-m", "benchmarks.clients", "--port", str(server.port), "--n", "1"], "viewer"
        )
        sender: Proc | None = None
        try:
            viewer.expect("ready", 30)
            before = server.status()["frames_published"]
            sender = Proc(
                [
                    "-m", "framecast", "simulate", "--port", str(port),
                    "--rate", str(rate), "-n", str(count),
                ],
                "bsread sender",
            )  # fmt: skip
            t0 = time.monotonic()
            first = last = None  # when the first and the last new frame were published
            seen = before
            deadline = t0 + seconds * 3 + 20
            quiet_since = None
            while time.monotonic() < deadline:
                now = time.monotonic()
                count_now = server.status()["frames_published"]
                if count_now > seen:
                    seen, last, quiet_since = count_now, now, None
                    first = first or now
                elif sender.popen.poll() is not None:
                    quiet_since = quiet_since or now
                    if now - quiet_since > 1.0:
                        break
                time.sleep(0.02)
            if sender.popen.poll() is None:
                sender.popen.kill()
            elapsed = (last - first) if first and last and last > first else 0.0
            published = seen - before
        finally:
            if sender is not None:
                sender.close()
            viewer.close()
            server.stop()
    return {
        "source": "bsread 640×480 uint16 (framecast simulate)",
        "rate": rate,
        "sent": count,
        "published": published,
        "published_ratio": round(published / count, 3),
        "published_per_s": round((published - 1) / elapsed, 1) if elapsed else None,
        "seconds": round(elapsed, 2),
    }


def run(level: str, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    rates = {"full": [25.0, 50.0, 100.0, 200.0, 400.0], "quick": [50.0, 200.0], "smoke": [20.0]}
    seconds = {"full": 4.0, "quick": 2.0, "smoke": 0.5}[level]
    rows = []
    best = 0.0
    for rate in rates[level]:
        row = _one_rate(rate, seconds)
        row["scenario"] = "ingest"
        rows.append(row)
        log("  " + ", ".join(f"{k}={v}" for k, v in row.items() if k != "scenario"))
        achieved = row["published_per_s"] or 0.0
        if row["published_ratio"] >= 0.95 and achieved >= 0.9 * rate:
            best = max(best, achieved)
        elif level != "smoke":
            break
    rows.append(
        {
            "scenario": "ingest",
            "source": "bsread: highest sustained rate (≥ 95 % published, ≥ 90 % of the rate)",
            "published_per_s": best,
        }
    )
    return rows
