"""``/api/status`` and the QR code of the displayed URL."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ..address import qr_svg
from ..version import __version__
from .context import CONTEXT, WebContext
from .guards import check_viewer, request_token, token_matches

__all__ = ["qr_handler", "status", "status_handler"]


def status(context: WebContext) -> dict[str, Any]:
    """Everything an operator or a monitoring script wants to know, as JSON-ready values."""
    hub, counters, settings = context.hub, context.pipeline.counters, context.settings
    latest = hub.latest
    data: dict[str, Any] = {
        "version": __version__,
        "uptime": round(time.time() - context.started, 3),
        "url": context.url,
        "access_limited": context.access_limited,
        "tls": settings.tls,
        "clients": hub.clients,
        "clients_by_kind": hub.clients_by_kind(),
        "connections": context.connections,
        "frames_submitted": counters.submitted,
        "frames_published": hub.published,
        "frames_dropped": counters.dropped,
        "frames_failed": counters.failed,
        "client_skips": hub.skipped,
        "clients_evicted": context.evicted,
        "clients_refused": context.refused,
        "latest_seq": latest.seq if latest else 0,
        "latest_time": latest.time if latest else None,
        "control": True,
        "commands": context.commands.names,
        "commands_run": context.commands_run,
        "frames_ingested": context.ingested,
        "ingest_rejected": context.ingest_rejected,
        "token_required": settings.token is not None,
        "viewer_token_required": settings.viewer_token is not None,
        "limits": {
            "max_clients": settings.max_clients,
            "max_message_bytes": settings.max_message_bytes,
            "max_ingest_bytes": settings.max_ingest_bytes,
            "send_timeout": settings.send_timeout,
            "max_file_rate": settings.max_file_rate,
        },
    }
    return data


async def status_handler(request: web.Request) -> web.Response:
    """``GET /api/status``."""
    context = request.app[CONTEXT]
    check_viewer(request, context)
    return web.json_response(status(context), headers={"Cache-Control": "no-store"})


async def qr_handler(request: web.Request) -> web.Response:
    """``GET /qr.svg``: QR code of the viewer URL; ``?operator=1`` with the operator token
    gives the operator link (the URL carrying the token)."""
    context = request.app[CONTEXT]
    check_viewer(request, context)
    url = context.url
    settings = context.settings
    if request.query.get("operator") and settings.token is not None:
        if not token_matches(request_token(request), settings.token):
            raise web.HTTPUnauthorized(text="the operator link needs the operator token\n")
        url = f"{url}?token={settings.token}"
    elif settings.viewer_token is not None:
        url = f"{url}?token={settings.viewer_token}"
    return web.Response(
        body=qr_svg(url),
        content_type="image/svg+xml",
        headers={"Cache-Control": "no-store", "X-Framecast-Url": url},
    )
