"""What ``GET /api/status`` and :meth:`~framecast.server.ImageServer.status` report, both
through :func:`report`: the server's counters, each stream's summed, with each stream's own
under ``streams`` (every key is explained in docs/status.md, which a test keeps in step)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from framecast.live.streams import Stream
from framecast.version import __version__
from framecast.web.context import WebContext

__all__ = ["report", "stream_report"]


def report(context: WebContext) -> dict[str, Any]:
    """The status of a running server. Event loop."""
    settings, live, admission = context.settings, context.live, context.admission
    counters = context.counters
    streams = list(context.streams)
    latest = context.streams.default.latest
    by_kind: dict[str, int] = {}
    for stream in streams:
        for kind, count in stream.hub.clients_by_kind().items():
            by_kind[kind] = by_kind.get(kind, 0) + count

    def total(value: Callable[[Stream], int]) -> int:
        return sum(value(stream) for stream in streams)

    superseded = total(lambda s: s.counters.frames_superseded)
    skipped = total(lambda s: s.counters.client_frames_skipped)
    return {
        "version": __version__,
        "uptime": round(time.time() - context.started, 3),
        "url": context.url,
        "access_limited": context.access_limited,
        "tls": settings.tls,
        "clients": total(lambda s: s.hub.clients),
        "clients_by_kind": by_kind,
        "connections": len(live),
        "frames_submitted": total(lambda s: s.counters.frames_submitted),
        "frames_published": total(lambda s: s.counters.frames_published),
        "frames_superseded": superseded,
        "frames_dropped": superseded,  # the old name
        "frames_failed": total(lambda s: s.counters.frames_failed),
        "client_frames_skipped": skipped,
        "client_skips": skipped,  # the old name
        "clients_evicted": counters.clients_evicted,
        "clients_refused": counters.clients_refused,
        "http_answers_cut_off": counters.http_answers_cut_off,
        "downloads_running": admission.running,
        "download_bytes_in_flight": admission.bytes_in_flight,
        "downloads_refused": counters.downloads_refused,
        "latest_seq": latest.seq if latest else 0,
        "latest_time": latest.time if latest else None,
        "control": True,
        "commands": context.commands.names,
        "commands_run": total(lambda s: s.counters.commands_run),
        "commands_limited": counters.commands_limited,
        "frames_ingested": total(lambda s: s.counters.frames_ingested),
        "ingest_rejected": counters.ingest_rejected,
        "uploads_in_progress": context.uploads,
        "task_errors": context.supervisor.total_errors,
        "task_errors_by_task": dict(context.supervisor.errors),
        "token_required": settings.token is not None,
        "viewer_token_required": settings.viewer_token is not None,
        "limits": {
            "max_clients": settings.max_clients,
            "max_clients_per_address": settings.max_clients_per_address,
            "max_message_bytes": settings.max_message_bytes,
            "max_ingest_bytes": settings.max_ingest_bytes,
            "max_downloads": settings.max_downloads,
            "max_downloads_per_address": settings.max_downloads_per_address,
            "send_timeout": settings.send_timeout,
            "max_file_rate": settings.max_file_rate,
            "max_streams": settings.max_streams,
            "max_polygon_corners": settings.max_polygon_corners,  # the viewer's Polygon tool
        },
        "history_bytes": context.streams.history_bytes,
        "frame_cache_bytes": context.streams.answers.bytes,  # tiles, answers, decoded pixels
        "streams": {stream.name: stream_report(stream) for stream in streams},
        **_broker(context),
    }


def stream_report(stream: Stream) -> dict[str, int]:
    """A stream's entry in the status's ``streams``."""
    counters = stream.counters
    return {
        "frames_published": counters.frames_published,
        "frames_superseded": counters.frames_superseded,
        "frames_dropped": counters.frames_superseded,  # its old name, for scripts
        "clients": stream.hub.clients,
        "history_frames": len(stream.history),
    }


def _broker(context: WebContext) -> dict[str, Any]:
    """The broker's fields: its link's own, and the questions joined here."""
    broker = context.broker
    if broker is None:
        return {"broker": "off", "broker_reason": None}
    return {**broker.status(), "broker_raw_joined": context.counters.broker_raw_joined}
