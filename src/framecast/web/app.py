"""The aiohttp application: every route framecast serves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .api import qr_handler, status_handler
from .context import CONTEXT, WebContext
from .control import control_handler
from .frames import frames_handler
from .ingest import ingest_handler
from .sse import events_handler
from .static import StaticFiles
from .ws import notify_handler

__all__ = ["build_app"]


@web.middleware
async def _security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return response


def build_app(context: WebContext) -> web.Application:
    """Routes: the viewer and its files, the live transports (``/ws``, ``/events``,
    ``/frames``), ``/control``, ingest (``POST /api/frames``), ``/api/status``, ``/qr.svg``."""
    app = web.Application(
        middlewares=[_security_headers], client_max_size=context.settings.max_ingest_bytes
    )
    app[CONTEXT] = context
    static = StaticFiles(context.settings.web_root)
    app.router.add_get("/ws", notify_handler)
    app.router.add_get("/events", events_handler)
    app.router.add_get("/frames", frames_handler)
    app.router.add_get("/control", control_handler)
    app.router.add_post("/api/frames", ingest_handler)
    app.router.add_get("/api/status", status_handler)
    app.router.add_get("/qr.svg", qr_handler)
    app.router.add_get("/", static.handle)
    app.router.add_get("/{path:.+}", static.handle)
    return app
