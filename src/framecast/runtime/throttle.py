"""Log lines that repeat under pressure (a full disk, a reconnect storm, no more file
descriptors) are written at most once per interval, with how many there were — pure.

>>> throttle = LogThrottle(10.0)
>>> throttle.due(now=0.0)      # the first occurrence is reported at once
1
>>> throttle.due(now=3.0) is None   # the next ones within 10 s are only counted
True
>>> throttle.due(now=12.0)     # then one line stands for both
2
"""

from __future__ import annotations

import time

__all__ = ["LogThrottle"]


class LogThrottle:
    """Counts occurrences; says when one may be logged and how many it stands for."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.seen = 0
        self._unreported = 0
        self._last = float("-inf")

    def due(self, now: float | None = None) -> int | None:
        """Count one occurrence. Returns how many occurred since the last report (this one
        included) when a line is due now, else ``None``."""
        now = time.monotonic() if now is None else now
        self.seen += 1
        self._unreported += 1
        if now - self._last < self.interval:
            return None
        count, self._unreported, self._last = self._unreported, 0, now
        return count

    def reset(self) -> None:
        """Forget the last report: the next occurrence is logged at once (after a recovery)."""
        self._unreported, self._last = 0, float("-inf")
