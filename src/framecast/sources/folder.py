"""The folder source: every new or rewritten image file in a folder, once, when complete.

``framecast serve --watch DIR`` publishes each image file that appears in (or is
rewritten into) DIR. watchfiles reports changes at once; a rescan of the folder every
``rescan`` seconds catches anything a file-system watcher can miss (network shares).

A file is published when its size and modification time have stayed the same for
``settle`` seconds *and* its format says it is whole (see
:mod:`~framecast.sources.completeness`), so a writer that pauses mid-file never produces a
truncated image. A file that stays incomplete for ``max_wait`` seconds after its last
change, or is corrupt, or is not an image, or whose header claims more pixels than
``max_pixels`` (the ``max_image_pixels`` setting), is logged once by name and skipped:
nothing decodes it. Files that become ready together are published in natural order
(``a2`` before ``a10``). Hidden and temporary names (``.x``, ``*.tmp``, ``*.part``,
``*~``, …) are ignored.

Metadata: ``{"file": name}`` plus, for FITS files, the header cards astronomers look at
(``OBJECT``, ``EXPTIME``, ``FILTER``, …; see :data:`~framecast.sources.completeness.FITS_KEYS`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any

from framecast.errors import ConfigError, ImageError, SourceError, spell
from framecast.imaging.formats import DEFAULT_MAX_PIXELS
from framecast.live.frames import Incoming
from framecast.sources.completeness import Verdict, examine, fits_metadata

if TYPE_CHECKING:
    from framecast.config.settings import Settings

__all__ = ["FolderSource", "is_ignored", "natural_key"]

logger = logging.getLogger("framecast.sources.watch")

_TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting ``a2`` before ``a10`` (digit runs compare as numbers)."""
    parts = _DIGITS.split(name.casefold())
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in parts if p)


def is_ignored(name: str) -> bool:
    """Hidden and temporary names a writer uses before the final rename."""
    lowered = name.casefold()
    return name.startswith((".", "~$", "#")) or lowered.endswith(_TEMP_SUFFIXES)


@dataclass
class _Pending:
    signature: tuple[int, int]  # size, mtime_ns
    stable_since: float  # monotonic time of the last change seen
    last_reason: str = ""


class FolderSource:
    """Watch a folder; yield each complete new or rewritten image file."""

    name = "watch"

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        existing: bool = False,
        settle: float = 0.25,
        max_wait: float = 10.0,
        rescan: float = 0.5,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.folder = Path(folder)
        self.max_pixels = max_pixels
        self.existing = existing
        self.settle = settle
        self.max_wait = max_wait
        self.rescan = rescan
        self.published = 0
        self.skipped = 0
        #: Set once the watcher runs: files written after this are seen.
        self.ready = asyncio.Event()
        #: Files written after the source was made (when the server starts) are new, even
        #: when the watcher's task first runs a moment later.
        self._created_ns = time.time_ns()
        self._done: dict[str, tuple[int, int]] = {}  # name → signature published or skipped
        self._pending: dict[str, _Pending] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> FolderSource:
        if settings.watch is None:
            raise ConfigError(f"the folder source needs {spell('watch', 'DIR')}")
        return cls(settings.watch, existing=settings.existing, max_pixels=settings.max_image_pixels)

    async def aclose(self) -> None:
        """Nothing to release: the watcher stops when ``frames()`` ends."""

    # -- the generator ----------------------------------------------------------------------

    async def frames(self) -> AsyncIterator[Incoming]:
        """Yield complete image files as they appear, until cancelled."""
        from watchfiles import awatch

        listing = await asyncio.to_thread(self._listing)
        if self.existing:
            now = time.monotonic()
            for name, signature in listing.items():
                self._pending[name] = _Pending(signature, now - self.settle)
        else:
            now = time.monotonic()
            for name, signature in listing.items():
                if signature[1] >= self._created_ns:  # written since the server started
                    self._pending[name] = _Pending(signature, now)
                else:
                    self._done[name] = signature
        logger.info("watching %s for new images", self.folder)
        stop = asyncio.Event()
        watcher = awatch(
            self.folder,
            watch_filter=None,
            debounce=50,
            step=20,
            rust_timeout=int(self.rescan * 1000),
            yield_on_timeout=True,
            recursive=False,
            stop_event=stop,
        )
        last_scan = time.monotonic()
        try:
            async for changes in watcher:
                self.ready.set()
                changed = {Path(path).name for _change, path in changes}
                if time.monotonic() - last_scan >= self.rescan or not changes:
                    listing = await asyncio.to_thread(self._listing)
                    last_scan = time.monotonic()
                    gone = (set(self._pending) | set(self._done)) - listing.keys()
                else:
                    listing = await asyncio.to_thread(self._signatures, changed)
                    gone = changed - listing.keys()
                self._note(listing, gone)
                for incoming in await asyncio.to_thread(self._ready_files):
                    self.published += 1
                    yield incoming
        finally:
            stop.set()
            await watcher.aclose()

    # -- bookkeeping (runs in worker threads) ------------------------------------------------

    def _listing(self) -> dict[str, tuple[int, int]]:
        """Signatures of every candidate file in the folder; SourceError if it is gone."""
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            raise SourceError(
                f"watched folder {str(self.folder)!r} disappeared; recreate it and restart"
            ) from None
        except NotADirectoryError:
            raise SourceError(f"watched path {str(self.folder)!r} is not a folder") from None
        except PermissionError:
            raise SourceError(
                f"watched folder {str(self.folder)!r} is not readable; fix its permissions"
            ) from None
        return self._signatures(entry.name for entry in entries)

    def _signatures(self, names: Iterable[str]) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        if not self.folder.is_dir():
            raise SourceError(
                f"watched folder {str(self.folder)!r} disappeared; recreate it and restart"
            )
        for name in names:
            if is_ignored(name):
                continue
            try:
                stat = (self.folder / name).stat()
            except OSError:
                continue
            if not S_ISREG(stat.st_mode):  # regular files only
                continue
            found[name] = (stat.st_size, stat.st_mtime_ns)
        return found

    def _note(self, listing: dict[str, tuple[int, int]], gone: set[str]) -> None:
        now = time.monotonic()
        for name in gone:  # deleted: a file created again under this name is new
            self._pending.pop(name, None)
            self._done.pop(name, None)
        for name, signature in listing.items():
            pending = self._pending.get(name)
            if pending is not None:
                if pending.signature != signature:
                    pending.signature = signature
                    pending.stable_since = now
            elif self._done.get(name) != signature:
                self._pending[name] = _Pending(signature, now)

    def _ready_files(self) -> list[Incoming]:
        """Examine pending files that have settled; the complete ones, in natural order."""
        now = time.monotonic()
        ready: list[Incoming] = []
        for name in sorted(self._pending, key=natural_key):
            pending = self._pending[name]
            if now - pending.stable_since < self.settle:
                continue
            path = self.folder / name
            try:
                stat = path.stat()
            except OSError:
                del self._pending[name]
                continue
            if (stat.st_size, stat.st_mtime_ns) != pending.signature:
                pending.signature = (stat.st_size, stat.st_mtime_ns)
                pending.stable_since = now
                continue
            verdict, reason = examine(path, max_pixels=self.max_pixels)
            if verdict is Verdict.INCOMPLETE:
                pending.last_reason = reason
                if now - pending.stable_since >= self.max_wait:
                    self._give_up(name, pending.signature, f"still incomplete ({reason})")
                continue
            if verdict is not Verdict.COMPLETE:
                self._give_up(name, pending.signature, reason)
                continue
            del self._pending[name]
            self._done[name] = pending.signature
            ready.append(self._incoming(path, stat.st_mtime))
        return ready

    def _give_up(self, name: str, signature: tuple[int, int], reason: str) -> None:
        del self._pending[name]
        self._done[name] = signature
        self.skipped += 1
        logger.warning("skipping %s in %s: %s", name, self.folder, reason)

    def _incoming(self, path: Path, mtime: float) -> Incoming:
        metadata: dict[str, Any] = {"file": path.name}
        if path.suffix.casefold() in (".fits", ".fit", ".fts") or _is_fits(path):
            try:
                metadata.update(fits_metadata(path))
            except (OSError, ValueError) as exc:
                logger.debug("cannot read FITS cards of %s: %s", path.name, exc)

        def load() -> bytes:
            try:
                data = path.read_bytes()
            except OSError as exc:
                self.skipped += 1
                logger.warning("cannot read %s: %s", path.name, exc.strerror)
                raise ImageError(f"cannot read {path.name}: {exc.strerror}") from None
            return data

        return Incoming(load=load, metadata=metadata, time=mtime, name=path.name)


def _is_fits(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(9) == b"SIMPLE  ="
    except OSError:
        return False
