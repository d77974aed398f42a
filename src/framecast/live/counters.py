"""The session counters ``/api/status`` reports (docs/status.md), in one object per level.

A :class:`StreamCounters` holds one stream's numbers: its hub, its pipeline, ingest and its
commands count into it. A :class:`ServerCounters` holds the numbers no stream owns: live
connections evicted or refused, refused uploads and downloads, HTTP answers cut off,
commands over a rate limit, broker questions joined. Each field is named as ``/api/status``
names it, and each object has the one :meth:`reset` the built-in ``reset`` command calls:
a counter added here is reset with the others without anyone having to remember it.

Sequence numbers are not counters and are never reset (clients rely on them); neither are the
gauges (clients connected, bytes kept), which say what is, not what happened.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field

__all__ = ["ServerCounters", "StreamCounters"]


@dataclass
class StreamCounters:
    """One stream's counters. Images may be submitted from any thread (``publish()``); every
    other count happens on the event loop."""

    #: Images handed to the stream's pipeline, by any source.
    frames_submitted: int = 0
    #: Images replaced by a newer one before they were encoded (never shown).
    frames_superseded: int = 0
    #: Images that could not be decoded or encoded.
    frames_failed: int = 0
    #: Frames fanned out by the stream's hub (another node's too, through a broker).
    frames_published: int = 0
    #: Frames a viewer never got because a newer one took its place in its slot.
    client_frames_skipped: int = 0
    #: Images accepted by ``POST /api/frames``.
    frames_ingested: int = 0
    #: Commands run for the stream (not those refused).
    commands_run: int = 0
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def submitted(self, *, superseding: bool) -> None:
        """Count one image submitted (any thread); ``superseding``: it replaced one that was
        still waiting to be encoded."""
        with self._lock:
            self.frames_submitted += 1
            if superseding:
                self.frames_superseded += 1

    def reset(self) -> None:
        """Every counter back to zero."""
        with self._lock:
            _zero(self)


@dataclass
class ServerCounters:
    """The server's own counters, those no stream owns. Event loop only."""

    #: Live clients disconnected for not taking a message within ``send_timeout``.
    clients_evicted: int = 0
    #: Live connections refused by ``max_clients`` or ``max_clients_per_address``.
    clients_refused: int = 0
    #: Uploads (``POST /api/frames``) refused, whatever stream they were for.
    ingest_rejected: int = 0
    #: HTTP clients cut off for taking nothing of an answer within ``send_timeout``.
    http_answers_cut_off: int = 0
    #: Downloads refused with 503 by ``max_downloads`` or ``max_downloads_per_address``.
    downloads_refused: int = 0
    #: Commands refused for going over a rate limit.
    commands_limited: int = 0
    #: Questions about another node's frame answered by joining one already on its way.
    broker_raw_joined: int = 0

    def reset(self) -> None:
        """Every counter back to zero."""
        _zero(self)


def _zero(counters: StreamCounters | ServerCounters) -> None:
    """Every counting field of ``counters`` back to zero (not its lock)."""
    for item in dataclasses.fields(counters):
        if item.init:
            setattr(counters, item.name, 0)
