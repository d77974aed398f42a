"""``ImageServer``: the composition root that wires sources → pipeline → hub → web.

It runs either on its own asyncio loop in a dedicated thread (``start``/``stop``, for
desktop programs) or on the caller's loop (``astart``/``astop``, ``async with``). What a
started server runs is one :class:`~framecast.running.Running` object, made by ``astart``
and taken down by ``astop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from types import TracebackType
from typing import Any, Unpack

import numpy as np

from framecast import imaging
from framecast.broker.node import Broker
from framecast.config.settings import ServerOptions, Settings, StreamOptions
from framecast.config.streamname import DEFAULT_STREAM, check_name
from framecast.errors import ConfigError, ServerStateError, spell
from framecast.live.commands import Commands, Handler
from framecast.live.frames import Incoming
from framecast.live.metadata import check_value as check_metadata
from framecast.live.shapes import ShapeLimits, check_overlays
from framecast.live.streams import Streams
from framecast.running import Address, Running
from framecast.web import listener
from framecast.web.alerting import check_alert_settings
from framecast.web.status import report

__all__ = ["ImageServer"]

log = logging.getLogger("framecast.server")

#: Seconds status() waits for the server's loop when called from another thread.
STATUS_WAIT = 10.0


class ImageServer:
    """A live image server.

    >>> server = ImageServer(work_folder="work", port=0, displayed_address="ip:127.0.0.1")
    >>> url = server.start()
    >>> server.publish(np.zeros((4, 4), np.uint8), metadata={"STACK_SIZE": 1})
    >>> server.stop()

    Every keyword matches a ``framecast serve`` option (see ``docs/settings.md``) and is typed
    (:class:`~framecast.config.settings.ServerOptions`); a ready
    :class:`~framecast.config.settings.Settings` may
    be passed first instead, e.g. ``ImageServer(Settings(port=0), token="s3cret")``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        /,
        *,
        streams: Mapping[str, StreamOptions] | None = None,
        **options: Unpack[ServerOptions],
    ) -> None:
        """``streams`` gives named streams their own sources, e.g.
        ``streams={"cam1": {"zmq": "tcp://camera-1:9999", "zmq_mode": "sub"}}`` (the keys of
        :data:`~framecast.config.settings.SOURCE_KEYS`); the top-level source options feed the
        default stream. Streams without a source are made by ``publish(stream=…)`` or
        ingest."""
        if settings is None:
            self.settings = Settings.build(**options)
        else:  # built and checked once (the CLI's path); keywords, if any, override it
            self.settings = settings.replace(**options) if options else settings
        # What only imaging can check (the colormap's name), here rather than at start().
        imaging.DisplayOptions.from_settings(self.settings)
        check_alert_settings(self.settings)  # a malformed rule or webhook stops here
        self._named_streams = _stream_settings(self.settings, streams or {})
        self._commands = Commands(self.settings)
        #: The parts of the running server (None when stopped): made by astart(), consumed
        #: by astop() (:mod:`framecast.running`).
        self._running: Running | None = None
        #: Where the last start listened (kept after stop, like the URL it printed).
        self._address = Address()
        #: Each stream's last sequence number: numbering goes on when started again.
        self._seqs: dict[str, int] = {}
        # The threaded lifecycle (start/stop): its thread, its loop, what wakes it to stop.
        self._state_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread_stop: asyncio.Event | None = None

    # -- properties -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The displayed URL (what to open on another device); empty before start."""
        return self._address.url

    @property
    def port(self) -> int:
        """The bound port (the real one when port 0 was asked)."""
        return self._address.port

    @property
    def access_limited(self) -> bool:
        """True when the displayed address is loopback: other devices cannot reach the URL."""
        return self._address.access_limited

    @property
    def running(self) -> bool:
        return self._running is not None

    @property
    def work_folder(self) -> Path:
        return self.settings.work_folder

    @property
    def web_folder(self) -> Path:
        return self.settings.web_root

    @property
    def _streams(self) -> Streams | None:
        """The running server's streams (for tests and debugging)."""
        return self._running.streams if self._running is not None else None

    @property
    def _broker(self) -> Broker | None:
        """The running server's link to the broker (for tests and debugging)."""
        return self._running.broker if self._running is not None else None

    def status(self) -> dict[str, Any]:
        """The same counters as ``GET /api/status``. Thread-safe: from a thread other than
        the server's event loop it is read on that loop (waiting at most
        :data:`STATUS_WAIT` s), never while the loop changes it."""
        current = self._running
        if current is None:
            raise ServerStateError("the server is not running; call start() first")
        loop = current.home
        if _running_loop() is loop:
            return self._report()
        answer: Future[dict[str, Any]] = Future()

        def read() -> None:
            if not answer.set_running_or_notify_cancel():
                return  # the caller stopped waiting
            try:
                answer.set_result(self._report())
            except BaseException as exc:  # handed to the caller's thread
                answer.set_exception(exc)

        try:
            loop.call_soon_threadsafe(read)
        except RuntimeError:  # the loop closed meanwhile
            raise ServerStateError("the server is not running; call start() first") from None
        try:
            return answer.result(STATUS_WAIT)
        except FutureTimeout:
            answer.cancel()
            raise ServerStateError(
                f"the server's event loop did not answer within {STATUS_WAIT:g} s (it is "
                "stopping, or blocked); try again"
            ) from None

    def _report(self) -> dict[str, Any]:
        """The status, read on the server's loop: what ``GET /api/status`` answers."""
        current = self._running
        if current is None:
            raise ServerStateError("the server is not running; call start() first")
        return report(current.context)

    # -- publishing -----------------------------------------------------------------------------
    def publish(
        self,
        image: Any,
        metadata: Mapping[str, Any] | None = None,
        *,
        stream: str = "default",
        overlays: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Show ``image`` to every viewer of ``stream``. Thread-safe; returns at once.

        ``image``: a numpy array (2-D, or H×W×3/4; any integer or float dtype), a PIL image,
        JPEG/PNG/TIFF/FITS bytes, or a path to an image file. Encoding happens off the
        caller's thread; if images come faster than they can be shown, the newest wins.
        ``stream`` names the stream (camera) the image belongs to; it is made on first use
        (at most ``max_streams``). Raises :class:`~framecast.errors.ConfigError` for an
        invalid stream name (:class:`~framecast.errors.StreamLimitError` beyond
        ``max_streams``), :class:`~framecast.errors.ImageError` for unusable input,
        :class:`~framecast.errors.MetadataError` for metadata nested deeper than
        ``max_metadata_depth`` or larger than ``max_metadata_bytes`` (in both cases nothing
        already published changes) and :class:`~framecast.errors.ServerStateError` when not
        running.

        ``overlays``: shapes the viewer draws over this image only (circles, rectangles,
        lines, polygons, points and texts in its pixels, docs/together.md), e.g.
        ``[{"shape": "circle", "x": 512, "y": 384, "r": 12, "text": "beam"}]``; a shape it
        cannot draw raises :class:`~framecast.errors.ShapeError` naming it, and nothing is
        published.
        """
        current = self._running
        if current is None:
            raise ServerStateError("publish() needs a running server; call start() first")
        check_name(stream)
        imaging.check(image, max_pixels=self.settings.max_image_pixels)
        if isinstance(image, np.ndarray):
            image = image.copy()  # the caller may reuse its buffer as soon as we return
        elif isinstance(image, bytearray | memoryview):
            image = bytes(image)
        elif hasattr(image, "copy") and hasattr(image, "mode"):  # PIL image
            image = image.copy()
        if not isinstance(metadata, Mapping | None):
            raise ConfigError("metadata must be a dict of names to values, or None")
        meta = dict(metadata) if metadata is not None else {}
        check_metadata(
            meta,
            max_depth=self.settings.max_metadata_depth,
            max_bytes=self.settings.max_metadata_bytes,
        )
        shapes = check_overlays(overlays, ShapeLimits.of(self.settings))
        target = current.streams.create(stream)
        target.pipeline.submit(
            Incoming(load=lambda: image, metadata=meta, time=time.time(), overlays=shapes)
        )

    def on_command(self, name: str, handler: Handler) -> None:
        """Let ``/control`` clients send ``{"cmd": name, ...}``; works before and after start.

        ``handler(fields)`` gets the command's JSON fields (everything but ``cmd``); it may be
        a plain function (run in a worker thread) or ``async``. It returns a dict, which is
        the reply, or ``None`` (reply ``{"ok": true}``); an exception becomes
        ``{"ok": false, "error": "<message>"}``. The command works on every stream; the
        fields include ``"stream": <name>``, the stream it was sent to. The built-in names
        ``snapshot_now`` and ``reset`` cannot be taken
        (:class:`~framecast.errors.ConfigError`); registering a name again replaces its
        handler.
        """
        self._commands.register(name, handler)

    # -- async lifecycle ------------------------------------------------------------------------
    async def astart(self) -> str:
        """Start on the running event loop; returns the displayed URL."""
        if self._running is not None:
            raise ServerStateError("the server is already running; call stop() first")
        started = await Running.start(
            self.settings, named=self._named_streams, commands=self._commands, seqs=self._seqs
        )
        self._running, self._address = started, started.address
        return started.address.url

    async def astop(self) -> None:
        """Tell clients ``disconnect``, give them a short grace to close, shut down.

        Idempotent. Web folder files stay on disk. Returns within about 2 s."""
        current = self._running
        if current is None:
            return
        try:
            await current.stop()
        finally:
            if self._running is current:
                self._running = None

    async def __aenter__(self) -> ImageServer:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    # -- threaded lifecycle ---------------------------------------------------------------------
    def start(self) -> str:
        """Start on a dedicated thread with its own event loop; returns the displayed URL."""
        with self._state_lock:
            if self._thread is not None:
                raise ServerStateError("the server is already running; call stop() first")
            started: Future[str] = Future()
            self._thread = threading.Thread(
                target=self._thread_main, args=(started,), name="framecast", daemon=True
            )
            self._thread.start()
            try:
                return started.result()
            except BaseException:
                self._thread.join()
                self._thread = None
                raise

    def _thread_main(self, started: Future[str]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        listener.AcceptErrorLog.install(loop)
        self._loop = loop
        stop_event = asyncio.Event()
        self._thread_stop = stop_event

        async def main() -> None:
            try:
                url = await self.astart()
            except BaseException as exc:
                started.set_exception(exc)
                return
            started.set_result(url)
            await stop_event.wait()
            await self.astop()

        try:
            loop.run_until_complete(main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    def stop(self) -> None:
        """Stop a server started with :meth:`start`. Idempotent; the server can start again."""
        with self._state_lock:
            thread, loop, event = self._thread, self._loop, self._thread_stop
            if thread is None:
                return
            if loop is not None and event is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(event.set)
            thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> ImageServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _stream_settings(
    settings: Settings, streams: Mapping[str, StreamOptions]
) -> dict[str, Settings]:
    """Check the named streams' sources (name, keys, values, ``max_streams``) before start."""
    found: dict[str, Settings] = {}
    for name, sources in streams.items():
        check_name(name)
        if name == DEFAULT_STREAM:
            raise ConfigError(
                "the default stream's sources are the top-level options (watch=, zmq=, "
                "simulate=); give streams= only the named streams"
            )
        if not isinstance(sources, Mapping):
            raise ConfigError(f"the sources of stream {name!r} must be a dict of options")
        found[name] = settings.for_stream(**sources)
    if len(found) + 1 > settings.max_streams:
        raise ConfigError(
            f"{len(found)} named streams and the default one are more than max_streams "
            f"({settings.max_streams}); raise {spell('max_streams')}"
        )
    return found


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
