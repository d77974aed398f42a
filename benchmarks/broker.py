"""Scale-out benchmark (issue 13 item 4): what the broker hop costs, and several nodes at once.

Every node is a ``framecast`` process (``python -m benchmarks.broker node``) sharing a
real ``redis-server`` started for the run; viewers are :mod:`benchmarks.clients`
processes. Two cases, each with its baseline in the same run:

- **hop**: 500 KB JPEGs at 10 images/s published on node A; viewers of A (``/frames``, the
  whole JPEG) and viewers of node B. The broker's cost is B's latency minus A's (p50, p99;
  target: p99 added ≤ 10 ms on loopback).
- **nodes**: one publisher node and two edge nodes, each with its viewers (``/ws``) at
  1 image/s (target p99 < 1 s), then a single node without a broker with as many viewers as
  one of them: CPU per viewer of a node in a cluster vs of a single node.

    python benchmarks/broker.py             # full sizes (3 × 1000 viewers)
    python benchmarks/broker.py --quick     # 3 × 300 viewers
    python benchmarks/run.py --scenario broker

Prints a table and writes ``benchmarks/results/broker.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `framecast` importable
    _root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(_root), str(_root / "src")]

import psutil

from benchmarks.harness import ROOT, Proc, percentile
from benchmarks.report import table

__all__ = ["main", "run"]

RESULTS = ROOT / "benchmarks" / "results" / "broker.json"
#: issue 13's targets
HOP_P99_ADDED_MS = 10.0
NODES_P99_MS = 1000.0

_SIZES = {
    # level: (hop viewers per node, hop seconds, viewers per node, nodes seconds)
    "full": (10, 10.0, 1000, 10.0),
    "quick": (10, 5.0, 300, 6.0),
    "smoke": (2, 1.0, 4, 1.5),
}


# -- redis-server ----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A redis-server for the run on a free loopback port (no persistence); its URL."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="framecast-redis-") as folder:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", folder]
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not _pong(port):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis-server did not answer PING within 10 s")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.kill()  # by its own handle
            process.wait(10)


# -- one node (a child process) --------------------------------------------------------------
def node_main(argv: list[str]) -> None:
    """``python -m benchmarks.broker node [--broker URL]``: a framecast node that prints
    ``port P`` once it serves (and its broker link is up), then obeys ``run RATE SECONDS
    KIND SIZE`` (publish, as :mod:`benchmarks.targets` does), ``status`` and ``quit``."""
    from benchmarks.targets import FramecastTarget, run_schedule

    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    options = {"broker": args.broker} if args.broker else {}
    target = FramecastTarget(max_clients=5000, **options)
    port = target.start()
    deadline = time.monotonic() + 10
    while args.broker and target.server.status()["broker"] != "ok":
        if time.monotonic() > deadline:
            raise SystemExit("the broker link did not come up within 10 s")
        time.sleep(0.01)
    print(f"port {port}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "run":
            rate, seconds, kind, size = float(words[1]), float(words[2]), words[3], int(words[4])
            began = time.monotonic()
            published = run_schedule(target, rate, seconds, kind, size)
            print(f"done {published} {time.monotonic() - began:.6f}", flush=True)
        elif words[0] == "status":
            print("status " + json.dumps(target.server.status()), flush=True)
        elif words[0] in ("quit", "stop"):
            break
    target.stop()
    print("stopped", flush=True)


def _node(name: str, broker: str | None) -> tuple[Proc, int]:
    args = ["-m", "benchmarks.broker", "node", *(["--broker", broker] if broker else [])]
    proc = Proc(args, name)
    return proc, int(proc.expect("port", 30).split()[1])


def _viewers(name: str, port: int, path: str, n: int) -> list[Proc]:
    """``n`` viewers of ``path`` on ``port``, in processes of at most 250 connections."""
    procs, left, i = [], n, 0
    while left > 0:
        count = min(250, left)
        args = ["-m", "benchmarks.clients", "--port", str(port), "--path", path]
        procs.append(Proc([*args, "--n", str(count)], f"{name} viewers {i}"))
        left, i = left - count, i + 1
    return procs


def _connected(viewers: list[Proc]) -> int:
    return sum(int(v.expect("ready", 120).split()[1]) for v in viewers)


def _collect(viewers: list[Proc]) -> tuple[list[float], list[int]]:
    """Every latency (s) and each viewer's message count since the last report."""
    latencies: list[float] = []
    counts: list[int] = []
    for v in viewers:
        v.send("report")
        report = json.loads(v.expect("{", 60))
        latencies += report["latencies"]
        counts += [c["n"] for c in report["clients"]]
    return latencies, counts


def _ms(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else round(value * 1000, 2)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _publish(publisher: Proc, rate: float, seconds: float, kind: str, size: int) -> int:
    publisher.send(f"run {rate} {seconds} {kind} {size}")
    return int(publisher.expect("done", seconds * 3 + 30).split()[1])


def _close(*procs: Proc) -> None:
    for proc in procs:
        proc.send("quit")
    for proc in procs:
        proc.close(10)


# -- the cases -------------------------------------------------------------------------------
def hop(level: str, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Publish on A; viewers of A and of B get the same 500 KB JPEGs: B - A is the hop."""
    n, seconds, _, _ = _SIZES[level]
    rate, size = 10.0, 500_000
    rows: list[dict[str, Any]] = []
    with redis_server() as url:
        a, port_a = _node("node A", url)
        b, port_b = _node("node B", url)
        viewers_a = _viewers("A", port_a, "/frames", n)
        viewers_b = _viewers("B", port_b, "/frames", n)
        try:
            _connected(viewers_a + viewers_b)
            _publish(a, 2.0, 0.5, "bytes", size)  # warm-up: B has the stream, caches are hot
            time.sleep(0.5)
            _collect(viewers_a + viewers_b)
            published = _publish(a, rate, seconds, "bytes", size)
            time.sleep(1.0)
            seen = {}
            for label, viewers in (("A (publisher)", viewers_a), ("B (through Redis)", viewers_b)):
                latencies, counts = _collect(viewers)
                seen[label] = latencies
                rows.append(
                    {
                        "scenario": "broker",
                        "case": "hop",
                        "viewers_of": label,
                        "n": n,
                        "rate": rate,
                        "size": size,
                        "published": published,
                        "delivered_min": round(min(counts) / published, 3) if counts else 0,
                        "p50_ms": _ms(latencies, 50),
                        "p99_ms": _ms(latencies, 99),
                    }
                )
                row = rows[-1]
                log(f"  hop, viewers of {label}: p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms")
        finally:
            _close(a, b, *viewers_a, *viewers_b)
    a_row, b_row = rows
    for q in ("p50", "p99"):
        if a_row[f"{q}_ms"] is not None and b_row[f"{q}_ms"] is not None:
            b_row[f"added_{q}_ms"] = round(b_row[f"{q}_ms"] - a_row[f"{q}_ms"], 2)
    added = b_row.get("added_p99_ms")
    b_row["target"] = f"added p99 ≤ {HOP_P99_ADDED_MS:g} ms"
    b_row["ok"] = added is not None and added <= HOP_P99_ADDED_MS
    return rows


def nodes(level: str, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Three nodes × N viewers at 1 image/s through one Redis, then one node alone."""
    _, _, n, seconds = _SIZES[level]
    rate = 1.0
    rows: list[dict[str, Any]] = []
    with redis_server() as url:
        started = [_node(f"node {i}", url) for i in range(3)]
        viewers = [_viewers(f"node {i}", port, "/ws", n) for i, (_, port) in enumerate(started)]
        everyone = [v for group in viewers for v in group]
        try:
            connected = _connected(everyone)
            publisher = started[0][0]
            _publish(publisher, 2.0, 1.0, "notify", 0)  # warm-up
            time.sleep(1.0)
            _collect(everyone)
            processes = [psutil.Process(proc.popen.pid) for proc, _ in started]
            cpu0 = [_cpu(p) for p in processes]
            began = time.monotonic()
            published = _publish(publisher, rate, seconds, "notify", 0)
            time.sleep(1.5)
            elapsed = time.monotonic() - began
            cpu = [(_cpu(p) - c) / elapsed * 100 for p, c in zip(processes, cpu0, strict=True)]
            every: list[float] = []
            for i, group in enumerate(viewers):
                latencies, counts = _collect(group)
                every += latencies
                rows.append(
                    {
                        "scenario": "broker",
                        "case": "nodes",
                        "viewers_of": "node 0 (publisher)" if i == 0 else f"node {i} (edge)",
                        "n": n,
                        "rate": rate,
                        "published": published,
                        "delivered_min": round(min(counts) / published, 3) if counts else 0,
                        "p50_ms": _ms(latencies, 50),
                        "p99_ms": _ms(latencies, 99),
                        "cpu_pct": round(cpu[i], 1),
                        "cpu_pct_per_1000_viewers": round(cpu[i] / n * 1000, 2),
                    }
                )
                row = rows[-1]
                log(f"  nodes, {row['viewers_of']}: p99 {row['p99_ms']} ms, cpu {cpu[i]:.1f} %")
            p99 = _ms(every, 99)
            rows.append(
                {
                    "scenario": "broker",
                    "case": "nodes",
                    "viewers_of": "all 3 nodes",
                    "n": connected,
                    "rate": rate,
                    "published": published,
                    "p50_ms": _ms(every, 50),
                    "p99_ms": p99,
                    "target": f"p99 < {NODES_P99_MS:g} ms",
                    "ok": p99 is not None and p99 < NODES_P99_MS and connected == 3 * n,
                }
            )
        finally:
            _close(*(proc for proc, _ in started), *everyone)
    # The baseline: one node, no broker, as many viewers as one node of the cluster.
    single, port = _node("single node", None)
    alone = _viewers("single", port, "/ws", n)
    try:
        _connected(alone)
        _publish(single, 2.0, 1.0, "notify", 0)
        time.sleep(1.0)
        _collect(alone)
        process = psutil.Process(single.popen.pid)
        cpu0, began = _cpu(process), time.monotonic()
        published = _publish(single, rate, seconds, "notify", 0)
        time.sleep(1.5)
        cpu = (_cpu(process) - cpu0) / (time.monotonic() - began) * 100
        latencies, counts = _collect(alone)
        rows.append(
            {
                "scenario": "broker",
                "case": "nodes",
                "viewers_of": "single node (no broker)",
                "n": n,
                "rate": rate,
                "published": published,
                "delivered_min": round(min(counts) / published, 3) if counts else 0,
                "p50_ms": _ms(latencies, 50),
                "p99_ms": _ms(latencies, 99),
                "cpu_pct": round(cpu, 1),
                "cpu_pct_per_1000_viewers": round(cpu / n * 1000, 2),
            }
        )
        log(f"  nodes: single node: p99 {rows[-1]['p99_ms']} ms, cpu {cpu:.1f} %")
    finally:
        _close(single, *alone)
    base = rows[-1]["cpu_pct_per_1000_viewers"]
    for row in rows[:3]:
        if base:
            row["cpu_vs_single"] = round(row["cpu_pct_per_1000_viewers"] / base, 2)
    return rows


def run(level: str, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Both cases; one row per group of viewers."""
    return hop(level, log) + nodes(level, log)


COLUMNS = [
    ("case", "case"),
    ("viewers_of", "viewers of"),
    ("n", "viewers"),
    ("rate", "img/s"),
    ("published", "published"),
    ("delivered_min", "delivered min"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("added_p99_ms", "added p99 ms"),
    ("cpu_pct", "cpu %"),
    ("cpu_pct_per_1000_viewers", "cpu % / 1000 viewers"),
    ("cpu_vs_single", "vs single node"),
    ("ok", "target met"),
]


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["node"]:
        node_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description="framecast scale-out benchmark")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    level = "smoke" if args.smoke else "quick" if args.quick else "full"
    rows = run(level)
    print(table(rows, COLUMNS))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"level": level, "results": rows}, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
