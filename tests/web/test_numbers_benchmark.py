"""Smoke run of the analysis benchmark (``benchmarks/run.py --scenario analysis``) at tiny
sizes, so that it cannot rot: both halves run and the report shows their two targets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import analysis, report  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def test_analysis_benchmark_measures_both_targets() -> None:
    """The stats timing and the /ws latency with and without a burst, for camera frames and
    thumbnails, are measured, every question of each burst is answered, and the report
    lists both targets."""
    rows = analysis.run("smoke", lambda _line: None)
    timing, *fanout = (r for r in rows if "case" in r)
    assert timing["framecast_s"] > 0 and timing["numpy_s"] > 0
    assert [r["case"].split(", ")[2:] for r in fanout] == [
        [kind, label] for kind in analysis.LIVE for label in ("no burst", "10 analysis requests")
    ]
    assert all(r["messages"] > 0 for r in fanout)
    rounds = analysis.LEVELS["smoke"]["rounds"]
    assert [r["answered"] for r in fanout[1::2]] == [analysis.LEVELS["smoke"]["n"] * rounds] * 2
    doc = {"scenarios": {"analysis": {"seconds": 0, "results": rows}}}
    targets = [c["target"] for c in report.summary(doc)["checks"]]
    assert any("≤ 1.5× numpy" in t for t in targets)
    assert any("≤ 1.2× without" in t for t in targets)
    assert "## analysis" in report.tables(doc)
