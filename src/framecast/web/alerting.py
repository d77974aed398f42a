"""Alerts that need no open page (docs/together.md, "Alerts"): every frame made on this node
is checked against the rules, whether or not anyone watches.

:meth:`Alerting.on_frame` is called on the loop for each frame the node makes (its pipelines'
``on_frame``, which also makes every frame be made with nobody watching). Rules on metadata are
checked at once (a few dictionary lookups). When a rule of the frame's stream needs the frame's
statistics (``frame.min``…), the frame waits in a bounded queue (:data:`FIGURES_BACKLOG`) for
one worker task, which asks the same computation ``GET <stream>/api/stats`` answers — in the
tile workers, never on the loop, cached with the frame — and then checks the rules in order.
A frame that finds the queue full is not checked (counted in ``alert_frames_skipped``).

Each firing is kept (the newest ``max_alerts_kept`` per stream, ``GET <stream>/api/alerts``),
told to the stream's open viewers (an ``alert`` notice through its hub: the newest firing and
the few before it, so a viewer that was busy while several fired still lists them) and
queued for every webhook (:mod:`framecast.web.webhooks`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from framecast.config.settings import Settings
from framecast.errors import ConfigError, spell
from framecast.live import protocol
from framecast.live.alerts import RuleError, Watch, frame_figures, parse_rule
from framecast.live.frames import Frame
from framecast.live.streams import Streams
from framecast.runtime.supervisor import Supervisor
from framecast.web.context import CONTEXT
from framecast.web.guards import check_viewer
from framecast.web.streampaths import stream_of
from framecast.web.webhooks import Webhooks, check_webhook

__all__ = [
    "FIGURES_BACKLOG",
    "Alerting",
    "alerted_elsewhere",
    "alerts_handler",
    "check_alert_settings",
]

log = logging.getLogger("framecast.alerts")

#: Frames waiting for their statistics at most (the tile workers may be busy with downloads).
FIGURES_BACKLOG = 8

#: The statistics of a whole frame (docs/analysis.md), computed off the loop.
Figures = Callable[[Frame], Awaitable[dict[str, Any] | None]]


def check_alert_settings(settings: Settings) -> Watch:
    """The rules read, and the webhooks checked: a :class:`ConfigError` naming the first
    that is wrong (or a ``frame.*`` rule that could never fire: ``keep_raw`` off)."""
    rules = []
    for text in settings.alerts:
        try:
            rule = parse_rule(text)
        except RuleError as exc:
            raise ConfigError(f"{exc}; fix {spell('alerts')}") from None
        if rule.on_frame and not settings.keep_raw:
            raise ConfigError(
                f"alert rule {text!r} needs the frames' statistics, which need their raw data; "
                f"keep it ({spell('keep_raw', True)}) or watch a metadata key instead"
            )
        rules.append(rule)
    for url in settings.alert_webhooks:
        check_webhook(url)
    return Watch(rules, kept=settings.max_alerts_kept)


class Alerting:
    """The rules of a running server, what fired, and where firings go."""

    def __init__(
        self,
        settings: Settings,
        watch: Watch,
        *,
        relay: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """``relay``: where this node's firings go for the other nodes (a broker's)."""
        self.watch = watch
        self._relay = relay
        self.webhooks = Webhooks(
            settings.alert_webhooks,
            timeout=settings.alert_webhook_timeout,
            backlog=settings.max_alert_backlog,
        )
        self._streams: Streams | None = None
        self._figures: Figures | None = None
        self._waiting: asyncio.Queue[Frame] | None = None
        self.frames_skipped = 0

    @property
    def active(self) -> bool:
        return bool(self.watch.rules)

    def start(self, streams: Streams, supervisor: Supervisor, figures: Figures) -> None:
        self._streams = streams
        self._figures = figures
        self.webhooks.start(supervisor)
        if any(rule.on_frame for rule in self.watch.rules):
            self._waiting = asyncio.Queue(maxsize=FIGURES_BACKLOG)
            supervisor.spawn("alert figures", self._figures_loop)

    def on_frame(self, frame: Frame) -> None:
        """A frame was made on this node (on the loop, before its fan-out)."""
        if self._streams is None or not self.watch.rules_for(frame.stream):
            return
        if self._waiting is None or not self.watch.needs_figures(frame.stream):
            self._check(frame, None)
            return
        try:
            self._waiting.put_nowait(frame)
        except asyncio.QueueFull:
            self.frames_skipped += 1
            log.debug(
                "frame %d of %r not checked: alert figures are behind", frame.seq, frame.stream
            )

    async def _figures_loop(self) -> None:
        assert self._waiting is not None and self._figures is not None
        while True:
            frame = await self._waiting.get()
            stats = await self._figures(frame) if frame.raw is not None else None
            self._check(frame, frame_figures(stats) if stats is not None else None)
            del frame

    def _check(self, frame: Frame, figures: dict[str, float | None] | None) -> None:
        fired = self.watch.check(frame.stream, frame.seq, frame.time, frame.metadata, figures)
        if not fired:
            return
        stream = self._streams.get(frame.stream) if self._streams is not None else None
        for firing in fired:
            log.info(
                "alert %r fired on stream %r at frame %d: %s = %g",
                firing["rule"],
                firing["stream"],
                firing["seq"],
                firing["key"],
                firing["value"],
            )
            self.webhooks.post(firing)
            if self._relay is not None:
                self._relay(firing)
        if stream is not None:  # one notice for the frame's firings: the newest and before
            stream.hub.announce(protocol.alert_notice(self.watch.recent(frame.stream)))

    async def close(self) -> None:
        await self.webhooks.close()


def alerted_elsewhere(streams: Streams, watch: Watch) -> Callable[[dict[str, Any]], None]:
    """What another node's firing does here (with a broker): kept, and told to the stream's
    viewers; its webhooks were called by the node that made the frame."""

    def alerted(firing: dict[str, Any]) -> None:
        stream = streams.get(firing["stream"])
        if stream is not None:
            watch.record(firing)
            stream.hub.announce(protocol.alert_notice(watch.recent(stream.name)))

    return alerted


async def alerts_handler(request: web.Request) -> web.Response:
    """``GET <stream>/api/alerts``: the stream's newest alerts, newest first."""
    context = request.app[CONTEXT]
    check_viewer(request, context)
    stream = stream_of(request)
    fired = context.alerts.recent(stream.name) if context.alerts is not None else []
    return web.Response(
        body=protocol.json_bytes(fired),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
