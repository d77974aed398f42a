"""The raw-tile benchmark (benchmarks/rawtiles.py) runs at smoke size, so it cannot rot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import rawtiles, report, run  # noqa: E402

pytestmark = pytest.mark.timeout(90)


def test_raw_tile_benchmark_measures_both_kinds_and_checks_the_target() -> None:
    """Smoke size: per frame, JPEG, raw gzip and raw identity tiles are all fetched and
    timed (gzip smaller than identity), and a check row states the issue's target; the
    suite runner knows the scenario and its table renders."""
    rows = rawtiles.run("smoke", log=lambda _line: None)
    cases = [r for r in rows if "case" in r]
    checks = [r for r in rows if "check" in r]
    assert len(cases) == 6 and len(checks) == 2
    for r in cases:
        assert r["tiles"] >= 1 and 0 < r["p50_ms"] <= r["p90_ms"] and r["tiles_per_s"] > 0
    by = {r["case"]: r for r in cases}
    for kind in ("camera", "detector"):
        assert (
            by[f"{kind}: raw .npy tile, gzip"]["mean_kb"]
            < by[f"{kind}: raw .npy tile, identity"]["mean_kb"]
        )
    assert all("0.5×" in c["check"] and isinstance(c["ok"], bool) for c in checks)
    assert "rawtiles" in run.SCENARIOS
    doc = {"scenarios": {"rawtiles": {"seconds": 1, "results": rows}}}
    assert "## rawtiles" in report.tables(doc)
