"""Deep zoom over HTTP (SPEC §9): ``GET <stream>/tiles/<seq>.dzi`` and
``GET <stream>/tiles/<seq>_files/<level>/<col>_<row>.jpg``.

A tile is cut and encoded by the frame's own :class:`~framecast.imaging.pyramid.Pyramid` (which
keeps
it in its bounded cache) in a small pool of :data:`TILE_THREADS` threads of its own: never on
the event loop, and never in the encoder pool. Each job of that pool (raw tiles and analysis
use it too) waits its turn while a live frame is being made (:mod:`framecast.runtime.priority`), so
a burst of tile requests cannot delay the next live frame. Answers for a given seq never
change and are cached as immutable.

With a broker (SPEC §10), a frame published by another node has a
:class:`~framecast.imaging.pyramid.RemotePyramid`: its ``.dzi`` is made here from the size the frame
carries (the same bytes as the publisher's), and its tiles are asked of the publishing node
(:func:`~framecast.web.peerdownloads.ask`, kept with the frame); :func:`tile_answer` is how a
publisher answers that question.

:func:`frame_of` is the one place that says which frames still have tiles: the stream's
latest frame and the frames its history keeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from framecast.broker.codec import JPEG_TILE
from framecast.imaging.pyramid import Pyramid, RemotePyramid
from framecast.live.frames import Frame
from framecast.live.streams import Stream
from framecast.science.raw import RawAnswer
from framecast.web.context import CONTEXT
from framecast.web.guards import check_viewer
from framecast.web.peerdownloads import ask, response_of
from framecast.web.streampaths import stream_of

__all__ = [
    "JPEG_TILE",
    "TILE_THREADS",
    "add_tile_routes",
    "frame_of",
    "frame_pyramid",
    "tile_answer",
]

#: Threads that cut tiles, shared by every stream (two: the machine's cores stay free for
#: the encoder pool and the loop).
TILE_THREADS = 2
#: A seq, level, column or row in a URL has at most this many digits (no giant ints).
_NUMBER = r"{%s:\d{1,10}}"
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
TILE_POOL = web.AppKey("framecast_tile_pool", ThreadPoolExecutor)


def frame_of(stream: Stream, seq: int) -> Frame | None:
    """The stream's frame ``seq`` if it is still kept: live or in its history (SPEC §9)."""
    latest = stream.latest
    if latest is not None and latest.seq == seq:
        return latest
    return stream.history.get(seq)


def frame_pyramid(request: web.Request) -> Pyramid:
    """The pyramid of the frame the URL names, or a 404 that says why there is none."""
    pyramid = _framed(request).pyramid
    assert pyramid is not None
    return pyramid


def _framed(request: web.Request) -> Frame:
    """The frame the URL names, which has a pyramid, or a 404 that says why there is none."""
    context = request.app[CONTEXT]
    stream = stream_of(request)
    check_viewer(request, context)
    seq = int(request.match_info["seq"])
    frame = frame_of(stream, seq)
    if frame is None:
        raise web.HTTPNotFound(
            text=f"frame {seq} of stream {stream.name!r} is not kept any more (or not yet); "
            "load data.json for the current one\n"
        )
    if frame.pyramid is None:
        raise web.HTTPNotFound(
            text=f"frame {seq} is no larger than max_web_size: it has no deep-zoom pyramid; "
            "use web_image.jpg\n"
        )
    return frame


async def dzi_handler(request: web.Request) -> web.Response:
    """``GET <stream>/tiles/<seq>.dzi``: the frame's DZI descriptor."""
    pyramid = frame_pyramid(request)
    return web.Response(body=pyramid.dzi, content_type="application/xml", headers=IMMUTABLE)


async def tile_handler(request: web.Request) -> web.Response:
    """``GET <stream>/tiles/<seq>_files/<level>/<col>_<row>.jpg``: one tile, cut off the loop."""
    frame = _framed(request)
    pyramid = frame.pyramid
    assert pyramid is not None
    level, col, row = (int(request.match_info[k]) for k in ("level", "col", "row"))
    if not pyramid.has_tile(level, col, row):
        raise web.HTTPNotFound(
            text=f"tile {level}/{col}_{row} is outside the pyramid; see its .dzi for the size\n"
        )
    if isinstance(pyramid, RemotePyramid):  # published by another node: ask it (SPEC §10)
        params = {"level": str(level), "col": str(col), "row": str(row)}
        found = await ask(request.app, frame, pyramid, pyramid.node, JPEG_TILE, params, False)
        return response_of(found)
    loop = asyncio.get_running_loop()
    data = await loop.run_in_executor(request.app[TILE_POOL], pyramid.tile, level, col, row)
    return web.Response(body=data, content_type="image/jpeg", headers=IMMUTABLE)


async def tile_answer(
    app: web.Application, frame: Frame, route: str, params: Mapping[str, str], gzip: bool
) -> RawAnswer:
    """Tile ``params`` (``level``, ``col``, ``row``) of ``frame``'s pyramid, for the node
    that asked through the broker (a :data:`~framecast.web.peerdownloads.LocalAnswer`)."""
    pyramid = frame.pyramid
    try:
        level, col, row = (int(params[k]) for k in ("level", "col", "row"))
    except (KeyError, ValueError):
        return RawAnswer.refusal(400, "a tile needs a level, col and row")
    if pyramid is None or not pyramid.has_tile(level, col, row):
        return RawAnswer.refusal(
            404, f"tile {level}/{col}_{row} is outside the pyramid; see its .dzi for the size"
        )
    loop = asyncio.get_running_loop()
    data = await loop.run_in_executor(app[TILE_POOL], pyramid.tile, level, col, row)
    return RawAnswer(200, "image/jpeg", data, IMMUTABLE)


def add_tile_routes(app: web.Application, prefix: str) -> None:
    """The two deep-zoom routes under ``prefix`` ("" for the default stream's root ones)."""
    seq = _NUMBER % "seq"
    app.router.add_get(f"{prefix}/tiles/{seq}.dzi", dzi_handler)
    files = f"{prefix}/tiles/{seq}_files/{_NUMBER % 'level'}/{_NUMBER % 'col'}_{_NUMBER % 'row'}"
    app.router.add_get(files + ".jpg", tile_handler)
