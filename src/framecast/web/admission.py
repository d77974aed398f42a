"""Admission of the heavy requests: whole-frame downloads and analysis questions
(docs/reliability.md, "Limits and their settings").

Two rules, one object per server (:class:`Admission`, in the
:class:`~framecast.web.context.WebContext`):

- **One at a time.** Work on a whole frame (a lower level of its raw pyramid, statistics, a
  histogram, a rectangle reduced from the frame, a compressed file) runs in the tile
  workers one job at a time (:attr:`Admission.slot`, :data:`AT_ONCE`); the others wait
  their turn on the loop, costing nothing. A burst of such questions keeps one worker (and
  one core of a small machine) free for tiles, the encoder and the event loop.
- **A few at once.** A download (a raw ``.npy`` or ``.fits`` file of a frame, or a
  rectangle of a level) holds one of ``max_downloads`` places, and one of
  ``max_downloads_per_address`` for its client's address, from its first byte made to its
  last byte taken (:meth:`Admission.admit`). One more is refused at once: 503, a
  ``Retry-After`` and one line saying which limit. What the downloads running hold — bytes
  made and not yet taken by their clients — is counted for ``/api/status``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from framecast.config.settings import Settings
from framecast.live.counters import ServerCounters
from framecast.runtime.throttle import LogThrottle
from framecast.science.raw import RawAnswer

__all__ = ["AT_ONCE", "RETRY_AFTER", "Admission", "Download", "DownloadRefused"]

log = logging.getLogger("framecast.web.admission")

#: Whole-frame jobs computed at once per server.
AT_ONCE = 1
#: Seconds a refused download is told to wait (``Retry-After``).
RETRY_AFTER = 2
#: Refused downloads are logged at most once per this many seconds, with a count.
REFUSAL_LOG_INTERVAL = 10.0


class DownloadRefused(Exception):
    """A download over ``max_downloads`` or ``max_downloads_per_address``: its 503."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        refusal = RawAnswer.refusal(503, message)
        self.answer = RawAnswer(
            503, refusal.content_type, refusal.body, {"Retry-After": str(RETRY_AFTER)}
        )


class Download:
    """One admitted download: its place until :meth:`close` (or the end of a ``with``), and
    the bytes it holds on their way to its client (:meth:`holding`)."""

    __slots__ = ("_admission", "_closed", "address", "held")

    def __init__(self, admission: Admission, address: str) -> None:
        self._admission = admission
        self._closed = False
        self.address = address
        #: Bytes made for this client and not yet taken by it.
        self.held = 0

    @contextmanager
    def holding(self, nbytes: int) -> Iterator[None]:
        """Count ``nbytes`` as in flight for the enclosed write."""
        self.held += nbytes
        self._admission.bytes_in_flight += nbytes
        try:
            yield
        finally:
            self.held -= nbytes
            self._admission.bytes_in_flight -= nbytes

    def close(self) -> None:
        """Give the place back (once)."""
        if not self._closed:
            self._closed = True
            self._admission._release(self)

    def __enter__(self) -> Download:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class Admission:
    """The server's admission of heavy requests; see the module docstring. Used on the
    event loop only."""

    def __init__(self, counters: ServerCounters | None = None) -> None:
        """``counters``: the server's, where refused downloads are counted."""
        #: Held by each whole-frame job while it runs in the tile workers.
        self.slot = asyncio.Semaphore(AT_ONCE)
        #: Downloads admitted and not finished.
        self.running = 0
        self.by_address: Counter[str] = Counter()
        #: Bytes made by the running downloads and not yet taken by their clients.
        self.bytes_in_flight = 0
        self.counters = counters if counters is not None else ServerCounters()
        self._refusals = LogThrottle(REFUSAL_LOG_INTERVAL)

    def admit(self, address: str, settings: Settings) -> Download:
        """A place for one download from ``address``, or :class:`DownloadRefused`."""
        if self.running >= settings.max_downloads:
            reason = (
                f"{self.running} downloads are running on this server (max_downloads); "
                f"try again in {RETRY_AFTER} s"
            )
        elif self.by_address[address] >= settings.max_downloads_per_address:
            reason = (
                f"{self.by_address[address]} downloads from your address are running "
                f"(max_downloads_per_address); let one finish, then try again"
            )
        else:
            self.running += 1
            self.by_address[address] += 1
            return Download(self, address)
        self.counters.downloads_refused += 1
        count = self._refusals.due()
        if count is not None:
            log.warning(
                "refused a download from %s: %s (%d refusal(s) since the last report)",
                address or "?",
                reason,
                count,
            )
        raise DownloadRefused(reason)

    def _release(self, download: Download) -> None:
        self.running -= 1
        self.by_address[download.address] -= 1
        if self.by_address[download.address] <= 0:
            del self.by_address[download.address]
