"""What ``GET /api/status`` and :meth:`~framecast.server.ImageServer.status` report: the
server's counters, summed over its streams, with each stream's own under ``streams``."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from framecast.live.streams import Stream
from framecast.runtime.supervisor import Supervisor
from framecast.version import __version__
from framecast.web.context import WebContext

__all__ = ["report"]


def report(
    context: WebContext, supervisor: Supervisor, broker: Mapping[str, Any]
) -> dict[str, Any]:
    """The status of a running server; ``broker``: the broker's own fields (``broker``,
    ``broker_reason``, ...), merged in."""
    settings, live, admission = context.settings, context.live, context.admission
    streams = list(context.streams)
    latest = context.streams.default.latest
    by_kind: dict[str, int] = {}
    for stream in streams:
        for kind, count in stream.hub.clients_by_kind().items():
            by_kind[kind] = by_kind.get(kind, 0) + count

    def total(value: Callable[[Stream], int]) -> int:
        return sum(value(stream) for stream in streams)

    return {
        "version": __version__,
        "uptime": round(time.time() - context.started, 3),
        "url": context.url,
        "access_limited": context.access_limited,
        "tls": settings.tls,
        "clients": total(lambda s: s.hub.clients),
        "clients_by_kind": by_kind,
        "connections": len(live),
        "frames_submitted": total(lambda s: s.pipeline.counters.submitted),
        "frames_published": total(lambda s: s.hub.published),
        "frames_superseded": total(lambda s: s.pipeline.counters.dropped),
        "frames_dropped": total(lambda s: s.pipeline.counters.dropped),  # the old name
        "frames_failed": total(lambda s: s.pipeline.counters.failed),
        "client_frames_skipped": total(lambda s: s.hub.skipped),
        "client_skips": total(lambda s: s.hub.skipped),  # the old name
        "clients_evicted": live.evicted,
        "clients_refused": live.refused,
        "http_answers_cut_off": context.http_answers_cut_off,
        "downloads_running": admission.running,
        "download_bytes_in_flight": admission.bytes_in_flight,
        "downloads_refused": admission.refused,
        "latest_seq": latest.seq if latest else 0,
        "latest_time": latest.time if latest else None,
        "control": True,
        "commands": context.commands.names,
        "commands_run": total(lambda s: s.commands_run),
        "commands_limited": context.commands.limited,
        "frames_ingested": total(lambda s: s.ingested),
        "ingest_rejected": context.ingest_rejected,
        "uploads_in_progress": context.uploads,
        "task_errors": supervisor.total_errors,
        "task_errors_by_task": dict(supervisor.errors),
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
        },
        "history_bytes": context.streams.history_bytes,
        "tile_cache_bytes": context.streams.tile_cache_bytes,  # all pyramids, one bound
        "answer_cache_bytes": context.streams.answers.bytes,
        "streams": {stream.name: stream.counters() for stream in streams},
        **broker,
    }
