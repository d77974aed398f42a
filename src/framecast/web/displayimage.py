"""The display image over HTTP (docs/imaging.md, "Line art"): ``GET <stream>/image/<seq>.jpg``
or ``.png``, the picture the viewer shows for a frame — its PNG when the frame is line art,
else its JPEG — as ``data.json``'s ``framecast.image`` and ``new_image``'s ``image`` name it.

Any frame still kept answers (the latest one too, with ``history = 0``): the bytes the frame
already holds, immutable for its ``seq``, with an ETag. The other extension (``.jpg`` for a
frame shown as PNG, and the reverse) is a 404 that names the right URL. Same access as
``/data.json`` (viewer token).
"""

from __future__ import annotations

import logging

from aiohttp import web

from framecast.live.frames import IMAGE_EXTENSIONS
from framecast.web.streampaths import requested_frame
from framecast.web.timeline import IMMUTABLE

__all__ = ["display_image_handler"]

log = logging.getLogger("framecast.web.image")

_TYPES = {"jpg": "image/jpeg", "png": "image/png"}


async def display_image_handler(request: web.Request) -> web.Response:
    """``GET <stream>/image/<seq>.<jpg|png>``: frame ``seq``'s display image."""
    kind = request.match_info["kind"]
    frame = requested_frame(request, request.match_info["seq"], log=log)
    if IMAGE_EXTENSIONS[frame.image_format] != kind:
        raise web.HTTPNotFound(
            text=f"frame {frame.seq} is shown as {frame.image_format}: ask {frame.image_url}"
        )
    body = frame.image_bytes
    etag = f'"image-{frame.seq}-{kind}-{len(body):x}-{int(frame.time * 1e6):x}"'
    headers = {"Cache-Control": IMMUTABLE, "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers=headers, content_type=_TYPES[kind])
