"""framecast's benchmark suite against the alternatives and the machine's limit.

    python benchmarks/run.py                      # every scenario, full sizes (~13 min on 2 cores)
    python benchmarks/run.py --quick              # every scenario, small sizes (~5 min)
    python benchmarks/run.py --scenario notify    # one scenario (repeatable)

Prints a table per scenario, writes ``benchmarks/results/<name>.json`` and copies the summary
to ``docs/benchmarks.json`` with a plot in ``docs/img/benchmarks.png`` (unless ``--no-docs``).
See ``docs/performance.md`` for what each scenario and baseline is.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `framecast` importable
    _root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(_root), str(_root / "src")]

from benchmarks import report
from benchmarks.harness import ROOT, Case, run_case

__all__ = ["SCENARIOS", "main", "run"]

FANOUT_IMPLS = ["framecast", "limit", "als", "socketio", "broadcast"]
OPTIONAL_IMPLS = ["framecast-uvloop"]  # only with --impl
LEVELS = ("full", "quick", "smoke")  # smoke: tiny sizes, for tests/test_benchmarks_smoke.py


def _pick(level: str, full: Any, quick: Any, smoke: Any) -> Any:
    return {"full": full, "quick": quick, "smoke": smoke}[level]


def notify_cases(level: str, impls: list[str]) -> list[Case]:
    """Scenario 1: ``/ws`` new_image to N clients at several rates."""
    ns = _pick(level, [1, 10, 100, 1000], [10, 100, 1000], [3])
    rates = _pick(level, [1.0, 10.0, 30.0], [10.0], [20.0])
    seconds = _pick(level, 4.0, 2.0, 0.5)
    drain = _pick(level, 1.0, 1.0, 0.3)
    cases = []
    for n in ns:
        for impl in impls:
            # 1000 viewers: the target is 1 image/s (30/s is 30 000 messages/s); at 10/s
            # framecast's CPU per message is compared with the minimal server's.
            at = rates
            if n >= 1000:
                at = [1.0, 10.0] if level == "full" or impl in ("framecast", "limit") else [1.0]
            cases.append(Case("notify", impl, n, at, seconds, drain=drain))
    return cases


#: Images per second offered in the saturation case (100 clients × 500 KB × 200/s = 10 GB/s).
SATURATE = 200.0


def bytes_cases(level: str, impls: list[str]) -> list[Case]:
    """Scenario 2: ``/frames`` binary JPEG of 50 KB, 500 KB, 2 MB to 10 and 100 clients.

    500 KB to 100 clients is also offered at 200 images/s, far more than loopback carries,
    to measure each server's ceiling: latest-wins servers drop, the others buffer."""
    sizes = _pick(level, [50_000, 500_000, 2_000_000], [500_000], [50_000])
    ns = _pick(level, [10, 100], [10, 100], [2])
    seconds = _pick(level, 3.0, 2.0, 0.5)
    drain = _pick(level, 1.5, 1.5, 0.3)
    cases = []
    for size in sizes:
        rate = 10.0 if size >= 2_000_000 else 30.0
        for n in ns:
            for impl in impls:
                path = "/frames" if impl.startswith("framecast") else None
                rates = [rate]
                if size == 500_000 and n >= 100 and level != "smoke":
                    rates.append(SATURATE)  # more than the machine can send: the ceiling
                cases.append(
                    Case("bytes", impl, n, rates, seconds, "bytes", size, path=path, drain=drain)
                )
    return cases


def stall_cases(level: str, impls: list[str]) -> list[Case]:
    """Scenario 3: one client stops reading among 50 healthy ones (and the same without it).

    Each notification carries ~100 KB of metadata (the x and y profiles of a 2560×2160
    camera) at 20 images/s, so the stalled socket's buffers fill within seconds."""
    n = _pick(level, 50, 50, 3)
    seconds = _pick(level, 10.0, 5.0, 0.5)
    drain = _pick(level, 1.5, 1.5, 0.3)
    cases = []
    for impl in impls:
        for stalled in (0, 1):
            label = f"{impl}{' +stalled' if stalled else ''}"
            cases.append(
                Case(
                    "stall",
                    impl,
                    n,
                    [20.0],
                    seconds,
                    size=100_000,
                    stalled=stalled,
                    label=label,
                    drain=drain,
                )
            )
    return cases


def startstop_cases(level: str, impls: list[str]) -> list[Case]:
    """Scenario 6: time to serve after start, time to stop with 10 cooperative clients."""
    n = _pick(level, 10, 10, 2)
    runs = _pick(level, 3, 1, 1)
    return [
        Case("startstop", impl, n, [10.0], 0.3, drain=0.2) for impl in impls for _ in range(runs)
    ]


#: Streams scenario: this many streams × this many viewers each, at this rate per stream.
STREAMS, VIEWERS_PER_STREAM, RATE_PER_STREAM = 16, 20, 10.0


def streams_cases(level: str, impls: list[str]) -> list[Case]:
    """Scenario 7: 16 streams × 10 images/s × 20 /ws viewers vs one stream, same totals.

    Both cases carry the same load (320 viewers, 160 images/s, 51 200 notifications/s):
    spread over 16 streams (``publish(..., stream=NAME)``, clients on ``/s/NAME/ws``),
    then all on one stream (``/s/s00/ws``). Only framecast has streams."""
    streams = _pick(level, STREAMS, STREAMS, 2)
    per = _pick(level, VIEWERS_PER_STREAM, VIEWERS_PER_STREAM, 2)
    rate = _pick(level, RATE_PER_STREAM, RATE_PER_STREAM, 10.0) * streams
    seconds = _pick(level, 5.0, 3.0, 0.5)
    drain = _pick(level, 1.0, 1.0, 0.3)
    n = streams * per
    return [
        Case("streams", "framecast", n, [rate], seconds, drain=drain, streams=count, label=label)
        for count, label in ((streams, f"{streams} streams"), (1, "1 stream"))
        if "framecast" in impls
    ]


def _fanout(build: Callable[[str, list[str]], list[Case]]) -> Callable[..., list[dict[str, Any]]]:
    def scenario(level: str, impls: list[str], log: Callable[[str], None]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for case in build(level, impls):
            results.extend(run_case(case, log=log))
        return results

    scenario.__doc__ = build.__doc__
    return scenario


def ingest_scenario(
    level: str, impls: list[str], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Scenario 4: stretch + encode vs the bare encoder (benchmarks/ingest.py), bsread rate."""
    from benchmarks import ingest_runner

    return ingest_runner.run(level, log)


def ingest_runner_rows(level: str) -> list[dict[str, Any]]:
    """Only the encode half of scenario 4 (benchmarks/ingest.py), for the smoke test."""
    from benchmarks import ingest_runner

    return ingest_runner.encode_rows(level, lambda _line: None)


def browser_scenario(
    level: str, impls: list[str], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Scenario 5: publish() → new image painted in headless Chromium."""
    from benchmarks import browser

    return browser.run(level, log)


def rawtiles_scenario(
    level: str, impls: list[str], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Scenario 8: a top-level raw tile (.npy, gzip) vs the JPEG tile of the same region."""
    from benchmarks import rawtiles

    return rawtiles.run(level, log)


def tiles_scenario(
    level: str, impls: list[str], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Scenario 9: /ws notify p99 at 10 images/s with and without a burst of tile requests."""
    from benchmarks import tiles_burst

    return tiles_burst.run(level, log)


def analysis_scenario(
    level: str, impls: list[str], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Scenario 10: stats of a 60 MP uint16 frame vs numpy; /ws p99 under analysis requests."""
    from benchmarks import analysis

    return analysis.run(level, log)


def broker_scenario(
    level: str, impls: list[str], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Scale-out through Redis: the broker hop's latency, 3 nodes × N viewers (broker.py)."""
    from benchmarks import broker

    return broker.run(level, log)


def push_scenario(level: str, impls: list[str], log: Callable[[str], None]) -> list[dict[str, Any]]:
    """A producer's pace: 20 pushes of a 1 MP PNG, nobody watching vs one viewer (push.py)."""
    from benchmarks import push

    return push.run(level, log)


def follow_scenario(
    level: str, impls: list[str], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Follow: a follower's cost to the server next to a /ws viewer's (follow.py)."""
    from benchmarks import follow

    return follow.run(level, log)


SCENARIOS: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "notify": _fanout(notify_cases),
    "bytes": _fanout(bytes_cases),
    "stall": _fanout(stall_cases),
    "ingest": ingest_scenario,
    "browser": browser_scenario,
    "startstop": _fanout(startstop_cases),
    "streams": _fanout(streams_cases),
    "rawtiles": rawtiles_scenario,
    "tiles": tiles_scenario,
    "analysis": analysis_scenario,
    "broker": broker_scenario,
    "push": push_scenario,
    "follow": follow_scenario,
}


def run(
    scenarios: list[str],
    *,
    level: str = "full",
    impls: list[str] | None = None,
    log: Callable[[str], None] = print,
    base: dict[str, Any] | None = None,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run ``scenarios``; returns the whole result document (also what is written as JSON).

    ``base``: an earlier document whose other scenarios are kept (``--merge``);
    ``checkpoint`` is called with the document after each scenario."""
    doc: dict[str, Any] = base or {
        "command": "python benchmarks/run.py" + ("" if level == "full" else f" --{level}"),
        "level": level,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": _machine(),
        "scenarios": {},
    }
    for name in scenarios:
        log(f"== {name}: {(SCENARIOS[name].__doc__ or '').strip().splitlines()[0]}")
        t = time.monotonic()
        try:
            results = SCENARIOS[name](level, impls or FANOUT_IMPLS, log)
        except Exception as exc:  # a scenario that cannot run is reported, the others still run
            results = [{"scenario": name, "error": f"{type(exc).__name__}: {exc}"}]
            log(f"  {name} failed: {exc}")
        doc["scenarios"][name] = {"seconds": round(time.monotonic() - t, 1), "results": results}
        doc["summary"] = report.summary(doc)
        if checkpoint is not None:
            checkpoint(doc)
    doc["summary"] = report.summary(doc)
    return doc


def _machine() -> dict[str, Any]:
    import os

    import psutil

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="framecast benchmarks (see docs/performance.md)")
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds (tests)")
    parser.add_argument(
        "--scenario", action="append", choices=sorted(SCENARIOS), help="run only this scenario"
    )
    parser.add_argument(
        "--impl",
        action="append",
        choices=FANOUT_IMPLS + OPTIONAL_IMPLS,
        help="only these servers (fan-out)",
    )
    parser.add_argument("--name", default=None, help="results file name (default: quick/full)")
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument(
        "--publish", action="store_true", help="copy a results file to docs/ with its plot"
    )
    parser.add_argument(
        "--merge", action="store_true", help="keep the other scenarios of the results file"
    )
    args = parser.parse_args(argv)
    if (args.markdown or args.publish) and not args.scenario:  # an existing results file
        name = args.name or ("quick" if args.quick else "full")
        doc = json.loads((ROOT / "benchmarks" / "results" / f"{name}.json").read_text())
        doc["summary"] = report.summary(doc)
        if args.markdown:
            print(report.markdown(doc))
        if args.publish:
            _publish(doc)
        return 0
    logging.getLogger("framecast").setLevel(logging.ERROR)  # in-process servers: no chatter
    names = args.scenario or list(SCENARIOS)
    level = "smoke" if args.smoke else "quick" if args.quick else "full"
    name = args.name or level
    out = ROOT / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    base = json.loads(out.read_text()) if args.merge and out.exists() else None

    def checkpoint(doc: dict[str, Any]) -> None:
        out.write_text(json.dumps(doc, indent=1))

    doc = run(names, level=level, impls=args.impl, base=base, checkpoint=checkpoint)
    print()
    print(report.tables(doc))
    out.write_text(json.dumps(doc, indent=1))
    print(f"\nwrote {out.relative_to(ROOT)}")
    if not args.no_docs:
        _publish(doc)
    return 0


def _publish(doc: dict[str, Any]) -> None:
    """Copy the results to docs/benchmarks.json and draw docs/img/benchmarks.png."""
    docs = ROOT / "docs"
    (docs / "img").mkdir(parents=True, exist_ok=True)
    (docs / "benchmarks.json").write_text(json.dumps(doc, indent=1) + "\n")
    report.plot(doc, docs / "img" / "benchmarks.png")
    print("wrote docs/benchmarks.json, docs/img/benchmarks.png")


if __name__ == "__main__":
    sys.exit(main())
