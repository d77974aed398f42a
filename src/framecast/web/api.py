"""``/api/status`` (the server's :meth:`~framecast.server.ImageServer.status`) and the QR
code of the displayed URL. Under ``/s/<name>/`` both speak of that stream's viewer: the
status's ``url`` is the stream's and it names the ``stream``; the QR code carries its URL."""

from __future__ import annotations

from aiohttp import web

from framecast.network.address import qr_svg
from framecast.web.context import CONTEXT
from framecast.web.guards import check_viewer, request_token, token_matches
from framecast.web.status import report
from framecast.web.streampaths import stream_of

__all__ = ["qr_handler", "status_handler"]


async def status_handler(request: web.Request) -> web.Response:
    """``GET /api/status``."""
    context = request.app[CONTEXT]
    check_viewer(request, context)
    status = report(context)  # what ImageServer.status() answers too
    if request.match_info.get("stream") is not None:
        stream = stream_of(request)
        status["stream"] = stream.name
        status["url"] = _stream_url(context.url, stream.path)
    return web.json_response(status, headers={"Cache-Control": "no-store"})


def _stream_url(url: str, path: str) -> str:
    """The displayed URL of a stream's viewer (``url`` ends with ``/``)."""
    return url + path.lstrip("/")


async def qr_handler(request: web.Request) -> web.Response:
    """``GET /qr.svg``: QR code of the viewer URL; ``?operator=1`` with the operator token
    gives the operator link (the URL carrying the token)."""
    context = request.app[CONTEXT]
    check_viewer(request, context)
    url = context.url
    if request.match_info.get("stream") is not None:
        url = _stream_url(url, stream_of(request).path)
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
