"""Repeated log lines: one per interval, standing for how many there were."""

from __future__ import annotations

import doctest

from framecast.runtime import throttle
from framecast.runtime.throttle import LogThrottle


def test_one_line_per_interval_with_the_count() -> None:
    """The first occurrence is due at once; later ones within the interval are only counted,
    and the next due line reports them all; reset() makes the next one due at once."""
    t = LogThrottle(10.0)
    assert t.due(now=100.0) == 1
    assert [t.due(now=100.0 + s) for s in (1, 2, 9.9)] == [None, None, None]
    assert t.due(now=110.0) == 4
    assert t.due(now=111.0) is None
    t.reset()
    assert t.due(now=111.5) == 1
    assert t.seen == 7


def test_the_module_examples_run() -> None:
    """The docstring's example is true."""
    assert doctest.testmod(throttle).failed == 0
