"""A running server's parts, in one object: made by :meth:`Running.start`, consumed by
:meth:`Running.stop` (:meth:`~framecast.server.ImageServer.astart` and ``astop``).

:meth:`Running.start` makes them in order — the folders and the viewer's files, the thread pools,
the streams, the web application on its port, the streams' tasks, the broker, the sources —
and a start that fails half-way takes down what it had made. :meth:`Running.stop` undoes it
the other way round: the sources first (nothing new comes in), the broker, the live clients
(told ``disconnect``, given :data:`STOP_GRACE` s to close), the pipelines (each writes its
newest frame), the supervised tasks, the listening socket and, last, the thread pools
(:class:`Pools`): nothing a run made outlives its stop.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from framecast import imaging
from framecast.broker.node import Broker
from framecast.config.settings import Settings
from framecast.config.streamname import DEFAULT_STREAM
from framecast.errors import ConfigError, SourceError, spell
from framecast.live import webfolder
from framecast.live.commands import Commands
from framecast.live.counters import ServerCounters
from framecast.live.frames import Frame
from framecast.live.markbook import MARKS_FOLDER, MarkBook
from framecast.live.pipeline import Pipeline
from framecast.live.shapes import ShapeLimits
from framecast.live.streams import Streams
from framecast.network import address
from framecast.network.clientaddress import parse_networks
from framecast.runtime.deadline import STOP_WAIT, cancel_all, within
from framecast.runtime.priority import BackgroundPool
from framecast.runtime.supervisor import Supervisor
from framecast.sources import Source, create_sources
from framecast.web import listener, origins
from framecast.web.alerting import Alerting, alerted_elsewhere, check_alert_settings
from framecast.web.app import build_app
from framecast.web.context import Connections, WebContext
from framecast.web.deepzoom import TILE_THREADS, tile_answer
from framecast.web.downloads import raw_answer
from framecast.web.markroutes import received as marks_received
from framecast.web.numbers import analysis_answer
from framecast.web.peerdownloads import responder

__all__ = ["Address", "Pools", "Running"]

log = logging.getLogger("framecast.server")

#: How long stop() waits for clients to close after ``disconnect`` (about 2 s at most in all).
STOP_GRACE = 1.5
#: Threads that decode uploaded images: a bound on the memory concurrent uploads can take.
DECODE_THREADS = 2
_WAITING_TEXT = "waiting for the first image"


@dataclass(frozen=True)
class Address:
    """Where viewers find the server: the displayed URL, the bound port (the real one when
    port 0 was asked), and whether the URL is a loopback one other devices cannot reach."""

    url: str = ""
    port: int = 0
    access_limited: bool = False


@dataclass
class Pools:
    """Every thread pool of a running server. Stopping shuts them all down: queued jobs are
    cancelled, a job already running ends in its thread and nothing waits for it."""

    #: Makes frames (decode, encode, render) and writes web files for every stream's
    #: pipeline, and checks the broker's frames: ``encode_threads`` threads.
    encoder: ThreadPoolExecutor
    #: Decodes uploaded images (``POST /api/frames``): :data:`DECODE_THREADS` threads.
    decoder: ThreadPoolExecutor
    #: Background work (deep-zoom tiles, raw tiles, analysis), each job waiting its turn
    #: behind live frames: :data:`~framecast.web.deepzoom.TILE_THREADS` threads.
    tiles: BackgroundPool

    def shutdown(self) -> None:
        for pool in (self.encoder, self.decoder, self.tiles):
            pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class Running:
    """What a started server runs; see the module docstring."""

    commands: Commands
    #: The web layer's view of the server: settings, streams, connections, counters, the
    #: supervisor and the broker (what ``/api/status`` reports, :mod:`framecast.web.status`).
    context: WebContext
    runner: web.AppRunner
    pools: Pools
    address: Address
    #: The event loop the server runs on (its own thread's, or ``astart()``'s caller's).
    home: asyncio.AbstractEventLoop
    sources: list[Source] = field(default_factory=list)
    source_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    #: The alert rules at work, their webhooks' senders (docs/together.md), if any rule.
    alerting: Alerting | None = None
    stopped: bool = False

    @property
    def streams(self) -> Streams:
        return self.context.streams

    @property
    def broker(self) -> Broker | None:
        return self.context.broker

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        named: Mapping[str, Settings],
        commands: Commands,
        seqs: dict[str, int],
    ) -> Running:
        """Start a server on the running event loop. ``named``: the named streams given sources
        at construction, with their settings; ``seqs``: each stream's last sequence number,
        kept from one run to the next (numbering goes on)."""
        # Every source is made first, which checks its settings (a --zmq address that is not
        # one, a missing package): such a mistake is reported before anything starts.
        made = [
            (name, create_sources(config))
            for name, config in [(DEFAULT_STREAM, settings), *named.items()]
        ]
        listener.raise_open_file_limit()
        webfolder.prepare_folder(settings.work_folder, "work folder")
        web_root = webfolder.prepare_folder(settings.web_root, "web folder")
        ssl_context = listener.tls_context(settings)
        placeholder = await asyncio.to_thread(_prepare_web_folder, web_root)
        marks = await asyncio.to_thread(
            MarkBook.load,
            settings.work_folder / MARKS_FOLDER,
            max_marks=settings.max_marks,
            max_bytes=settings.max_mark_bytes,
            limits=ShapeLimits.of(settings),
        )

        # Before any thread exists: without the redis package this is a one-line ConfigError.
        broker = Broker(settings, commands) if settings.broker is not None else None
        watch = check_alert_settings(settings)
        relay = broker.alerts.local if broker is not None else None
        alerting = Alerting(settings, watch, relay=relay) if watch.rules else None
        encoder = ThreadPoolExecutor(settings.encode_threads, thread_name_prefix="framecast-encode")
        if broker is not None:
            broker.executor = encoder
        streams = Streams(
            settings,
            web_root=web_root,
            executor=encoder,
            seqs=seqs,
            numbering=broker.numbering if broker is not None else None,
            on_frame=_on_frame(broker, alerting),
            on_view=broker.on_view if broker is not None else None,
        )
        pools = Pools(
            encoder=encoder,
            decoder=ThreadPoolExecutor(DECODE_THREADS, thread_name_prefix="framecast-decode"),
            tiles=BackgroundPool(TILE_THREADS, streams.priority, name="framecast-tiles"),
        )
        try:
            streams.create(DEFAULT_STREAM, has_source=settings.has_source)
            for name in named:
                streams.create(name, has_source=True)
            context = _context(settings, streams, commands, broker, pools, placeholder)
            context.alerts = watch
            context.marks = marks  # read from the work folder above
            app = build_app(context, tiles=pools.tiles)
            runner, port = await listener.listen(app, settings, ssl_context)
            try:
                where, shown = _locate(settings, context, port)
            except BaseException:
                await runner.cleanup()
                raise
        except BaseException:
            pools.shutdown()
            raise
        running = cls(commands, context, runner, pools, where, asyncio.get_running_loop())
        running.alerting = alerting
        if alerting is not None:
            alerting.start(streams, context.supervisor, functools.partial(_figures, app))
        streams.start(context.supervisor)
        if broker is not None:
            running._join(app)
        running._start_sources(made)
        # The URL itself is start()'s answer (and the CLI prints it): log the folder only.
        log.info("framecast serving the web folder %s", web_root)
        if shown.limited:
            log.warning("%s", address.unreachable_warning(settings.host, shown))
        return running

    def _join(self, app: web.Application) -> None:
        """Start the broker: frames relayed, commands forwarded, raw routes asked of the
        publishing node and answered here for other nodes."""
        broker, context = self.broker, self.context
        assert broker is not None
        broker.answerer = responder(app, raw=raw_answer, analysis=analysis_answer, tile=tile_answer)
        context.ask_raw = broker.ask_raw
        if context.alerts is not None:  # other nodes' alerts: kept, told to the viewers here
            broker.alerts.alerted = alerted_elsewhere(context.streams, context.alerts)
        broker.marks.received = functools.partial(marks_received, context)
        broker.marks.held = context.marks.listing
        broker.start(context.supervisor, context.streams)
        self.commands.remote = broker.control

    def _start_sources(self, made: list[tuple[str, list[Source]]]) -> None:
        """Pump each stream's sources (made, and so checked, before anything started)."""
        for name, sources in made:
            stream = self.streams.create(name, has_source=True)  # made at start already
            for source in sources:
                self.sources.append(source)
                name = source.name
                label = name if stream.name == DEFAULT_STREAM else f"{name} {stream.name}"
                pump = functools.partial(_pump, source, stream.pipeline, label)
                self.source_tasks.append(self.context.supervisor.spawn(f"source {label}", pump))

    async def stop(self) -> None:
        """Tell clients ``disconnect``, give them a short grace to close, shut everything
        down. Idempotent; returns within about 2 s."""
        if self.stopped:
            return
        self.stopped = True
        context, commands = self.context, self.commands
        running = commands.still_running
        if running:
            log.warning(
                "stopping while command(s) %s still run in their threads; they end there, "
                "and their outcome may not be logged",
                ", ".join(map(repr, running)),
            )
        # Sources first (nothing new comes in); the pipeline's tasks end with streams.stop().
        await cancel_all(self.source_tasks, "stopping the sources")
        self.source_tasks = []
        for source in self.sources:
            try:
                await within(source.aclose(), STOP_WAIT)
            except TimeoutError:
                log.warning(
                    "source %s did not close within %g s; left behind", source.name, STOP_WAIT
                )
            except Exception:  # pragma: no cover - best effort
                log.exception("error while closing source %s", source.name)
        self.sources = []
        if context.broker is not None:
            commands.remote = None
            await context.broker.stop()
        asking = list(context.raw_asking.values())  # questions still on their way: cancelled
        await cancel_all(asking, "cancelling raw questions")
        context.closing.set()
        context.streams.close_hubs()  # every push socket of every stream says "disconnect"
        await context.live.wait_idle(STOP_GRACE)
        await context.streams.stop()
        await context.supervisor.stop()
        if self.alerting is not None:
            await self.alerting.close()
        await self.runner.cleanup()
        self.pools.shutdown()
        log.info("framecast stopped")


def _on_frame(broker: Broker | None, alerting: Alerting | None) -> Callable[[Frame], None] | None:
    """What every pipeline calls with each frame made here: the broker's relay and the
    alert rules' check, or ``None`` without either (frames are then made only when watched)."""
    calls = [c for c in (broker and broker.on_frame, alerting and alerting.on_frame) if c]
    if len(calls) <= 1:
        return calls[0] if calls else None

    def both(frame: Frame) -> None:
        for call in calls:
            call(frame)

    return both


async def _figures(app: web.Application, frame: Frame) -> dict[str, Any] | None:
    """The frame's statistics as ``GET <stream>/api/stats?seq=N`` answers them (computed in
    the tile workers, kept with the frame), or ``None`` when it cannot."""
    answer = await analysis_answer(app, frame, "stats", {"seq": str(frame.seq)})
    if answer.status != 200:
        return None
    figures: dict[str, Any] = json.loads(answer.body)
    return figures


def _context(
    settings: Settings,
    streams: Streams,
    commands: Commands,
    broker: Broker | None,
    pools: Pools,
    placeholder: bytes,
) -> WebContext:
    """The web layer's view of a new run: its counters count from zero (the command
    registry, which outlives runs, counts into the same)."""
    return WebContext(
        settings=settings,
        streams=streams,
        commands=commands,
        live=Connections(),
        counters=ServerCounters(),
        supervisor=Supervisor(),
        broker=broker,
        placeholder=placeholder,
        trusted_proxies=parse_networks(settings.trusted_proxies),
        decoder=pools.decoder,
    )


def _locate(
    settings: Settings, context: WebContext, port: int
) -> tuple[Address, address.Displayed]:
    """The URL viewers are shown and the origins allowed, once the port is known (a
    displayed URL's own origin among them: the operator named it); and what is shown."""
    scheme = "https" if settings.tls else "http"
    shown = address.displayed(settings.displayed_address, settings.host, scheme, port)
    where = Address(url=shown.url, port=port, access_limited=shown.limited)
    context.url = where.url
    context.access_limited = where.access_limited
    context.origins = origins.server_origins(
        scheme=scheme,
        port=port,
        hosts=origins.own_hosts(settings.host, shown.host),
        allowed=(*settings.allowed_origins, shown.url),
    )
    return where, shown


def _prepare_web_folder(web_root: Path) -> bytes:
    """Install the viewer and the default stream's waiting files; return the waiting picture
    (named streams answer it from memory until their first image)."""
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
            f"{exc.strerror or exc}; {advice} or choose another with {spell('web_folder')}"
        ) from None
    return placeholder


async def _pump(source: Source, pipeline: Pipeline, label: str) -> None:
    """Feed ``source``'s frames to its stream's pipeline. Runs under the supervisor: an
    unexpected error propagates (logged with its traceback, counted, the source restarted);
    a :class:`SourceError` is the source's clear, final word (one line, the source ends).
    Either way only that source's stream is affected."""
    try:
        async for incoming in source.frames():
            pipeline.submit(incoming)
    except SourceError as exc:
        log.error("source %s stopped: %s", label, exc)
