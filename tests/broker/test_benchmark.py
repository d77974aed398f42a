"""The scale-out benchmark runs (tiny sizes), so it cannot rot."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import broker  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def test_the_broker_benchmark_measures_every_group_of_viewers() -> None:
    """Both cases run with real nodes and redis-server: every group of viewers gets every
    image, with latencies, the hop's added latency and the CPU per viewer against a
    single node."""
    if shutil.which("redis-server") is None:  # pragma: no cover - scripts/setup --test has it
        pytest.skip("redis-server is not installed; run scripts/setup --test")
    rows = broker.run("smoke", lambda _line: None)
    assert [r["case"] for r in rows] == ["hop", "hop"] + ["nodes"] * 5
    for row in rows:
        assert "error" not in row and row["p99_ms"] is not None, row
        if "delivered_min" in row:
            assert row["delivered_min"] > 0, row  # a busy machine may skip one (newest wins)
    assert "added_p99_ms" in rows[1]
    assert rows[-1]["viewers_of"] == "single node (no broker)"
    assert all("cpu_vs_single" in r for r in rows[2:5] if rows[-1]["cpu_pct_per_1000_viewers"])
