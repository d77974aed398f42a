"""The browser benchmark of levels (benchmarks/levels.py) runs at smoke size, so it cannot
rot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import levels  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_levels_benchmark_measures_repaint_and_live_lag() -> None:
    """Smoke size: the repaint steps are timed with no request during them, live frames are
    published, read, shown and their stages recorded, and the table states every check."""
    result = levels.run("smoke")
    repaint, live = result["repaint"], result["live"]
    assert repaint["requests_during_changes"] == 0 and repaint["tiles_in_memory"] > 0
    assert 0 < repaint["change_p50_ms"] <= repaint["change_p95_ms"]
    assert live["raw_view"] is True and live["published"] >= 5 and live["samples"] > 0
    assert live["stages"]["shown"] >= 1 and "notified->onScreen" in live["stages"]
    assert set(result["checks"]) == {
        "repaint_p95_within_1.2x_redraw",
        "no_request_on_change",
        "live_lag_at_most_1",
        "on_screen_p95_at_most_150ms",
    }
    table = levels.table(result)
    assert "change of levels, repainted" in table and "check live_lag_at_most_1" in table
