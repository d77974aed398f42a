"""Runs one benchmark case: a server process, client processes, the measurements.

A case starts the server under test (:mod:`benchmarks.targets`) in one process and the load
clients (:mod:`benchmarks.clients`) in others, waits until every client is connected, then
for each publishing rate tells the server to publish and collects what the clients saw.
Server CPU and memory are read from outside the server process with psutil.
Every wait has a deadline; a server whose memory passes ``max_rss_mb`` is killed and the
case reported as such.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

__all__ = ["Case", "Proc", "percentile", "run_case"]

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class Case:
    """One server with ``n`` clients, measured at each rate in ``rates``."""

    scenario: str
    impl: str
    n: int
    rates: list[float]
    seconds: float
    kind: str = "notify"  # or "bytes"
    size: int = 0  # notify: metadata bytes; bytes: JPEG bytes
    stalled: int = 0
    path: str | None = None  # framecast: /ws or /frames
    drain: float = 1.0  # seconds to wait for the tail after the last publish
    max_rss_mb: float = 3000.0
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    streams: int = 0  # framecast: spread the clients and the rate over this many streams


class Proc:
    """A child process spoken to by lines on stdin/stdout, each read with a deadline."""

    def __init__(self, args: list[str], name: str) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src")])
        self.name = name
        self.popen = subprocess.Popen(
            [PYTHON, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: list[str] = []
        threading.Thread(
            target=self._pump, args=(self.popen.stdout, self.lines), daemon=True
        ).start()
        threading.Thread(target=self._collect_errors, daemon=True).start()

    @staticmethod
    def _pump(stream: Any, out: queue.Queue[str]) -> None:
        for line in stream:
            out.put(line)
        out.put("")

    def _collect_errors(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            if len(self.errors) < 200:
                self.errors.append(line.rstrip())

    def send(self, line: str) -> None:
        assert self.popen.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            self.popen.stdin.write(line + "\n")
            self.popen.stdin.flush()

    def expect(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no '{prefix}' within {timeout:.0f} s")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line == "":
                tail = "\n".join(self.errors[-8:])
                raise RuntimeError(f"{self.name} exited before '{prefix}':\n{tail}")
            if line.startswith(prefix):
                return line.strip()

    def close(self, timeout: float = 5.0) -> None:
        if self.popen.poll() is None:
            self.send("stop")
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()  # only this child, by its own handle
                self.popen.wait(5)
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.close()


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank) of ``values``, or ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class _Sampler:
    """Samples the server's RSS every 50 ms while a rate runs."""

    def __init__(self, proc: psutil.Process, max_rss_mb: float, on_limit: Any) -> None:
        self.proc = proc
        self.max_rss_mb = max_rss_mb
        self.on_limit = on_limit
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                rss = self.proc.memory_info().rss / 2**20
            except psutil.Error:
                return
            self.samples.append(rss)
            if rss > self.max_rss_mb:
                self.on_limit()
                return

    def stop(self) -> list[float]:
        self._stop.set()
        self._thread.join(2)
        return self.samples


def _client_split(n: int) -> list[int]:
    procs = 1 if n <= 50 else 2 if n <= 200 else 4
    base, extra = divmod(n, procs)
    return [base + (1 if i < extra else 0) for i in range(procs) if base or i < extra]


def _paths(case: Case, path: str, proc: int, procs: int) -> list[str]:
    """The paths client process ``proc`` of ``procs`` connects to: ``path``, or with streams
    its share of the streams' ``/s/NAME/ws`` (every stream gets the same number of clients
    when the streams divide evenly among the processes, or when there are fewer of them)."""
    if not case.streams:
        return [path]
    from benchmarks.targets import stream_name

    every = [f"/s/{stream_name(k)}{path}" for k in range(case.streams)]
    return every[proc::procs] if case.streams >= procs else every


def run_case(case: Case, *, log: Any = print) -> list[dict[str, Any]]:
    """Measure ``case`` at each of its rates; one result dict per rate."""
    args = ["-m", "benchmarks.targets", case.impl]
    if case.path:
        args += ["--path", case.path]
    for key, value in case.extra.items():
        if value is True:
            args.append(f"--{key}")
    if case.streams:
        args += ["--streams", str(case.streams)]
    server = Proc(args, f"{case.impl} server")
    clients: list[Proc] = []
    base = {"scenario": case.scenario, "impl": case.impl, "n": case.n, "kind": case.kind}
    base |= {"size": case.size, "stalled": case.stalled, "label": case.label or case.impl}
    results: list[dict[str, Any]] = []
    killed = threading.Event()
    try:
        words = server.expect("port", 30).split()
        port, proto, path = int(words[1]), words[2], words[3]
        start_s = float(words[4])
        if proto == "raw":
            path = "-"
        sizes = _client_split(case.n + case.stalled)
        stalled_left = case.stalled
        for i, count in enumerate(sizes):
            stalled = min(stalled_left, count)
            stalled_left -= stalled
            paths = _paths(case, path, i, len(sizes))
            clients.append(
                Proc(
                    [
                        "-m",
                        "benchmarks.clients",
                        "--port",
                        str(port),
                        "--proto",
                        proto,
                        *[word for p in paths for word in ("--path", p)],
                        "--n",
                        str(count),
                        "--stalled",
                        str(stalled),
                    ],
                    f"clients {i}",
                )
            )
        connected = sum(int(c.expect("ready", 90).split()[1]) for c in clients)
        time.sleep(0.3)  # let the server register the last upgrades
        ps = psutil.Process(server.popen.pid)

        def over_limit() -> None:
            killed.set()
            server.popen.kill()

        for rate in case.rates:
            cpu0 = ps.cpu_times()
            rss0 = ps.memory_info().rss / 2**20
            sampler = _Sampler(ps, case.max_rss_mb, over_limit)
            t0 = time.monotonic()
            streams = f" {case.streams}" if case.streams else ""
            server.send(f"run {rate} {case.seconds} {case.kind} {case.size}{streams}")
            try:
                done = server.expect("done", case.seconds * 3 + 30).split()
            except (RuntimeError, TimeoutError):
                if killed.is_set():
                    samples = sampler.stop()
                    results.append(
                        base
                        | {
                            "rate": rate,
                            "error": f"server killed: RSS over {case.max_rss_mb:.0f} MB",
                            "rss_max_mb": max(samples, default=rss0),
                        }
                    )
                    return results
                raise
            published, seconds = int(done[1]), float(done[2])
            server_counters = json.loads(" ".join(done[3:])) if len(done) > 3 else {}
            time.sleep(case.drain)
            elapsed = time.monotonic() - t0
            cpu1 = ps.cpu_times()
            samples = sampler.stop()
            rss1 = ps.memory_info().rss / 2**20
            reports = []
            for c in clients:
                c.send("report")
                reports.append(json.loads(c.expect("{", 60)))
            results.append(
                base
                | _summarise(reports, published, seconds, connected, case)
                | {
                    "rate": rate,
                    "server_cpu_pct": round(
                        100 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / elapsed, 1
                    ),
                    "server_cpu_s": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 3),
                    "rss_start_mb": round(rss0, 1),
                    "rss_end_mb": round(rss1, 1),
                    "rss_max_mb": round(max([rss0, rss1, *samples]), 1),
                    "start_s": round(start_s, 4),
                }
                | ({"server_counters": server_counters} if server_counters else {})
            )
            log(_one_line(results[-1]))
        server.send("quit")
        stop_s = float(server.expect("stopped", 20).split()[1])
        peak = _peak_rss_mb(server.popen.pid)
        for r in results:
            r["stop_s"] = round(stop_s, 4)
            r["peak_rss_mb"] = round(peak, 1) if peak else r["rss_max_mb"]
    except (RuntimeError, TimeoutError) as exc:
        results.append(base | {"error": str(exc).splitlines()[0]})
        log(f"  {case.impl}: {exc}")
    finally:
        for c in clients:
            c.close()
        server.close()
    return results


def _summarise(
    reports: list[dict[str, Any]], published: int, seconds: float, connected: int, case: Case
) -> dict[str, Any]:
    healthy = [c for r in reports for c in r["clients"]]
    stalled = [c for r in reports for c in r["stalled"]]
    latencies = [x for r in reports for x in r["latencies"]]
    # With streams, a client hears only its own stream's share of the images.
    per_client = published / case.streams if case.streams else published
    ratios = [c["n"] / per_client for c in healthy] if published else []
    total = sum(c["bytes"] for c in healthy)
    # Throughput over the time messages actually arrived (first to last, all clients): a
    # server that queues keeps delivering after the publisher stopped, and that counts.
    firsts = [c["first"] for c in healthy if c.get("n")]
    lasts = [c["last"] for c in healthy if c.get("n")]
    window = max(lasts) - min(firsts) if firsts else 0.0
    window = max(window, seconds * 0.5)  # a handful of messages: never divide by ~0

    def ms(q: float) -> float | None:
        value = percentile(latencies, q)
        return None if value is None else round(value * 1000, 3)

    out: dict[str, Any] = {
        "published": published,
        "seconds": round(seconds, 3),
        "connected": connected,
        "expected": case.n + case.stalled,
        "messages": len(latencies),
        "p50_ms": ms(50),
        "p99_ms": ms(99),
        "max_ms": round(max(latencies) * 1000, 3) if latencies else None,
        "delivered_mean": round(sum(ratios) / len(ratios), 4) if ratios else 0.0,
        "delivered_min": round(min(ratios), 4) if ratios else 0.0,
        "mb_s": round(total / 1e6 / window, 2) if window else 0.0,
    }
    if stalled:
        out["stalled_received"] = [c["n"] for c in stalled]
        out["stalled_closed"] = sum(1 for c in stalled if c["closed"])
    return out


def _one_line(r: dict[str, Any]) -> str:
    return (
        f"  {r['label']:<16} n={r['n']:<5} rate={r['rate']:<5g} p50={r.get('p50_ms')} ms "
        f"p99={r.get('p99_ms')} ms delivered={r.get('delivered_mean')} "
        f"MB/s={r.get('mb_s')} cpu={r.get('server_cpu_pct')}% rss={r.get('rss_max_mb')} MB"
    )


def as_dict(case: Case) -> dict[str, Any]:
    return asdict(case)
