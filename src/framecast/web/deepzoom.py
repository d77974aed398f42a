"""Deep zoom over HTTP (docs/tiles.md): ``GET <stream>/tiles/<seq>.dzi`` and
``GET <stream>/tiles/<seq>_files/<level>/<col>_<row>.jpg``.

A tile is cut and encoded by the frame's own :class:`~framecast.imaging.pyramid.Pyramid` in a
small pool of :data:`TILE_THREADS` threads of its own (never on the event loop, and never in
the encoder pool), once: it is kept in the server's one cache of what frames answer
(:attr:`~framecast.live.streams.Streams.answers`, an :class:`~framecast.science.answers.Answers`
bounded by ``max_frame_cache_bytes`` for every frame together, least recently used first out),
and leaves with its frame. Viewers asking for the same tile at the same moment wait for the
one being cut. Each job of that pool (raw tiles and analysis
use it too) waits its turn while a live frame is being made (:mod:`framecast.runtime.priority`), so
a burst of tile requests cannot delay the next live frame. Answers for a given seq never
change and are cached as immutable.

With a broker (docs/scale-out.md), a frame published by another node has a
:class:`~framecast.imaging.pyramid.RemotePyramid`: its ``.dzi`` is made here from the size the frame
carries (the same bytes as the publisher's), and its tiles are asked of the publishing node
(:func:`~framecast.web.peerdownloads.ask`, kept with the frame); :func:`tile_answer` is how a
publisher answers that question.

A frame has tiles as long as it is kept (its stream's latest frame and the frames its
history keeps): it is found, or refused, by
:func:`~framecast.web.streampaths.requested_frame`, as every route about one frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from aiohttp import web

from framecast.imaging.pyramid import Pyramid, RemotePyramid
from framecast.live.frames import Frame
from framecast.science.queries import JPEG_TILE, QUESTIONS, QuestionError
from framecast.science.raw import RawAnswer
from framecast.web.context import CONTEXT
from framecast.web.peerdownloads import ask, response_of
from framecast.web.streampaths import requested_frame

__all__ = [
    "TILE_THREADS",
    "add_tile_routes",
    "frame_pyramid",
    "tile_answer",
]

#: Threads that cut tiles, shared by every stream (two: the machine's cores stay free for
#: the encoder pool and the loop).
TILE_THREADS = 2
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
TILE_POOL = web.AppKey("framecast_tile_pool", ThreadPoolExecutor)

log = logging.getLogger("framecast.web.tiles")


def frame_pyramid(request: web.Request) -> Pyramid:
    """The pyramid of the frame the URL names, or a 404 that says why there is none."""
    pyramid = _framed(request).pyramid
    assert pyramid is not None
    return pyramid


def _framed(request: web.Request) -> Frame:
    """The frame the URL names, which has a pyramid, or a 404 that says why there is none."""
    frame = requested_frame(request, request.match_info["seq"], log=log)
    if frame.pyramid is None:
        raise web.HTTPNotFound(
            text=f"frame {frame.seq} is no larger than max_web_size: it has no deep-zoom pyramid; "
            "use web_image.jpg\n"
        )
    return frame


async def dzi_handler(request: web.Request) -> web.Response:
    """``GET <stream>/tiles/<seq>.dzi``: the frame's DZI descriptor."""
    pyramid = frame_pyramid(request)
    return web.Response(body=pyramid.dzi, content_type="application/xml", headers=IMMUTABLE)


async def tile_handler(request: web.Request) -> web.Response:
    """``GET <stream>/tiles/<seq>_files/<level>/<col>_<row>.jpg``: one tile, cut off the loop
    (or asked of the node that published the frame)."""
    frame = _framed(request)
    pyramid = frame.pyramid
    assert pyramid is not None
    params = QUESTIONS[JPEG_TILE].given(request.match_info, request.query)
    if isinstance(pyramid, RemotePyramid):  # published by another node: ask it (docs/scale-out.md)
        place = _place(pyramid, params)
        if isinstance(place, RawAnswer):
            return response_of(place)
        found = await ask(request.app, frame, pyramid, pyramid.node, JPEG_TILE, params, False)
        return response_of(found)
    return response_of(await tile_answer(request.app, frame, JPEG_TILE, params, False))


def _place(pyramid: Pyramid, params: Mapping[str, str]) -> tuple[int, int, int] | RawAnswer:
    """The tile's level, column and row, or the refusal that says why there is none."""
    try:
        args = QUESTIONS[JPEG_TILE].parse(params)
    except QuestionError as exc:
        return RawAnswer.refusal(400, str(exc))
    level, col, row = args["level"], args["col"], args["row"]
    if not pyramid.has_tile(level, col, row):
        return RawAnswer.refusal(
            404, f"tile {level}/{col}_{row} is outside the pyramid; see its .dzi for the size"
        )
    return level, col, row


async def tile_answer(
    app: web.Application, frame: Frame, route: str, params: Mapping[str, str], gzip: bool
) -> RawAnswer:
    """Tile ``params`` (``level``, ``col``, ``row``) of ``frame``'s pyramid: what the HTTP
    handler sends, and what the broker sends the node that asked (a
    :data:`~framecast.web.peerdownloads.LocalAnswer`)."""
    pyramid = frame.pyramid
    if pyramid is None:
        return RawAnswer.refusal(404, f"frame {frame.seq} has no deep-zoom pyramid")
    place = _place(pyramid, params)
    if isinstance(place, RawAnswer):
        return place
    tiles = app[CONTEXT].streams.answers
    cut = partial(pyramid.tile, *place)
    loop = asyncio.get_running_loop()
    data = await loop.run_in_executor(app[TILE_POOL], tiles.get, pyramid, ("tile", *place), cut)
    return RawAnswer(200, "image/jpeg", data, IMMUTABLE)


def add_tile_routes(app: web.Application, prefix: str) -> None:
    """The two deep-zoom routes under ``prefix`` ("" for the default stream's root ones):
    the tile's where :data:`~framecast.science.queries.QUESTIONS` says."""
    app.router.add_get(f"{prefix}/tiles/{{seq}}.dzi", dzi_handler)
    app.router.add_get(prefix + QUESTIONS[JPEG_TILE].path, tile_handler)
