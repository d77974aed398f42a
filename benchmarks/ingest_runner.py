"""Scenario 4 for the suite runner: calls the imaging engineer's ``benchmarks/ingest.py``.

That module owns the measurement (stretch + JPEG encode of 2560×2160 uint16 frames against
the bare simplejpeg encoder); this adapter only calls it and turns its result into rows and
target checks. When the module is not there yet, the scenario reports itself as skipped.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["encode_rows", "run"]


def _call(func: Callable[..., Any], level: str) -> Any:
    params = inspect.signature(func).parameters
    kwargs: dict[str, Any] = {}
    if "level" in params:
        kwargs["level"] = level
    elif "quick" in params:
        kwargs["quick"] = level != "full"
    if "smoke" in params:
        kwargs["smoke"] = level == "smoke"
    return func(**kwargs)


def _rows(result: Any) -> list[dict[str, Any]]:
    if isinstance(result, dict):
        rows = result.get("results") or result.get("rows")
        if isinstance(rows, list):
            return [dict(r) for r in rows if isinstance(r, dict)]
        return [dict(result)]
    if isinstance(result, list):
        return [dict(r) for r in result if isinstance(r, dict)]
    return [{"result": repr(result)}]


def run(level: str, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """The imaging engineer's encode benchmark, then the bsread stream (benchmarks/stream.py)."""
    from benchmarks import stream

    rows = encode_rows(level, log)
    try:
        rows += stream.run(level, log)
    except Exception as exc:  # reported, the rest of the suite still runs
        log(f"  bsread stream failed: {exc}")
        rows.append({"scenario": "ingest", "source": "bsread", "error": str(exc)})
    return rows


def _checks(result: Any) -> list[dict[str, Any]]:
    """The issue's ingest targets, from the module's ``ratio_vs_bare`` / ``targets_met``."""
    if not isinstance(result, dict) or "ratio_vs_bare" not in result:
        return []
    met = result.get("targets_met", {})
    fps = next(
        (r.get("fps") for r in result.get("results", []) if "stretch+encode" in str(r.get("case"))),
        None,
    )
    return [
        {
            "check": "ingest: stretch + encode ≥ 0.7× bare encoder frames/s",
            "value": f"{result['ratio_vs_bare']}×",
            "ok": met.get("ratio"),
        },
        {
            "check": "ingest: 2560×2160 uint16 ≥ 25 frames/s on one core",
            "value": fps,
            "ok": met.get("fps"),
        },
    ]


def encode_rows(level: str, log: Callable[[str], None]) -> list[dict[str, Any]]:
    try:
        ingest = importlib.import_module("benchmarks.ingest")
    except ModuleNotFoundError as exc:
        if exc.name not in ("benchmarks.ingest",):
            raise
        log("  skipped: benchmarks/ingest.py has not landed yet")
        return [{"scenario": "ingest", "skipped": "benchmarks/ingest.py has not landed yet"}]
    for name in ("run", "measure", "benchmark", "main_results"):
        func = getattr(ingest, name, None)
        if callable(func):
            result = _call(func, level)
            rows = _rows(result) + _checks(result)
            for row in rows:
                row.setdefault("scenario", "ingest")
                log("  " + ", ".join(f"{k}={v}" for k, v in row.items() if k != "scenario"))
            return rows
    log("  skipped: benchmarks/ingest.py has no run()/measure() function")
    return [{"scenario": "ingest", "skipped": "benchmarks/ingest.py exposes no run()"}]
