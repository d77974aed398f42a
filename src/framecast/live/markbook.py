"""Shared marks: shapes that viewers place on a stream for everyone (docs/together.md).

A mark is a checked shape (:mod:`framecast.live.shapes`) plus ``id`` (made here), ``seq``
(the history frame it was made on, or ``None``: the stream's) and ``created`` (epoch
seconds). A stream holds at most ``max_marks``, in the order they were made.

They are kept in memory and in the work folder, one file per stream
(``marks/<stream>.json``), written whole to a temporary file that then replaces the old one:
a crash leaves the old marks or the new, never half a file. :meth:`MarkBook.load` reads them
back at start (a file that is not marks is logged and left alone). Writing is the caller's
to run off the event loop (:meth:`MarkBook.write`); writes of one stream are applied in
order, a late older one never replacing a newer one.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from framecast.config.streamname import NAME_PATTERN
from framecast.errors import ShapeError, spell
from framecast.live.protocol import MARKS, Notice, json_bytes
from framecast.live.shapes import ShapeLimits, check_shape, parse_json

__all__ = ["MARKS_FOLDER", "MAX_FILE_BYTES", "MarkBook"]

log = logging.getLogger("framecast.marks")

#: The work folder's sub-folder of marks, one JSON file per stream.
MARKS_FOLDER = "marks"
#: A marks file larger than this is not read at start (it is not one framecast wrote).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: The fields of a mark besides its shape's.
_OWN = ("id", "seq", "created")
_ID_BYTES = 6


class MarkBook:
    """Every stream's marks (see the module docstring). Event loop, except :meth:`load` and
    :meth:`write` (a worker thread)."""

    def __init__(
        self, folder: Path | None, *, max_marks: int, max_bytes: int, limits: ShapeLimits
    ) -> None:
        """``folder``: where the files go (``None``: nowhere, marks live in memory only);
        ``max_bytes``: the largest mark's JSON (``max_mark_bytes``)."""
        self.folder = folder
        self.max_marks = max_marks
        self.max_bytes = max_bytes
        self.limits = limits
        self._marks: dict[str, dict[str, dict[str, Any]]] = {}
        self._versions: dict[str, int] = {}
        self._written: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path, *, max_marks: int, max_bytes: int, limits: ShapeLimits) -> MarkBook:
        """The marks kept in ``folder`` (blocking: run it in a thread)."""
        book = cls(folder, max_marks=max_marks, max_bytes=max_bytes, limits=limits)
        if not folder.is_dir():
            return book
        for path in sorted(folder.glob("*.json")):
            if not NAME_PATTERN.fullmatch(path.stem):
                continue
            try:
                if path.stat().st_size > MAX_FILE_BYTES:
                    raise ValueError(f"it is larger than {MAX_FILE_BYTES} bytes")
                stored = json.loads(path.read_bytes())
                if not isinstance(stored, list):
                    raise ValueError("it is not a list of marks")
                book._marks[path.stem] = {
                    mark["id"]: mark for mark in (book._stored(item) for item in stored)
                }
            except (OSError, ValueError, ShapeError) as exc:
                log.warning("ignored the marks in %s: %s", path, exc)
        return book

    # -- reading ------------------------------------------------------------------------------
    def listing(self, stream: str) -> list[dict[str, Any]]:
        """The stream's marks, oldest first (copies)."""
        return [dict(mark) for mark in self._marks.get(stream, {}).values()]

    def notice(self, stream: str) -> Notice:
        """The live message saying every mark of ``stream`` (docs/together.md)."""
        return Notice.of(MARKS, {"stream": stream, "marks": self.listing(stream)})

    def __len__(self) -> int:
        return sum(len(marks) for marks in self._marks.values())

    # -- changing -----------------------------------------------------------------------------
    def parse(self, body: bytes) -> dict[str, Any]:
        """A new mark from a request's JSON ``body`` (a shape and an optional ``seq``),
        checked but not stored; :class:`ShapeError` names what is wrong."""
        value = parse_json(body, "mark", max_bytes=self.max_bytes, depth=3)
        mark = check_shape(value, max_points=self.limits.max_points, where="mark", extra=["seq"])
        mark["seq"] = _seq(value.get("seq"))
        return mark

    def add(self, stream: str, mark: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``mark`` (from :meth:`parse`) on ``stream`` with a new id; returns it.
        :class:`ShapeError` when the stream already has ``max_marks``."""
        marks = self._marks.setdefault(stream, {})
        if len(marks) >= self.max_marks:
            raise ShapeError(
                f"stream {stream!r} already has {len(marks)} marks (max_marks); delete some "
                f"or raise {spell('max_marks')}"
            )
        ident = secrets.token_hex(_ID_BYTES)
        while ident in marks:  # pragma: no cover - 48 random bits
            ident = secrets.token_hex(_ID_BYTES)
        stored = {"id": ident, **mark, "created": round(time.time(), 3)}
        stored.setdefault("seq", None)
        marks[ident] = stored
        self._changed(stream)
        return dict(stored)

    def remove(self, stream: str, ident: str) -> bool:
        """Delete mark ``ident`` of ``stream``; False when there is none."""
        marks = self._marks.get(stream, {})
        if marks.pop(ident, None) is None:
            return False
        self._changed(stream)
        return True

    def replace(self, stream: str, stored: Iterable[object]) -> None:
        """The marks of ``stream`` as another node holds them (the broker's,
        docs/scale-out.md): each is checked again, :class:`ShapeError` on the first bad one."""
        marks = [self._stored(item) for item in stored]
        if len(marks) > self.max_marks:
            raise ShapeError(f"{len(marks)} marks, more than max_marks ({self.max_marks})")
        self._marks[stream] = {mark["id"]: mark for mark in marks}
        self._changed(stream)

    def _changed(self, stream: str) -> None:
        self._versions[stream] = self._versions.get(stream, 0) + 1

    def _stored(self, item: object) -> dict[str, Any]:
        """A mark as stored (a file, another node) checked again."""
        if not isinstance(item, Mapping):
            raise ShapeError("a stored mark is not a JSON object")
        shape = check_shape(item, max_points=self.limits.max_points, where="mark", extra=_OWN)
        ident, created = item.get("id"), item.get("created")
        if not isinstance(ident, str) or not 1 <= len(ident) <= 64 or not ident.isalnum():
            raise ShapeError("a stored mark has no valid id")
        if isinstance(created, bool) or not isinstance(created, int | float):
            raise ShapeError(f"mark {ident}: created is not a time")
        return {"id": ident, **shape, "seq": _seq(item.get("seq")), "created": created}

    # -- the work folder ----------------------------------------------------------------------
    def snapshot(self, stream: str) -> tuple[int, bytes]:
        """What :meth:`write` writes for ``stream`` now: its version and its file's bytes."""
        return self._versions.get(stream, 0), json_bytes(self.listing(stream))

    def write(self, stream: str, version: int, data: bytes) -> None:
        """Write the marks file of ``stream`` (a worker thread), unless a newer version is
        already written. :class:`OSError` when the folder cannot be written."""
        if self.folder is None:
            return
        with self._lock:
            if self._written.get(stream, -1) >= version:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / f"{stream}.json"
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{stream}.")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            self._written[stream] = version


def _seq(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ShapeError(f"mark: seq is {value!r}; give a frame's number (0 or more) or null")
    return value
