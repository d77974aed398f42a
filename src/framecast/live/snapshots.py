"""Snapshot files: full-quality JPEGs of a stream's latest frame (``snapshot_now``, see
docs/control.md).

A file is written at most once per frame: asking again for the frame already saved answers
that file's path and writes nothing, so a client repeating ``snapshot_now`` on a frame that
does not change fills no disk. The snapshots folder (``<work folder>/snapshots``, each named
stream's in a subfolder) holds at most ``max_snapshots_bytes``, counting every file in it,
earlier runs' included; a snapshot that would not fit is refused, nothing is written, and the
reason says how to make room. A frame whose snapshot did not fit is not encoded again when
asked again (it is refused at once), so a client repeating ``snapshot_now`` on a nearly full
folder costs no encoding either. Names never collide, even for many snapshots in one second;
a file is written under a temporary name and linked into place, so it appears whole.

Everything here blocks (encoding, file I/O): the caller runs it in a worker thread.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import tempfile
import threading
import time
from pathlib import Path

from framecast import imaging
from framecast.errors import spell
from framecast.live.frames import Frame

__all__ = ["SNAPSHOTS_FOLDER", "SNAPSHOT_QUALITY", "SnapshotRefused", "Snapshots", "save_snapshot"]

#: The snapshots folder's name in the work folder.
SNAPSHOTS_FOLDER = "snapshots"
SNAPSHOT_QUALITY = 95
_counter = itertools.count(1)
_counter_lock = threading.Lock()


class SnapshotRefused(Exception):
    """The snapshot was not written; the message is the reply's reason."""


def _snapshot_name(frame: Frame) -> str:
    with _counter_lock:
        count = next(_counter)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime())
    return f"{stamp}-{frame.seq:06d}-{count:04d}{secrets.token_hex(4)}.jpg"


def snapshot_bytes(frame: Frame, *, quality: int = SNAPSHOT_QUALITY) -> bytes:
    """The full-resolution JPEG of ``frame`` (blocking: it encodes)."""
    original = frame.original if frame.original is not None else frame.jpeg
    return imaging.snapshot_jpeg(original, quality=quality)


def save_snapshot(
    frame: Frame, folder: Path, *, quality: int = SNAPSHOT_QUALITY, data: bytes | None = None
) -> Path:
    """Write a full-resolution JPEG of ``frame`` (or ``data``, already encoded) under
    ``folder``; return its absolute path.

    Blocking (encoding and file I/O): call it from a worker thread. The file appears whole
    or not at all, and an existing file is never replaced.
    """
    if data is None:
        data = snapshot_bytes(frame, quality=quality)
    folder.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".snapshot-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        while True:
            final = folder / _snapshot_name(frame)
            try:
                os.link(temporary, final)  # fails instead of replacing an existing file
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links
                if final.exists():
                    continue
                os.replace(temporary, final)
            return final.resolve()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def folder_bytes(folder: Path) -> int:
    """The bytes of every regular file under ``folder``, subfolders included (0 when it
    does not exist). Symbolic links are not followed."""
    total = 0
    pending = [folder]
    while pending:
        try:
            entries = os.scandir(pending.pop())
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:  # removed while counting
                    continue
    return total


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


class Snapshots:
    """The snapshots of one server: one file per frame of each stream, a byte budget for
    the snapshots folder. Thread-safe: snapshots are taken one at a time.

    ``root``: the snapshots folder whose size is capped (each stream's folder is in it);
    ``None`` counts the folder of each snapshot alone.
    """

    def __init__(self, *, max_bytes: int, root: Path | None = None) -> None:
        self.max_bytes = max_bytes
        self.root = root
        self._lock = threading.Lock()
        #: Per stream folder: the seq of the frame last saved there and its file.
        self._saved: dict[Path, tuple[int, Path]] = {}
        #: Per stream folder: the seq and snapshot size of the frame last refused there for
        #: lack of room, so asking again for it is refused without encoding it again.
        self._refused: dict[Path, tuple[int, int]] = {}

    def take(self, frame: Frame, folder: Path) -> tuple[Path, bool]:
        """Save ``frame`` under ``folder``: its file's path, and whether it was written now
        (False: this frame was saved before and its file is still there). Raises
        :class:`SnapshotRefused` when the snapshots folder has no room for it. Blocking."""
        with self._lock:
            known = self._saved.get(folder)
            if known is not None and known[0] == frame.seq and known[1].is_file():
                return known[1], False
            counted = self.root if self.root is not None else folder
            used = folder_bytes(counted)
            if used >= self.max_bytes:  # before the work: nothing is encoded
                raise SnapshotRefused(self._full(counted, used))
            refused_seq, needed = self._refused.get(folder, (-1, 0))
            if refused_seq == frame.seq and used + needed > self.max_bytes:  # known too big
                raise SnapshotRefused(self._full(counted, used, needed))
            data = snapshot_bytes(frame)
            if used + len(data) > self.max_bytes:
                self._refused[folder] = (frame.seq, len(data))
                raise SnapshotRefused(self._full(counted, used, len(data)))
            path = save_snapshot(frame, folder, data=data)
            self._saved[folder] = (frame.seq, path)
            return path, True

    def _full(self, folder: Path, used: int, needed: int | None = None) -> str:
        state = "is full" if needed is None else "has no room for this snapshot"
        wanted = "" if needed is None else f", and this snapshot needs {_size(needed)}"
        return (
            f"the snapshots folder {folder.resolve()} {state}: it holds {_size(used)} of "
            f"max_snapshots_bytes {_size(self.max_bytes)}{wanted}; delete or move snapshots "
            f"from it, or raise {spell('max_snapshots_bytes')}"
        )
