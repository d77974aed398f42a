"""Which stream a request is for, and the overview: ``GET /api/streams``, ``GET /streams``.

Every route of docs/control.md exists twice: at the root for the default stream (ALS embedding sees
no change) and under ``/s/<name>/`` for every stream, the default one included. A handler
asks :func:`stream_of` for its stream: an invalid name is a 400, an unknown one a 404 that
names it and points to ``/streams`` — answered from a dictionary look-up, creating nothing.

A route about one frame asks :func:`requested_frame` for it: every such route (history,
deep-zoom tiles, raw files and tiles, the analysis questions) finds its frame and refuses
one it cannot find the same way, with the same line (:mod:`framecast.live.retention`).
"""

from __future__ import annotations

import html
import logging

from aiohttp import web

from framecast.config.streamname import DEFAULT_STREAM, check_name
from framecast.errors import ConfigError
from framecast.live.frames import Frame
from framecast.live.retention import FrameNotFound, find_frame
from framecast.live.streams import Stream
from framecast.web.context import CONTEXT
from framecast.web.guards import check_viewer

__all__ = [
    "OVERVIEW_PAGE",
    "fallback_overview",
    "requested_frame",
    "shows_overview",
    "stream_name_of",
    "stream_of",
    "streams_handler",
]

#: The overview page's file in the web folder (the viewer package provides it).
OVERVIEW_PAGE = "streams.html"


def stream_name_of(request: web.Request) -> str:
    """The stream named in the URL (``/s/<name>/…``), checked; ``default`` at the root."""
    name = request.match_info.get("stream")
    if name is None:
        return DEFAULT_STREAM
    try:
        return check_name(name)
    except ConfigError as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None


def stream_of(request: web.Request) -> Stream:
    """The existing stream the request is for, or the HTTP error that says why not (in a
    private session, only to a viewer: the names of streams are not told to strangers)."""
    name = stream_name_of(request)
    context = request.app[CONTEXT]
    stream = context.streams.get(name)
    if stream is None:
        check_viewer(request, context)
        raise web.HTTPNotFound(
            text=f"there is no stream {name!r} on this server; see /streams for the streams "
            "it carries\n"
        )
    return stream


def requested_frame(
    request: web.Request, seq: str | None, *, log: logging.Logger, history_only: bool = False
) -> Frame:
    """The frame of the request's stream that ``seq`` names (its text from the path or the
    query; ``None``: the latest frame), to a viewer; else the 400 or 404 that says why, one
    line to the client and one to ``log`` (the route's area; DEBUG for a frame that simply
    left). ``history_only``: only what the history holds (the history routes)."""
    context = request.app[CONTEXT]
    check_viewer(request, context)
    stream = stream_of(request)
    try:
        return find_frame(stream, seq, history_only=history_only)
    except FrameNotFound as missing:
        if missing.ordinary:
            log.debug("%s %s: %s", request.method, request.path, missing.message)
        else:
            log.info("refused %s %s: %s", request.method, request.path, missing.message)
        error = web.HTTPBadRequest if missing.status == 400 else web.HTTPNotFound
        raise error(text=missing.message + "\n") from None


def shows_overview(request: web.Request) -> bool:
    """``GET /`` shows the overview instead of the viewer when the default stream has no
    source and no image but other streams exist."""
    if request.match_info.get("stream") is not None:
        return False
    context = request.app[CONTEXT]
    default = context.streams.get(DEFAULT_STREAM)
    if default is None or default.has_source or default.latest is not None:
        return False
    return any(stream.name != DEFAULT_STREAM for stream in context.streams)


async def streams_handler(request: web.Request) -> web.Response:
    """``GET /api/streams``: every stream sorted by name, with its latest image's number,
    time and size, its viewer path and its viewers."""
    context = request.app[CONTEXT]
    check_viewer(request, context)
    body = {"streams": [stream.summary() for stream in context.streams]}
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def fallback_overview(streams: list[Stream]) -> bytes:
    """A plain list of links to the streams' viewers, for a web folder without the overview
    page (another web server's copy of an older viewer, say)."""
    items = "".join(
        f'<li><a href="{html.escape(s.path[1:])}">{html.escape(s.name)}</a></li>' for s in streams
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>framecast streams</title></head><body><h1>Streams</h1><ul>{items}</ul>"
        "</body></html>"
    ).encode()
