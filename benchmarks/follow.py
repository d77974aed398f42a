"""The follow scenario: what a follower costs the server, next to what a ``/ws`` viewer costs.

N minimal WebSocket clients (:mod:`benchmarks.clients`, in their own process) are connected to
``/ws`` of an ``ImageServer`` running in this process. Two runs of the same length and rate:

* **viewers**: small frames are published at the rate; each client gets every ``new_image``;
* **followers**: one presenter (a WebSocket client on its own thread here) sends a new view at
  the rate — what a presenting page does while its user zooms and pans (docs/together.md) —
  and each client gets every ``presenter`` message.

Each message carries its send time (``bench_t``), so the clients measure the latency; the cost
is the CPU time of the server's event-loop thread (read from the kernel by thread id) divided
by the messages the clients received: µs of the loop per message per client.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import psutil

from benchmarks.harness import Proc, percentile
from benchmarks.wire import now

__all__ = ["run"]


def _loop_cpu(native_id: int) -> float:
    """CPU seconds (user + system) the thread ``native_id`` of this process has used."""
    for thread in psutil.Process().threads():
        if thread.id == native_id:
            return float(thread.user_time + thread.system_time)
    raise RuntimeError("the server's loop thread is gone")


def _present(port: int, rate: float, seconds: float, started: threading.Event) -> None:
    """The presenter: a new view every 1/rate s for ``seconds``, each stamped."""
    import aiohttp

    async def main() -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"http://127.0.0.1:{port}/ws") as ws,
        ):
            await ws.send_str(json.dumps({"type": "present", "view": "zoom=1.000"}))
            while True:  # the answer: presenting
                message = await ws.receive(timeout=10)
                if '"presenting"' in str(message.data):
                    break
            started.set()
            count = max(1, round(rate * seconds))
            t0 = time.monotonic()
            for i in range(count):
                await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
                view = f"zoom={1 + i % 7:.3f}&x=0.{i % 100:02d}000&y=0.50000&bench_t={now()}"
                await ws.send_str(json.dumps({"type": "present", "view": view}))
            await asyncio.sleep(0.3)  # the last view reaches everyone before the socket closes

    asyncio.run(main())


def _one(kind: str, n: int, rate: float, seconds: float) -> dict[str, Any]:
    from framecast import ImageServer

    with tempfile.TemporaryDirectory(prefix="framecast-bench-") as work:
        server = ImageServer(
            work_folder=work, host="127.0.0.1", port=0, displayed_address="ip:127.0.0.1"
        )
        server.start()
        clients = Proc(
            ["-m", "benchmarks.clients", "--port", str(server.port), "--n", str(n)], "clients"
        )
        try:
            clients.expect("ready", 60)
            thread = server._thread
            assert thread is not None and thread.native_id is not None
            image = np.zeros((48, 64), np.uint8)
            presenter: threading.Thread | None = None
            if kind == "followers":
                started = threading.Event()
                presenter = threading.Thread(
                    target=_present, args=(server.port, rate, seconds, started), daemon=True
                )
                presenter.start()
                started.wait(30)
            clients.send("report")  # from here on: what this run costs
            clients.expect("{", 30)
            cpu0 = _loop_cpu(thread.native_id)
            if presenter is not None:
                presenter.join(seconds * 3 + 30)
            else:
                count = max(1, round(rate * seconds))
                t0 = time.monotonic()
                for i in range(count):
                    time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
                    server.publish(image, metadata={"bench_t": now(), "i": i})
                time.sleep(0.3)
            cpu = _loop_cpu(thread.native_id) - cpu0
            clients.send("report")
            report = json.loads(clients.expect("{", 30))
        finally:
            clients.close()
            server.stop()
    received = sum(c["n"] for c in report["clients"])
    latencies = [x * 1000 for x in report["latencies"]]
    return {
        "clients": kind,
        "n": n,
        "rate": rate,
        "received": received,
        "received_per_client": round(received / max(1, len(report["clients"])), 1),
        "loop_cpu_s": round(cpu, 3),
        "us_per_message": round(cpu / received * 1e6, 1) if received else None,
        "p50_ms": _rounded(percentile(latencies, 50)),
        "p99_ms": _rounded(percentile(latencies, 99)),
    }


def _rounded(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def run(level: str, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    ns = {"full": [50, 200], "quick": [50], "smoke": [3]}[level]
    rate = {"full": 10.0, "quick": 10.0, "smoke": 10.0}[level]
    seconds = {"full": 5.0, "quick": 3.0, "smoke": 0.5}[level]
    rows = []
    for n in ns:
        for kind in ("viewers", "followers"):
            row = {"scenario": "follow", **_one(kind, n, rate, seconds)}
            rows.append(row)
            log("  " + ", ".join(f"{k}={v}" for k, v in row.items() if k != "scenario"))
    return rows
