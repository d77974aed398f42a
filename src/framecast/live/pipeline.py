"""From a submitted image to a published frame: latest-wins intake, off-loop encoding,
fan-out to the hub and throttled refresh of the web folder files.

Each frame is made — decoded, encoded and rendered (:class:`~framecast.live.frames.Renderings`)
— in a worker thread, so nothing per frame is serialised on the event loop. An image that
cannot be made is counted as failed and its submitter told ``None``; the next one goes on.
The encoder and web-file tasks run under the server's
:class:`~framecast.runtime.supervisor.Supervisor`: an unexpected error is logged, counted and the
task restarted, never a silently dead pipeline.

A producer faster than the viewers never builds a backlog: :meth:`Pipeline.submit` keeps
one pending image and replaces it when a newer one arrives (counted as superseded). An image
is made at once when somebody wants it: a viewer of this stream, the other nodes of a
broker (every frame made here goes to them, and their viewers cannot be counted here), or
its sender, who waits for its number (``POST /api/frames``: a producer's loop is never
paced by the viewers, see docs/streams.md). Otherwise pending images are only encoded when
the web folder's ``web_image.jpg`` is due for a refresh (at most ``max_file_rate`` times
per second), so a stream nobody watches costs almost nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from framecast import imaging
from framecast.errors import FramecastError
from framecast.imaging import formats
from framecast.imaging.pyramid import Pyramid
from framecast.live import webfolder
from framecast.live.frames import Frame, Incoming
from framecast.live.history import weight
from framecast.live.hub import Hub
from framecast.runtime.deadline import cancel_all, within
from framecast.runtime.priority import LiveFirst
from framecast.runtime.supervisor import Supervisor
from framecast.runtime.throttle import LogThrottle
from framecast.science.raw import Raw

__all__ = ["Numbering", "Pipeline"]

#: Where a frame's number comes from when several nodes share a stream (docs/scale-out.md): given
#: the
#: stream and the last number this node used, the next one (e.g. the broker's counter).
Numbering = Callable[[str, int], Awaitable[int]]

log = logging.getLogger("framecast.pipeline")

#: Seconds stop() waits for the web files of the newest frame (and a write still under way).
STOP_WRITE_WAIT = 2.0
#: A web folder that cannot be written (disk full) is reported at most once per this many s.
WRITE_ERROR_INTERVAL = 60.0

#: Once frames weighing this much in all (full-size arrays plus JPEGs and renderings) have
#: been superseded, their memory is handed back to the operating system: glibc keeps freed
#: blocks in its arenas, so after one big frame, or many smaller ones held a while by slow
#: clients, the process would otherwise stay tens to hundreds of MB larger.
TRIM_AFTER_BYTES = 16 * 1024 * 1024


class Pipeline:
    """Owns the pending slot, the encoder task and the web-file writer task."""

    def __init__(
        self,
        hub: Hub,
        web_root: Path,
        options: imaging.DisplayOptions,
        *,
        max_file_rate: float,
        keep_raw: bool = True,
        priority: LiveFirst | None = None,
        encode: Callable[[Any, imaging.DisplayOptions], imaging.Encoded] = imaging.encode,
        executor: Executor | None = None,
        stream: str = "default",
        numbering: Numbering | None = None,
        on_frame: Callable[[Frame], None] | None = None,
    ) -> None:
        """``executor``: the encoder pool shared by every stream's pipeline (the server's);
        without one, the pipeline makes and owns a small pool of its own. ``stream``: the
        name its frames carry; ``web_root``: the folder its web files go to. A frame larger
        than the web image gets a deep-zoom :class:`~framecast.imaging.pyramid.Pyramid`
        (its tiles are cut when asked for, and kept by the server). ``keep_raw``:
        frames keep their raw array (docs/science.md). ``priority``: the server's rule that
        background work (tiles, analysis) waits while a frame is made here. ``numbering`` and
        ``on_frame`` (a broker's, docs/scale-out.md): where sequence numbers come from, and who
        hears
        of each frame made here (then every image is made at once, as if watched: other
        nodes' viewers want it); without them frames are numbered locally and nobody else is
        told."""
        self._hub = hub
        self.stream = stream
        self._shared_executor = executor
        self._web_root = web_root
        self._options = options
        self._encode = encode
        self._keep_raw = keep_raw
        self._priority = priority or LiveFirst()
        self._file_period = 1.0 / max_file_rate
        self._lock = threading.Lock()
        self._pending: tuple[Incoming, float] | None = None
        #: This pipeline holds one count of ``_priority`` (a frame is on its way).
        self._holding = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._file_wake: asyncio.Event | None = None
        self._file_frame: Frame | None = None
        self._next_file_time = 0.0
        #: The web-file write last handed to a thread. A cancelled await does not stop the
        #: thread, so the next write waits for it: files are written one at a time, in order.
        self._writing: asyncio.Future[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._executor: Executor | None = None
        self._write_errors = LogThrottle(WRITE_ERROR_INTERVAL)
        self._seq = 0
        self._numbering = numbering
        self._on_frame = on_frame
        self._latest_weight = 0  # bytes of the latest frame (superseded by the next one)
        self._superseded = 0  # bytes superseded since memory was last given back
        #: The stream's counters, its hub's: images submitted, superseded and failed.
        self.counters = hub.counters

    # -- lifecycle (event loop thread) -------------------------------------------------------
    def start(self, supervisor: Supervisor, seq: int = 0) -> None:
        """Start the encoder and web-file tasks under ``supervisor``; numbering goes on
        from ``seq``."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._file_wake = asyncio.Event()
        self._seq = seq
        self._executor = self._shared_executor or ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="framecast-encode"
        )
        suffix = "" if self.stream == "default" else f" {self.stream}"
        self._tasks = [
            supervisor.spawn("encoder" + suffix, self._encode_loop),
            supervisor.spawn("webfiles" + suffix, self._file_loop),
        ]
        with self._lock:
            if self._pending is not None:
                self._wake.set()

    async def stop(self) -> None:
        """Stop the tasks; the newest published frame is on disk when this returns."""
        await cancel_all(self._tasks, f"stopping stream {self.stream!r}")
        self._tasks = []
        left = self._take()
        self._release()
        if left is not None:
            _report(left[0], None)
        frame = self._file_frame
        if frame is not None and self._executor is not None:
            self._file_frame = None
            try:
                await within(self._write_files(frame), STOP_WRITE_WAIT)
            except TimeoutError:  # a hung disk (a stale network mount) does not hang stop()
                log.warning(
                    "the web files in %s were not written within %g s of stop; they may not "
                    "hold the newest frame",
                    self._web_root,
                    STOP_WRITE_WAIT,
                )
        if self._executor is not None and self._executor is not self._shared_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None
        self._loop = None

    # -- intake (any thread) -----------------------------------------------------------------
    def submit(self, incoming: Incoming) -> None:
        """Queue ``incoming`` as the newest image, replacing any not yet encoded. Never blocks."""
        now = time.time()
        with self._lock:
            replaced = self._pending
            self.counters.submitted(superseding=replaced is not None)
            self._pending = (incoming, incoming.time or now)
            loop, wake = self._loop, self._wake
            # From here until it is fanned out, background work waits for this frame. Not
            # while nobody wants it: then the frame may wait for the web file's turn.
            if loop is not None and self._wanted():
                self._hold()
        if loop is not None and wake is not None:
            # A loop closed during shutdown raises RuntimeError: the image is simply not shown.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)
                if replaced is not None and replaced[0].on_published is not None:
                    loop.call_soon_threadsafe(_report, replaced[0], None)
        elif replaced is not None:  # not started: nothing else can report it
            _report(replaced[0], None)

    # -- tasks -------------------------------------------------------------------------------
    def _take(self) -> tuple[Incoming, float] | None:
        with self._lock:
            item, self._pending = self._pending, None
            return item

    def _hold(self) -> None:
        """Hold the priority for a frame on its way (at most one count). Under ``_lock``."""
        if not self._holding:
            self._holding = True
            self._priority.begin()

    def _release(self, *, unless_pending: bool = False) -> None:
        """Give the priority back (kept if ``unless_pending`` and another image waits)."""
        with self._lock:
            if self._holding and not (unless_pending and self._pending is not None):
                self._holding = False
                self._priority.end()

    def _wanted(self) -> bool:
        """Whether the pending image is wanted now (see the module docstring): a viewer
        here, other nodes, or a sender waiting for its number. Under ``_lock``, or on the
        loop (a stale answer only costs one more turn of :meth:`_encode_loop`)."""
        if self._hub.clients or self._on_frame is not None:
            return True
        pending = self._pending
        return pending is not None and pending[0].on_published is not None

    async def _encode_loop(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while not self._wanted():
                # Nobody wants it yet: wait until the web file is due, a viewer arrives or a
                # newer image comes (its sender may be waiting for it).
                self._release()  # no fan-out to hurry, background work may go on
                delay = self._next_file_time - time.monotonic()
                if delay <= 0:
                    break
                self._hub.client_arrived.clear()
                self._wake.clear()
                await _first_set((self._hub.client_arrived, self._wake), delay)
            item = self._take()
            if item is not None:
                await self._publish(*item)

    async def _publish(self, incoming: Incoming, stamp: float) -> None:
        """One image, start to end: numbered, made into a frame off the loop, sent to the
        other nodes, fanned out here, its sender told. Ahead of background work (tiles,
        analysis: :mod:`framecast.runtime.priority`) from its arrival until it is fanned out.
        A failure is this frame's alone. A method of its own, so that nothing of the image
        outlives it on the encoder's stack."""
        assert self._loop is not None
        with self._lock:
            self._hold()
        frame: Frame | None = None
        try:
            seq = self._seq + 1
            if self._numbering is not None:
                seq = max(await self._numbering(self.stream, self._seq), seq)
            try:
                frame = await self._loop.run_in_executor(
                    self._executor, self._make_frame, incoming, seq, stamp
                )
            except FramecastError as exc:
                log.warning("skipped %s: %s", incoming.name or "image", exc)
            except Exception:
                log.exception("could not make a frame of %s", incoming.name or "image")
        finally:
            if frame is None:  # failed (counted below) or stopped: not shown, its sender told
                self._release(unless_pending=True)
                _report(incoming, None)
        if frame is None:
            self.counters.frames_failed += 1
            return
        self._superseded += self._latest_weight
        self._latest_weight = weight(frame)
        try:
            if self._on_frame is not None:
                # The broker's send starts before this node's own fan-out (tens of ms with
                # many viewers), so the other nodes' viewers do not wait behind it.
                self._on_frame(frame)
                await asyncio.sleep(0)
        finally:
            # Shown here even if a client's writer fails, and even if stopped while the
            # broker's send began (the other nodes show it): latest, fanned out, due on disk.
            try:
                self.show(frame)
            finally:
                self._release(unless_pending=True)  # the next image is on its way already
                _report(incoming, seq)
        log.debug("published frame %d (%d bytes)", seq, len(frame.jpeg))
        del frame
        # Superseded frames are unreferenced by now (or soon, as slow clients are evicted).
        if self._superseded >= TRIM_AFTER_BYTES:
            self._superseded = 0
            await self._loop.run_in_executor(self._executor, _give_back_memory)

    def show(self, frame: Frame) -> None:
        """Publish a frame as it is (one made here, or another node's, through the broker):
        its number is kept, and this pipeline's own numbering goes on after it; its web files
        are due. Event loop."""
        self._seq = max(self._seq, frame.seq)
        self._hub.publish(frame)
        if self._file_wake is not None:
            self._file_frame = frame
            self._file_wake.set()

    def _make_frame(self, incoming: Incoming, seq: int, stamp: float) -> Frame:
        """Decode, encode and render one image (worker thread)."""
        image = incoming.load()
        metadata = incoming.metadata
        sky = formats.fits_wcs(image)  # a FITS file's WCS joins its metadata (docs/science.md)
        if sky:
            metadata = {**sky, **metadata}  # the publisher's own keys win
        encoded = self._encode(image, self._options)
        del image
        display = encoded.display
        pyramid = None
        if display is not None:
            pyramid = Pyramid(display, quality=self._options.quality)
        return Frame(
            seq=seq,
            time=stamp,
            jpeg=encoded.jpeg,
            width=encoded.width,
            height=encoded.height,
            metadata=metadata,
            original=encoded.original,
            source_width=encoded.source_width,
            source_height=encoded.source_height,
            stream=self.stream,
            pyramid=pyramid,
            raw=Raw.of(encoded.published) if self._keep_raw else None,
            overlays=incoming.overlays,
            lossless=encoded.lossless,
        )

    async def _file_loop(self) -> None:
        assert self._file_wake is not None
        while True:
            await self._file_wake.wait()
            self._file_wake.clear()
            delay = self._next_file_time - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # throttle: max_file_rate writes per second
            frame = self._file_frame
            if frame is None:
                continue
            self._next_file_time = time.monotonic() + self._file_period
            # The frame stays due until it is written: stopped while its write waits for a
            # thread (the write is then cancelled), stop() writes it.
            await self._write_files(frame)
            if self._file_frame is frame:
                self._file_frame = None
            del frame  # do not keep it alive while waiting for the next one

    async def _write_files(self, frame: Frame) -> None:
        assert self._loop is not None
        if self._writing is not None:
            await asyncio.wait([self._writing])
        self._writing = self._loop.run_in_executor(
            self._executor,
            _write_frame_bytes,
            self._web_root,
            frame.jpeg,
            frame.renderings.data_json,
        )
        try:
            await asyncio.shield(self._writing)
        except OSError as exc:
            count = self._write_errors.due()
            if count is not None:
                log.error(
                    "could not write %s (%d time(s) since the last report): %s; viewers are "
                    "still served from memory",
                    self._web_root / webfolder.IMAGE_NAME,
                    count,
                    exc.strerror or exc,
                )
            return
        if self._write_errors.seen:
            log.info("web files in %s are written again", self._web_root)
            self._write_errors = LogThrottle(WRITE_ERROR_INTERVAL)

    @property
    def seq(self) -> int:
        return self._seq


async def _first_set(events: tuple[asyncio.Event, ...], seconds: float) -> None:
    """Return once any of ``events`` is set, or after ``seconds``."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_all(waits, "waiting for an image to be wanted")


def _write_frame_bytes(folder: Path, jpeg: bytes, data_json: bytes) -> None:
    """Write the web files, creating a stream's folder (``s/NAME/``) on its first frame."""
    folder.mkdir(parents=True, exist_ok=True)
    webfolder.write_frame_bytes(folder, jpeg, data_json)


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to do
        return None
    return trim


_malloc_trim = _load_trim()


def _give_back_memory() -> None:
    """Return the allocator's free memory to the operating system (glibc only)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _report(incoming: Incoming, seq: int | None) -> None:
    """Tell the submitter (on the loop) what became of its image."""
    if incoming.on_published is not None:
        try:
            incoming.on_published(seq)
        except Exception:
            log.exception("on_published callback of %s failed", incoming.name or "image")
