"""The token bucket behind the command limits: a burst at once, then a steady rate."""

from __future__ import annotations

import doctest

from framecast.runtime import tokenbucket
from framecast.runtime.tokenbucket import TokenBucket


def test_a_burst_then_one_token_per_interval() -> None:
    """A bucket of burst 3 at 2/s allows three at once, then one every 0.5 s; idle time
    refills it to the burst and no further, and a clock going back adds nothing."""
    bucket = TokenBucket(2.0, 3, now=10.0)
    assert [bucket.take(now=10.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(now=10.4) is False
    assert bucket.take(now=10.5) is True and bucket.take(now=10.5) is False
    assert [bucket.take(now=100.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(now=50.0) is False
    assert bucket.take(now=100.4) is False, "time spent going back is not counted twice"


def test_the_docstring_example_holds() -> None:
    """The module docstring's example runs as written."""
    assert doctest.testmod(tokenbucket).failed == 0
