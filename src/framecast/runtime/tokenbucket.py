"""A token bucket: a burst at once, then a sustained rate — pure.

>>> bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
>>> [bucket.take(now=0.0) for _ in range(4)]   # three at once, the fourth waits
[True, True, True, False]
>>> bucket.take(now=0.5)                       # one more every 1/rate seconds
True
>>> bucket.take(now=0.5)
False
"""

from __future__ import annotations

import time

__all__ = ["TokenBucket"]


class TokenBucket:
    """Allows ``burst`` takes at once and ``rate`` per second on average. Not thread-safe:
    each bucket belongs to one event loop."""

    def __init__(self, rate: float, burst: int, *, now: float | None = None) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = time.monotonic() if now is None else now

    def _refill(self, now: float | None) -> None:
        now = time.monotonic() if now is None else now
        if now > self._stamp:
            self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def take(self, *, now: float | None = None) -> bool:
        """Take one token: True when there was one, False (nothing taken) when empty."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
