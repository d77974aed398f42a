"""Streams: many cameras on one server (docs/streams.md).

A :class:`Stream` is one named camera: its own hub (latest frame, viewers), pipeline
(pending image), counters (:mod:`framecast.live.counters`), history (its last frames,
docs/history.md), web files and snapshot folder. Every frame its hub publishes also goes to its
history; all the histories share one byte budget (``max_history_bytes``). The
:class:`Streams` registry maps names to streams; it is the one place a stream is made, so
the name rules and the ``max_streams`` cap hold for every way in (``publish(stream=…)``,
ingest, sources).

Cost: every pipeline encodes in the one pool the server hands the registry (bounded
threads, shared by all streams); a pipeline's tasks only wake when an image arrives, and a
stream nobody wants only encodes when its web files are due (``max_file_rate``): nobody
watches it here, no broker carries it to other nodes and no sender waits for its number.

The registry is thread-safe: ``publish()`` may create a stream from any thread. A stream
made off the event loop is usable at once (its pending slot holds the image) and its
pipeline starts on the loop moments later.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path

from framecast import imaging
from framecast.config.settings import Settings
from framecast.config.streamname import DEFAULT_STREAM, NAME_PATTERN, STREAM_PREFIX, check_name
from framecast.errors import ServerStateError, StreamLimitError, spell
from framecast.live.counters import StreamCounters
from framecast.live.frames import Frame
from framecast.live.history import History, HistoryBudget
from framecast.live.hub import Hub
from framecast.live.pipeline import Numbering, Pipeline
from framecast.live.presenter import Presenter, Relay
from framecast.live.snapshots import SNAPSHOTS_FOLDER
from framecast.runtime.priority import LiveFirst
from framecast.runtime.supervisor import Supervisor
from framecast.science.answers import Answers

__all__ = ["DEFAULT_STREAM", "NAME_PATTERN", "HistoryHub", "Stream", "Streams", "check_name"]


class HistoryHub(Hub):
    """A stream's hub: each frame it publishes is kept in the stream's history first, so a
    viewer told about frame N finds it at ``/history/N.jpg``."""

    def __init__(self, history: History, counters: StreamCounters | None = None) -> None:
        super().__init__(counters)
        self.history = history

    def publish(self, frame: Frame) -> None:
        self.history.add(frame)
        super().publish(frame)


class Stream:
    """One named stream: hub, pipeline, history, folders and its own counters (its hub's,
    which its pipeline counts into too)."""

    def __init__(
        self,
        name: str,
        hub: HistoryHub,
        pipeline: Pipeline,
        *,
        web_folder: Path,
        snapshot_folder: Path,
        has_source: bool = False,
        relay: Relay | None = None,
    ) -> None:
        self.name = name
        self.hub = hub
        self.history = hub.history
        self.pipeline = pipeline
        self.web_folder = web_folder
        self.snapshot_folder = snapshot_folder
        #: A source (folder, camera, simulator) feeds it, as opposed to publish() or ingest.
        self.has_source = has_source
        #: What ``/api/status`` reports of this stream; the ``reset`` command zeroes them.
        self.counters = hub.counters
        #: The node that published the latest frame when it came through the broker
        #: (docs/scale-out.md), ``None`` when it was made here: where this stream's commands go.
        self.publisher: str | None = None
        #: Who presents and what they show (docs/together.md), told through the hub.
        self.presenter = Presenter(hub, name, relay)

    @property
    def path(self) -> str:
        """The stream's viewer path on this server: ``/s/NAME/``."""
        return f"/{STREAM_PREFIX}/{self.name}/"

    @property
    def latest(self) -> Frame | None:
        return self.hub.latest

    def summary(self) -> dict[str, object]:
        """The stream's line in ``GET /api/streams``."""
        latest = self.hub.latest
        return {
            "name": self.name,
            "url": self.path,
            "seq": latest.seq if latest else 0,
            "time": latest.time if latest else None,
            "width": latest.width if latest else None,
            "height": latest.height if latest else None,
            "clients": self.hub.clients,
        }


class Streams:
    """The registry: name → :class:`Stream`, capped at ``max_streams``."""

    def __init__(
        self,
        settings: Settings,
        *,
        web_root: Path,
        executor: Executor | None = None,
        seqs: dict[str, int] | None = None,
        numbering: Numbering | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        on_view: Relay | None = None,
    ) -> None:
        """``numbering`` and ``on_frame``: every pipeline's (a broker's, docs/scale-out.md);
        ``on_view``: every presenter's (a broker's, docs/together.md)."""
        self._numbering = numbering
        self._on_frame = on_frame
        self._on_view = on_view
        self._settings = settings
        self._web_root = web_root
        self._executor = executor
        self._options = imaging.DisplayOptions.from_settings(settings)
        self._seqs = seqs if seqs is not None else {}
        self._streams: dict[str, Stream] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._supervisor: Supervisor | None = None
        self._closed = False
        self._budget = HistoryBudget(settings.max_history_bytes)
        #: What is derived from every stream's frames and kept with them, one bound for all
        #: (``max_frame_cache_bytes``): deep-zoom tiles, answers about raw data
        #: (docs/science.md) and the decoded pixels of JPEG frames.
        self.answers = Answers(settings.max_frame_cache_bytes)
        #: Live frames first: tile and analysis workers wait while any stream makes a frame.
        self.priority = LiveFirst()

    @property
    def history_bytes(self) -> int:
        """The bytes every stream's history holds together."""
        return self._budget.bytes

    # -- lookup (any thread) -----------------------------------------------------------------
    def get(self, name: str) -> Stream | None:
        return self._streams.get(name)

    @property
    def default(self) -> Stream:
        stream = self._streams.get(DEFAULT_STREAM)
        if stream is None:  # pragma: no cover - the server makes it first
            raise ServerStateError("the default stream does not exist yet")
        return stream

    def __iter__(self) -> Iterator[Stream]:
        """Every stream, sorted by name."""
        with self._lock:
            streams = sorted(self._streams.values(), key=lambda s: s.name)
        return iter(streams)

    def __len__(self) -> int:
        return len(self._streams)

    def room(self, name: str) -> None:
        """Raise :class:`StreamLimitError` if stream ``name`` does not exist and
        ``max_streams`` already do (a cheap check before an upload is read)."""
        if name not in self._streams and len(self._streams) >= self._settings.max_streams:
            raise self._limit_error(name)

    def _limit_error(self, name: str) -> StreamLimitError:
        limit = self._settings.max_streams
        return StreamLimitError(
            f"cannot create stream {name!r}: this server already carries {limit} streams "
            f"(max_streams); publish to an existing one or raise {spell('max_streams')}"
        )

    # -- making streams (any thread) ---------------------------------------------------------
    def create(self, name: str, *, has_source: bool = False) -> Stream:
        """The stream ``name``, made if it does not exist yet.

        :class:`ConfigError` for an invalid name, :class:`StreamLimitError` beyond
        ``max_streams``, :class:`ServerStateError` once the server is stopping."""
        stream = self._streams.get(name)
        if stream is not None:
            return stream
        check_name(name)
        with self._lock:
            stream = self._streams.get(name)
            if stream is not None:
                return stream
            if self._closed:
                raise ServerStateError("the server is stopping; start it again to publish")
            if len(self._streams) >= self._settings.max_streams:
                raise self._limit_error(name)
            stream = self._make(name, has_source)
            self._streams[name] = stream
            loop = self._loop
        if loop is not None:
            if _running_loop() is loop:
                self._start(stream)
            else:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(self._start, stream)
        return stream

    def _make(self, name: str, has_source: bool) -> Stream:
        default = name == DEFAULT_STREAM
        web_folder = self._web_root if default else self._web_root / STREAM_PREFIX / name
        snapshots = self._settings.work_folder / SNAPSHOTS_FOLDER
        hub = HistoryHub(History(self._settings.history, self._budget), StreamCounters())
        pipeline = Pipeline(
            hub,
            web_folder,
            self._options,
            max_file_rate=self._settings.max_file_rate,
            keep_raw=self._settings.keep_raw,
            priority=self.priority,
            executor=self._executor,
            stream=name,
            numbering=self._numbering,
            on_frame=self._on_frame,
        )
        return Stream(
            name,
            hub,
            pipeline,
            web_folder=web_folder,
            snapshot_folder=snapshots if default else snapshots / name,
            has_source=has_source,
            relay=self._on_view,
        )

    # -- lifecycle (event loop) --------------------------------------------------------------
    def start(self, supervisor: Supervisor) -> None:
        """Start every stream's pipeline under ``supervisor``; later streams start as made."""
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._supervisor = supervisor
            streams = list(self._streams.values())
        for stream in streams:
            self._start(stream)

    def _start(self, stream: Stream) -> None:
        if self._closed or self._supervisor is None:
            return
        stream.pipeline.start(self._supervisor, self._seqs.get(stream.name, 0))

    def close_hubs(self) -> None:
        """No new streams; every viewer of every stream is told ``disconnect``."""
        with self._lock:
            self._closed = True
        for stream in self:
            stream.hub.close()
            stream.presenter.close()

    async def stop(self) -> None:
        """Stop every pipeline (each writes its newest frame); sequence numbers are kept
        for the next start."""
        with self._lock:
            self._closed = True
        streams = list(self)
        await asyncio.gather(*(stream.pipeline.stop() for stream in streams))
        for stream in streams:
            self._seqs[stream.name] = stream.pipeline.seq
        self._loop = None

    @property
    def seqs(self) -> dict[str, int]:
        return self._seqs


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
