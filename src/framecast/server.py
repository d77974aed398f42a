"""``ImageServer``: the composition root that wires sources → pipeline → hub → web.

It runs either on its own asyncio loop in a dedicated thread (``start``/``stop``, for
desktop programs) or on the caller's loop (``astart``/``astop``, ``async with``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import ssl
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from types import TracebackType
from typing import Any, Unpack

import numpy as np
from aiohttp import web

from framecast import imaging
from framecast.broker.node import Broker
from framecast.config.settings import ServerOptions, Settings, StreamOptions
from framecast.config.streamname import DEFAULT_STREAM, check_name
from framecast.errors import ConfigError, PortInUseError, ServerStateError, SourceError
from framecast.live import webfolder
from framecast.live.commands import Commands, Handler
from framecast.live.frames import Incoming
from framecast.live.metadata import check_value as check_metadata
from framecast.live.pipeline import Pipeline
from framecast.live.streams import Stream, Streams
from framecast.network import address
from framecast.network.clientaddress import parse_networks
from framecast.runtime.deadline import STOP_WAIT, cancel_all, within
from framecast.runtime.supervisor import Supervisor
from framecast.sources import Source, create_sources
from framecast.web import listener, origins, status
from framecast.web.app import build_app
from framecast.web.context import Connections, WebContext
from framecast.web.deepzoom import JPEG_TILE, tile_answer
from framecast.web.downloads import RAW_ROUTES, raw_answer
from framecast.web.numbers import ANALYSIS_ROUTES, analysis_answer
from framecast.web.peerdownloads import responder

__all__ = ["ImageServer"]

log = logging.getLogger("framecast.server")

#: How long stop() waits for clients to close after ``disconnect`` (SPEC: about 2 s at most).
STOP_GRACE = 1.5
#: Threads that decode uploaded images: a bound on the memory concurrent uploads can take.
DECODE_THREADS = 2
#: Seconds a refused request's unread body is still read (and dropped) before closing, so
#: the client can see the answer; aiohttp's default of 10 s lets slow clients hold sockets.
LINGER = 2.0
_WAITING_TEXT = "waiting for the first image"
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
        self._named_streams = _stream_settings(self.settings, streams or {})
        self._streams: Streams | None = None
        self._context: WebContext | None = None
        self._runner: web.AppRunner | None = None
        self._site_port = 0
        self._url = ""
        self._access_limited = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_stop: asyncio.Event | None = None
        self._supervisor: Supervisor | None = None
        self._source_tasks: list[asyncio.Task[None]] = []
        self._decoder: ThreadPoolExecutor | None = None
        self._encoder: ThreadPoolExecutor | None = None
        self._sources: list[Source] = []
        self._state_lock = threading.Lock()
        self._seqs: dict[str, int] = {}
        self._commands = Commands(self.settings)
        #: The loop the running server lives on (its own thread's, or astart()'s caller's).
        self._home: asyncio.AbstractEventLoop | None = None
        self._broker: Broker | None = None

    # -- properties -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The displayed URL (what to open on another device); empty before start."""
        return self._url

    @property
    def port(self) -> int:
        """The bound port (the real one when port 0 was asked)."""
        return self._site_port

    @property
    def access_limited(self) -> bool:
        """True when the displayed address is loopback: other devices cannot reach the URL."""
        return self._access_limited

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def work_folder(self) -> Path:
        return self.settings.work_folder

    @property
    def web_folder(self) -> Path:
        return self.settings.web_root

    def status(self) -> dict[str, Any]:
        """The same counters as ``GET /api/status``. Thread-safe: from a thread other than
        the server's event loop it is read on that loop (waiting at most
        :data:`STATUS_WAIT` s), never while the loop changes it."""
        loop = self._home
        if loop is None:
            raise ServerStateError("the server is not running; call start() first")
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
        """The status, read on the server's loop."""
        context, supervisor = self._context, self._supervisor
        if context is None or supervisor is None:
            raise ServerStateError("the server is not running; call start() first")
        return status.report(context, supervisor, self._broker_status())

    def _broker_status(self) -> dict[str, Any]:
        broker, context = self._broker, self._context
        if broker is None:
            return {"broker": "off", "broker_reason": None}
        joined = context.raw_joined if context is not None else 0
        return {**broker.status(), "broker_raw_joined": joined}

    # -- publishing -----------------------------------------------------------------------------
    def publish(
        self, image: Any, metadata: Mapping[str, Any] | None = None, *, stream: str = "default"
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
        """
        streams = self._streams
        if streams is None:
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
        target = streams.create(stream)
        target.pipeline.submit(Incoming(load=lambda: image, metadata=meta, time=time.time()))

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
        if self._runner is not None:
            raise ServerStateError("the server is already running; call stop() first")
        settings = self.settings
        listener.raise_open_file_limit()
        webfolder.prepare_folder(settings.work_folder, "work folder")
        web_root = webfolder.prepare_folder(settings.web_root, "web folder")
        ssl_context = self._ssl_context()
        placeholder = await asyncio.to_thread(self._prepare_web_folder, web_root)

        # Before any thread exists: without the redis package this is a one-line ConfigError.
        broker = Broker(settings, self._commands) if settings.broker is not None else None
        encoder = ThreadPoolExecutor(settings.encode_threads, thread_name_prefix="framecast-encode")
        if broker is not None:
            broker.executor = encoder
        streams = Streams(
            settings,
            web_root=web_root,
            executor=encoder,
            seqs=self._seqs,
            numbering=broker.numbering if broker is not None else None,
            on_frame=broker.on_frame if broker is not None else None,
        )
        streams.create(DEFAULT_STREAM, has_source=settings.has_source)
        for name in self._named_streams:
            streams.create(name, has_source=True)
        context = WebContext(
            settings=settings,
            streams=streams,
            commands=self._commands,
            live=Connections(),
            status=self._report,
            placeholder=placeholder,
            trusted_proxies=parse_networks(settings.trusted_proxies),
        )
        app = build_app(context)
        try:
            runner = await _listen(app, settings, ssl_context)
            try:
                displayed = self._locate(runner, context)
            except ConfigError:
                await runner.cleanup()
                raise
        except ConfigError:
            encoder.shutdown(wait=False)
            raise
        self._decoder = ThreadPoolExecutor(DECODE_THREADS, thread_name_prefix="framecast-decode")
        context.decoder = self._decoder
        supervisor = Supervisor()
        streams.start(supervisor)
        if broker is not None:
            self._join(broker, app, context, supervisor)
        self._broker = broker
        self._streams, self._context, self._runner = streams, context, runner
        self._encoder, self._supervisor = encoder, supervisor
        self._home = asyncio.get_running_loop()
        fed = [(streams.default, settings), *self._named_sources(streams)]
        try:
            made = [(stream, create_sources(config)) for stream, config in fed]
        except Exception:
            await self.astop()
            raise
        for stream, sources in made:
            for source in sources:
                self._start_source(supervisor, stream, source)
        # The URL itself is start()'s answer (and the CLI prints it): log the folder only.
        log.info("framecast serving the web folder %s", web_root)
        if self._access_limited:
            log.warning("%s", address.unreachable_warning(settings.host, displayed, self._url))
        return self._url

    def _locate(self, runner: web.AppRunner, context: WebContext) -> str:
        """Learn the bound port, then the URL viewers are shown and the origins allowed;
        returns the address shown."""
        settings = self.settings
        self._site_port = _bound_port(runner, settings.port)
        displayed = address.displayed_ip(settings.displayed_address, settings.host)
        scheme = "https" if settings.tls else "http"
        self._url = address.make_url(scheme, displayed, self._site_port)
        self._access_limited = address.is_loopback(displayed)
        context.url = self._url
        context.access_limited = self._access_limited
        context.origins = origins.server_origins(
            scheme=scheme,
            port=self._site_port,
            hosts=origins.own_hosts(settings.host, displayed),
            allowed=settings.allowed_origins,
        )
        return displayed

    def _join(
        self, broker: Broker, app: web.Application, context: WebContext, supervisor: Supervisor
    ) -> None:
        """Start the broker: frames relayed, commands forwarded, raw routes asked of the
        publishing node and answered here for other nodes."""
        local = dict.fromkeys(RAW_ROUTES, raw_answer)
        local.update(dict.fromkeys(ANALYSIS_ROUTES, analysis_answer))
        local[JPEG_TILE] = tile_answer  # deep-zoom tiles of frames larger than max_web_size
        broker.answerer = responder(app, local)
        context.ask_raw = broker.ask_raw
        broker.start(supervisor, context.streams)
        self._commands.remote = broker.control

    def _start_source(self, supervisor: Supervisor, stream: Stream, source: Source) -> None:
        self._sources.append(source)
        label = source.name if stream.name == DEFAULT_STREAM else f"{source.name} {stream.name}"
        self._source_tasks.append(
            supervisor.spawn(
                f"source {label}", functools.partial(self._pump, source, stream.pipeline, label)
            )
        )

    async def astop(self) -> None:
        """Tell clients ``disconnect``, give them a short grace to close, shut down.

        Idempotent. Web folder files stay on disk. Returns within about 2 s."""
        runner, streams, context = self._runner, self._streams, self._context
        if runner is None or streams is None or context is None:
            return
        running = self._commands.still_running
        if running:
            log.warning(
                "stopping while command(s) %s still run in their threads; they end there, "
                "and their outcome may not be logged",
                ", ".join(map(repr, running)),
            )
        # Sources first (nothing new comes in); the pipeline's tasks end with pipeline.stop().
        await cancel_all(self._source_tasks, "stopping the sources")
        self._source_tasks = []
        for source in self._sources:
            try:
                await within(source.aclose(), STOP_WAIT)
            except TimeoutError:
                log.warning(
                    "source %s did not close within %g s; left behind", source.name, STOP_WAIT
                )
            except Exception:  # pragma: no cover - best effort
                log.exception("error while closing source %s", source.name)
        self._sources = []
        if self._broker is not None:
            self._commands.remote = None
            await self._broker.stop()
            self._broker = None
        asking = list(context.raw_asking.values())  # questions still on their way: cancelled
        await cancel_all(asking, "cancelling raw questions")
        context.closing.set()
        streams.close_hubs()  # every push socket of every stream sends "disconnect" and closes
        await context.live.wait_idle(STOP_GRACE)
        await streams.stop()
        if self._supervisor is not None:
            await self._supervisor.stop()
        await runner.cleanup()
        if self._decoder is not None:
            # Decodes still running finish in their threads; nothing waits for them.
            self._decoder.shutdown(wait=False, cancel_futures=True)
            self._decoder = None
        if self._encoder is not None:
            self._encoder.shutdown(wait=False, cancel_futures=True)
            self._encoder = None
        self._runner = self._streams = self._context = None
        self._supervisor = self._home = None
        log.info("framecast stopped")

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

    # -- internals ------------------------------------------------------------------------------
    def _prepare_web_folder(self, web_root: Path) -> bytes:
        """Install the viewer and the default stream's waiting files; return the waiting
        picture (named streams answer it from memory until their first image)."""
        placeholder = imaging.placeholder_jpeg(_WAITING_TEXT)
        try:
            webfolder.remove_stale_temporaries(web_root)
            webfolder.install_assets(web_root)
            webfolder.write_frame_files(
                web_root, placeholder, {"framecast": {"seq": 0, "waiting": True}}
            )
        except OSError as exc:
            advice = (
                "free some space there"
                if exc.errno in (errno.ENOSPC, errno.EDQUOT)
                else "check its permissions"
            )
            raise ConfigError(
                f"cannot write the viewer files to the web folder {str(web_root)!r}: "
                f"{exc.strerror or exc}; {advice} or choose another with --web-folder"
            ) from None
        return placeholder

    def _named_sources(self, streams: Streams) -> list[tuple[Stream, Settings]]:
        """Each named stream given sources at construction, with its settings."""
        found = []
        for name, config in self._named_streams.items():
            stream = streams.get(name)
            if stream is not None:
                found.append((stream, config))
        return found

    def _ssl_context(self) -> ssl.SSLContext | None:
        settings = self.settings
        if settings.certfile is None or settings.keyfile is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(settings.certfile, settings.keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot use certificate {str(settings.certfile)!r} with key "
                f"{str(settings.keyfile)!r}: {exc}; check both are PEM files that belong together"
            ) from None
        return context

    async def _pump(self, source: Source, pipeline: Pipeline, label: str) -> None:
        """Feed ``source``'s frames to its stream's pipeline. Runs under the supervisor: an
        unexpected error propagates (logged with its traceback, counted, the source
        restarted); a :class:`SourceError` is the source's clear, final word (one line, the
        source ends). Either way only that source's stream is affected."""
        try:
            async for incoming in source.frames():
                pipeline.submit(incoming)
        except SourceError as exc:
            log.error("source %s stopped: %s", label, exc)


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
            f"({settings.max_streams}); raise --max-streams"
        )
    return found


async def _listen(
    app: web.Application, settings: Settings, ssl_context: ssl.SSLContext | None
) -> web.AppRunner:
    """Serve ``app`` on the configured host and port; a port that cannot be bound is a
    one-line :class:`ConfigError` (:class:`PortInUseError` when another process holds it)."""
    runner = web.AppRunner(
        app,
        handle_signals=False,
        keepalive_timeout=settings.keepalive_timeout,
        shutdown_timeout=0.5,
        access_log=None,
        logger=listener.request_error_log(),
        lingering_time=LINGER,
    )
    await runner.setup()
    site = listener.Site(
        runner,
        settings.host,
        settings.port,
        ssl_context=ssl_context,
        handshake_timeout=settings.handshake_timeout,
        send_timeout=settings.send_timeout,
    )
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES) or "in use" in str(exc):
            raise PortInUseError(settings.port, exc.strerror or "") from None
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}; "
            "check --host and --port"
        ) from None
    return runner


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address_info in runner.addresses:
        if isinstance(address_info, tuple) and len(address_info) >= 2:
            return int(address_info[1])
    return asked
