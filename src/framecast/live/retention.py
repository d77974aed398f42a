"""Which frames of a stream are still kept, found by their number (docs/history.md). Pure.

A stream keeps its latest frame and the frames its history holds (the last ``history``
frames, within ``max_history_bytes``). Every route about one frame — history, deep-zoom
tiles, raw files and tiles, the analysis questions, and a question another node asks
through the broker — finds it here, and every one of them says the same thing when it is
not there: :class:`FrameNotFound` carries the status and the one line the client reads
(``400`` for a seq that is not a frame number, ``404`` for a frame no longer kept, not
published yet, or a stream with no image yet). Each line points to the stream's
``api/history``, where the frames kept are listed.
"""

from __future__ import annotations

import re

from framecast.errors import FramecastError
from framecast.live.frames import Frame
from framecast.live.streams import Stream

__all__ = ["SEQ", "FrameNotFound", "find_frame", "parse_seq"]

#: A frame number as text: at most 18 digits (no sign, no giant integers).
SEQ = re.compile(r"[0-9]{1,18}")


class FrameNotFound(FramecastError):
    """No frame for that number: :attr:`status` (400 or 404) and the one-line message.
    :attr:`ordinary` is true for a frame that simply left (a per-frame detail, not worth a
    log line above DEBUG)."""

    def __init__(self, status: int, message: str, *, ordinary: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.ordinary = ordinary


def _listing(stream: Stream) -> str:
    return f"see {stream.path}api/history for the frames kept"


def parse_seq(stream: Stream, text: str) -> int:
    """``text`` as a frame number of ``stream``, or the 400 that says it is none."""
    if not SEQ.fullmatch(text):
        raise FrameNotFound(
            400,
            f"seq {text[:40]!r} is not a frame number: use the seq of data.json or new_image; "
            + _listing(stream),
            ordinary=False,
        )
    return int(text)


def find_frame(stream: Stream, seq: int | str | None, *, history_only: bool = False) -> Frame:
    """Frame ``seq`` of ``stream`` (a number, its text, or ``None`` for the latest frame)
    if it is still kept, else :class:`FrameNotFound` saying why. ``history_only``: only
    what the history holds (the history routes; ``history = 0`` keeps none), not the
    latest frame besides."""
    latest = stream.latest
    if seq is None:
        if latest is None:
            raise FrameNotFound(
                404, f"stream {stream.name!r} has no image yet; ask again once one is published"
            )
        return latest
    number = parse_seq(stream, seq) if isinstance(seq, str) else seq
    found = stream.history.get(number)
    if found is None and not history_only and latest is not None and latest.seq == number:
        found = latest
    if found is not None:
        return found
    prefix = f"frame {number} of stream {stream.name!r}"
    if latest is None:
        why = f"is not published yet (the stream has no image yet); {_listing(stream)}"
    elif number > latest.seq:
        why = f"is not published yet (the latest is {latest.seq}); {_listing(stream)}"
    else:
        limit = stream.history.limit
        keeps = f"the last {limit}" if limit > 0 else "none: history = 0"
        why = (
            f"is not kept any more (history keeps {keeps}, within max_history_bytes); "
            + _listing(stream)
        )
    raise FrameNotFound(404, f"{prefix} {why}")
