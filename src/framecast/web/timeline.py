"""History routes (docs/history.md): ``GET <stream>/api/history``, ``<stream>/history/<seq>.jpg``
and
``<stream>/history/<seq>.json``.

Every answer is bytes the frame already holds (its JPEG, its ``data.json``), so a history
request does no work on the event loop and never slows the live fan-out. A frame's bytes
never change for its ``seq``: they are sent as immutable (cached by browsers for a year),
with an ETag. A frame no longer kept is a 404, a ``seq`` that is not a number a 400, each
with the one line every route about a frame answers
(:func:`~framecast.web.streampaths.requested_frame`). Same access as ``/data.json`` (viewer
token).
"""

from __future__ import annotations

import logging

from aiohttp import web

from framecast.live.frames import Frame
from framecast.web.context import CONTEXT
from framecast.web.guards import check_viewer
from framecast.web.streampaths import requested_frame, stream_of

__all__ = ["IMMUTABLE", "history_frame_handler", "history_handler"]

log = logging.getLogger("framecast.web.history")

#: Cache-Control of a kept frame's bytes: they never change for a given seq.
IMMUTABLE = "public, max-age=31536000, immutable"
_KINDS = {"jpg": "image/jpeg", "json": "application/json"}


async def history_handler(request: web.Request) -> web.Response:
    """``GET <stream>/api/history``: the kept frames' seq, time and size, oldest first."""
    check_viewer(request, request.app[CONTEXT])
    stream = stream_of(request)
    return web.json_response(stream.history.listing(), headers={"Cache-Control": "no-store"})


def _body(frame: Frame, kind: str) -> bytes:
    return frame.jpeg if kind == "jpg" else frame.renderings.data_json


async def history_frame_handler(request: web.Request) -> web.Response:
    """``GET <stream>/history/<seq>.jpg`` (the frame's web JPEG) or ``.json`` (its
    ``data.json`` bytes)."""
    kind = request.match_info["kind"]
    frame = requested_frame(request, request.match_info["seq"], log=log, history_only=True)
    body = _body(frame, kind)
    etag = f'"history-{frame.seq}-{kind}-{len(body):x}-{int(frame.time * 1e6):x}"'
    headers = {
        "Cache-Control": IMMUTABLE,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers=headers, content_type=_KINDS[kind])
