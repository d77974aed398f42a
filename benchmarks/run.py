"""framecast's benchmark suite against the alternatives and the machine's limit.

    python benchmarks/run.py                      # every scenario, full sizes (~15 min)
    python benchmarks/run.py --quick              # every scenario, small sizes (~3 min)
    python benchmarks/run.py --scenario notify    # one scenario (repeatable)

Prints a table per scenario, writes ``benchmarks/results/<name>.json`` and copies the summary
to ``docs/benchmarks.json`` with a plot in ``docs/img/benchmarks.png`` (unless ``--no-docs``).
See ``docs/performance.md`` for what each scenario and baseline is.
"""

from __future__ import annotations

import argparse
import json
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


def notify_cases(quick: bool, impls: list[str]) -> list[Case]:
    """Scenario 1: ``/ws`` new_image to N clients at several rates."""
    ns = [10, 100] if quick else [1, 10, 100, 1000]
    rates = [10.0] if quick else [1.0, 10.0, 30.0]
    seconds = 2.0 if quick else 4.0
    return [
        Case("notify", impl, n, rates if n < 1000 else [1.0, 10.0][: len(rates)], seconds)
        for n in ns
        for impl in impls
    ]


def bytes_cases(quick: bool, impls: list[str]) -> list[Case]:
    """Scenario 2: ``/frames`` binary JPEG of 50 KB, 500 KB, 2 MB to 10 and 100 clients."""
    sizes = [500_000] if quick else [50_000, 500_000, 2_000_000]
    ns = [10] if quick else [10, 100]
    seconds = 2.0 if quick else 3.0
    cases = []
    for size in sizes:
        rate = 10.0 if size >= 2_000_000 else 30.0
        for n in ns:
            for impl in impls:
                cases.append(
                    Case(
                        "bytes",
                        impl,
                        n,
                        [rate],
                        seconds,
                        kind="bytes",
                        size=size,
                        path="/frames" if impl == "framecast" else None,
                        drain=1.5,
                    )
                )
    return cases


def stall_cases(quick: bool, impls: list[str]) -> list[Case]:
    """Scenario 3: one client stops reading among 50 healthy ones (and the same without it)."""
    seconds = 4.0 if quick else 8.0
    cases = []
    for impl in impls:
        for stalled in (0, 1):
            cases.append(
                Case(
                    "stall",
                    impl,
                    50,
                    [20.0],
                    seconds,
                    size=50_000,
                    stalled=stalled,
                    label=f"{impl}{' +stalled' if stalled else ''}",
                    drain=1.5,
                )
            )
    return cases


def startstop_cases(quick: bool, impls: list[str]) -> list[Case]:
    """Scenario 6: time to serve after start, time to stop with 10 cooperative clients."""
    return [
        Case("startstop", impl, 10, [10.0], 0.5, label=impl)
        for impl in impls
        for _ in range(1 if quick else 3)
    ]


def _fanout(build: Callable[[bool, list[str]], list[Case]]) -> Callable[..., list[dict[str, Any]]]:
    def scenario(quick: bool, impls: list[str], log: Callable[[str], None]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for case in build(quick, impls):
            results.extend(run_case(case, log=log))
        return results

    scenario.__doc__ = build.__doc__
    return scenario


def ingest_scenario(
    quick: bool, impls: list[str], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Scenario 4: stretch + encode vs the bare encoder (benchmarks/ingest.py), bsread rate."""
    from benchmarks import ingest_runner

    return ingest_runner.run(quick, log)


def browser_scenario(
    quick: bool, impls: list[str], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Scenario 5: publish() → new image painted in headless Chromium."""
    from benchmarks import browser

    return browser.run(quick, log)


SCENARIOS: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "notify": _fanout(notify_cases),
    "bytes": _fanout(bytes_cases),
    "stall": _fanout(stall_cases),
    "ingest": ingest_scenario,
    "browser": browser_scenario,
    "startstop": _fanout(startstop_cases),
}


def run(
    scenarios: list[str],
    *,
    quick: bool,
    impls: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``scenarios``; returns the whole result document (also what is written as JSON)."""
    doc: dict[str, Any] = {
        "command": "python benchmarks/run.py" + (" --quick" if quick else ""),
        "quick": quick,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": _machine(),
        "scenarios": {},
    }
    for name in scenarios:
        log(f"== {name}: {(SCENARIOS[name].__doc__ or '').strip().splitlines()[0]}")
        t = time.monotonic()
        try:
            results = SCENARIOS[name](quick, impls or FANOUT_IMPLS, log)
        except Exception as exc:  # a scenario that cannot run is reported, the others still run
            results = [{"scenario": name, "error": f"{type(exc).__name__}: {exc}"}]
            log(f"  {name} failed: {exc}")
        doc["scenarios"][name] = {"seconds": round(time.monotonic() - t, 1), "results": results}
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
    parser.add_argument(
        "--scenario", action="append", choices=sorted(SCENARIOS), help="run only this scenario"
    )
    parser.add_argument(
        "--impl", action="append", choices=FANOUT_IMPLS, help="only these servers (fan-out)"
    )
    parser.add_argument("--name", default=None, help="results file name (default: quick/full)")
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/")
    args = parser.parse_args(argv)
    names = args.scenario or list(SCENARIOS)
    doc = run(names, quick=args.quick, impls=args.impl)
    print()
    print(report.tables(doc))
    name = args.name or ("quick" if args.quick else "full")
    out = ROOT / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1))
    print(f"\nwrote {out.relative_to(ROOT)}")
    if not args.no_docs:
        docs = ROOT / "docs"
        (docs / "img").mkdir(parents=True, exist_ok=True)
        (docs / "benchmarks.json").write_text(json.dumps(doc, indent=1))
        report.plot(doc, docs / "img" / "benchmarks.png")
        print("wrote docs/benchmarks.json, docs/img/benchmarks.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
