"""The aiohttp application: every route framecast serves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from framecast.web.alerting import alerts_handler
from framecast.web.api import qr_handler, status_handler
from framecast.web.context import CONTEXT, WebContext
from framecast.web.controlsocket import control_handler
from framecast.web.deepzoom import TILE_POOL, add_tile_routes
from framecast.web.displayimage import display_image_handler
from framecast.web.downloads import add_raw_routes
from framecast.web.framesocket import frames_handler
from framecast.web.ingest import ingest_handler
from framecast.web.markroutes import add_mark_routes
from framecast.web.numbers import add_analysis_routes
from framecast.web.sse import events_handler
from framecast.web.static import StaticFiles
from framecast.web.streampaths import stream_of, streams_handler
from framecast.web.timeline import history_frame_handler, history_handler
from framecast.web.ws import notify_handler

__all__ = ["STREAM_ROUTE", "build_app"]

#: Every stream's routes, the default one's included, live under this prefix (docs/streams.md).
STREAM_ROUTE = "/s/{stream}"


@web.middleware
async def _security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return response


async def _to_viewer(request: web.Request) -> web.StreamResponse:
    """``/s/<name>`` → ``/s/<name>/`` (the viewer's relative URLs need the slash)."""
    stream = stream_of(request)
    location = stream.path + (f"?{request.query_string}" if request.query_string else "")
    raise web.HTTPPermanentRedirect(location)


def build_app(context: WebContext, *, tiles: ThreadPoolExecutor) -> web.Application:
    """Routes: the viewer and its files, the live transports (``/ws``, ``/events``,
    ``/frames``), ``/control``, ingest (``POST /api/frames``), ``/api/status``, ``/qr.svg``,
    the history (``/api/history``, ``/history/<seq>.jpg|json``), the display image
    (``/image/<seq>.jpg|png``), shared marks (``/api/marks``), deep-zoom tiles
    (``/tiles/…``) — at the root for the default stream and under ``/s/<name>/`` for every
    stream — and the overview (``/streams``, ``/api/streams``). ``tiles``: the server's pool
    of background workers that cut tiles and answer raw questions (its owner shuts it
    down)."""
    app = web.Application(
        middlewares=[_security_headers], client_max_size=context.settings.max_ingest_bytes
    )
    app[CONTEXT] = context
    app[TILE_POOL] = tiles
    static = StaticFiles(context.settings.web_root)
    app.router.add_get("/streams", static.overview)
    app.router.add_get("/api/streams", streams_handler)
    for prefix in ("", STREAM_ROUTE):
        app.router.add_get(prefix + "/ws", notify_handler)
        app.router.add_get(prefix + "/events", events_handler)
        app.router.add_get(prefix + "/frames", frames_handler)
        app.router.add_get(prefix + "/control", control_handler)
        app.router.add_post(prefix + "/api/frames", ingest_handler)
        app.router.add_get(prefix + "/api/status", status_handler)
        app.router.add_get(prefix + "/qr.svg", qr_handler)
        app.router.add_get(prefix + "/api/history", history_handler)
        app.router.add_get(prefix + "/api/alerts", alerts_handler)
        app.router.add_get(prefix + "/history/{seq}.{kind:jpg|json}", history_frame_handler)
        app.router.add_get(prefix + "/image/{seq}.{kind:jpg|png}", display_image_handler)
        add_tile_routes(app, prefix)
        add_raw_routes(app, prefix)
        add_analysis_routes(app, prefix)
        add_mark_routes(app, prefix)
        app.router.add_get(prefix + "/", static.handle)
    app.router.add_get(STREAM_ROUTE, _to_viewer)
    app.router.add_get(STREAM_ROUTE + "/{path:.+}", static.handle)
    app.router.add_get("/{path:.+}", static.handle)
    return app
