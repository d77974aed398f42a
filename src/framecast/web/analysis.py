"""The numbers behind the picture over HTTP (SPEC §11.2): ``GET <stream>/api/pixel``,
``/api/stats``, ``/api/profile`` and ``/api/histogram``.

Each answer is computed by :mod:`framecast.analysis` in the tile workers (``TILE_POOL``:
a bounded pool, so a burst of questions queues instead of multiplying memory, and never
on the event loop), at most once per frame and question: the JSON bytes are kept in the
server's :class:`~framecast.answers.Answers` and leave with the frame. An answer about an
explicit ``seq`` never changes (immutable); with ``seq`` omitted it is about the latest
frame and must be asked again (``no-cache``).

Parameters are parsed strictly: integers where pixels are meant (``x=1.5`` is refused),
decimal numbers for a profile's end points; a missing or malformed parameter, a point or
region outside the frame, or ``bins`` out of range is a 400 that names the parameter. A
frame no longer kept, or raw data not kept at all (``keep_raw = false``), is a 404. Every
refusal is one line to the client and one log line, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import numpy as np
from aiohttp import web

from .. import analysis
from ..frames import Frame
from ..raw import Raw
from .context import CONTEXT
from .guards import check_viewer
from .streams import stream_of
from .tiles import IMMUTABLE, TILE_POOL, frame_of

__all__ = ["add_analysis_routes"]

log = logging.getLogger("framecast.web.analysis")

_INTEGER = re.compile(r"-?[0-9]{1,10}")
_NUMBER = re.compile(r"-?[0-9]{1,10}(\.[0-9]{1,12})?")
_SEQ = re.compile(r"[0-9]{1,18}")
_NO_CACHE = {"Cache-Control": "no-cache"}
#: Questions computed at once per server: one, so that a burst of whole-frame questions
#: keeps one tile worker (and one core of a small machine) free for tiles, the encoder and
#: the event loop; the others wait their turn on the loop, costing nothing.
ANALYSIS_AT_ONCE = 1
_SLOTS = web.AppKey("framecast_analysis_slots", asyncio.Semaphore)


def _refuse(
    request: web.Request, error: type[web.HTTPException], message: str
) -> web.HTTPException:
    """The one log line and the one-line answer of a refused question."""
    log.info("refused %s %s: %s", request.method, request.path, message)
    return error(text=message + "\n")


def _text(request: web.Request, name: str, required: bool = True) -> str | None:
    value = request.query.get(name)
    if value is None and required:
        raise _refuse(request, web.HTTPBadRequest, f"{name} is missing: add ?{name}=<value>")
    return value


def _integer(request: web.Request, name: str) -> int:
    value = _text(request, name)
    assert value is not None
    if not _INTEGER.fullmatch(value):
        raise _refuse(
            request,
            web.HTTPBadRequest,
            f"{name}={value[:40]!r} is not a whole number: give {name} in image pixels",
        )
    return int(value)


def _number(request: web.Request, name: str) -> float:
    value = _text(request, name)
    assert value is not None
    if not _NUMBER.fullmatch(value):
        raise _refuse(
            request,
            web.HTTPBadRequest,
            f"{name}={value[:40]!r} is not a number: give {name} in image pixels (e.g. 12 or 12.5)",
        )
    return float(value)


def _frame(request: web.Request) -> tuple[Frame, Raw, bool]:
    """The frame asked about (``seq``, or the latest), its raw data, and whether ``seq``
    was given; the 400/404 that says why there is none."""
    context = request.app[CONTEXT]
    stream = stream_of(request)
    check_viewer(request, context)
    text = _text(request, "seq", required=False)
    if text is None:
        frame = stream.latest
        if frame is None:
            raise _refuse(
                request,
                web.HTTPNotFound,
                f"stream {stream.name!r} has no image yet; ask again once one is published",
            )
    else:
        if not _SEQ.fullmatch(text):
            raise _refuse(
                request,
                web.HTTPBadRequest,
                f"seq={text[:40]!r} is not a frame number: use the seq of data.json or new_image",
            )
        found = frame_of(stream, int(text))
        if found is None:
            raise _refuse(
                request,
                web.HTTPNotFound,
                f"frame {text} of stream {stream.name!r} is not kept any more (or not yet); "
                "see api/history for the frames kept",
            )
        frame = found
    if frame.raw is None:
        raise _refuse(request, web.HTTPNotFound, "raw data is not kept: keep_raw is false")
    return frame, frame.raw, text is not None


async def _answer(
    request: web.Request,
    frame: Frame,
    raw: Raw,
    explicit: bool,
    question: Hashable,
    compute: Callable[[Any], dict[str, Any]],
    *,
    quick: bool = False,
) -> web.Response:
    """Compute (or find) the answer in the tile workers and send it as JSON; a ``quick``
    answer about an array held in memory is read on the loop."""

    def work() -> bytes:
        body = {"seq": frame.seq, **compute(raw.array())}
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()

    answers = request.app[CONTEXT].streams.answers
    loop = asyncio.get_running_loop()
    try:
        if quick and raw.held is not None:  # one array element: no worker, no queue
            body = work()
        else:
            async with request.app[_SLOTS]:
                body = await loop.run_in_executor(
                    request.app[TILE_POOL], answers.get, raw, question, work
                )
    except analysis.AnalysisError as exc:
        raise _refuse(request, web.HTTPBadRequest, str(exc)) from None
    headers = IMMUTABLE if explicit else _NO_CACHE
    return web.Response(body=body, content_type="application/json", headers=headers)


def _check(request: web.Request, check: Callable[[], object]) -> None:
    """Run a cheap check on the frame's shape before any work is queued."""
    try:
        check()
    except analysis.AnalysisError as exc:
        raise _refuse(request, web.HTTPBadRequest, str(exc)) from None


async def pixel_handler(request: web.Request) -> web.Response:
    """``GET <stream>/api/pixel?seq=N&x=X&y=Y``: the raw value at one pixel."""
    frame, raw, explicit = _frame(request)
    x, y = _integer(request, "x"), _integer(request, "y")
    _check(request, lambda: analysis.check_point(raw.shape, x, y, ("x", "y")))

    def compute(array: Any) -> dict[str, Any]:
        return {"x": x, "y": y, "value": analysis.pixel(array, x, y)}

    return await _answer(request, frame, raw, explicit, ("pixel", x, y), compute, quick=True)


async def stats_handler(request: web.Request) -> web.Response:
    """``GET <stream>/api/stats?seq=N[&x=X&y=Y&w=W&h=H]``: statistics of a region (all four
    or none: the whole frame)."""
    names = ("x", "y", "w", "h")
    frame, raw, explicit = _frame(request)
    given = any(n in request.query for n in names)
    x, y, w, h = (_integer(request, n) for n in names) if given else (0, 0, 0, 0)
    if given:
        _check(request, lambda: analysis.check_region(raw.shape, x, y, w, h))
    else:
        w, h = raw.width, raw.height
    region = (x, y, w, h)
    level = analysis.saturation_level(np.dtype(raw.dtype), frame.metadata)

    def compute(array: Any) -> dict[str, Any]:
        return analysis.stats(array, region, saturation=level)

    return await _answer(request, frame, raw, explicit, ("stats", *region), compute)


async def profile_handler(request: web.Request) -> web.Response:
    """``GET <stream>/api/profile?seq=N&x0=&y0=&x1=&y1=``: raw values along a line."""
    frame, raw, explicit = _frame(request)
    x0, y0, x1, y1 = (_number(request, n) for n in ("x0", "y0", "x1", "y1"))
    limit = request.app[CONTEXT].settings.max_profile_points
    _check(request, lambda: analysis.check_profile(raw.shape, x0, y0, x1, y1, max_points=limit))

    def compute(array: Any) -> dict[str, Any]:
        return {"values": analysis.profile(array, x0, y0, x1, y1, max_points=limit)}

    return await _answer(request, frame, raw, explicit, ("profile", x0, y0, x1, y1), compute)


async def histogram_handler(request: web.Request) -> web.Response:
    """``GET <stream>/api/histogram?seq=N[&bins=B]``: the whole frame's histogram."""
    frame, raw, explicit = _frame(request)
    bins = _integer(request, "bins") if "bins" in request.query else 256
    _check(request, lambda: analysis.check_bins(bins))

    def compute(array: Any) -> dict[str, Any]:
        return analysis.histogram(array, bins)

    return await _answer(request, frame, raw, explicit, ("histogram", bins), compute)


def add_analysis_routes(app: web.Application, prefix: str) -> None:
    """The four analysis routes under ``prefix`` ("" for the default stream's root ones)."""
    routes: dict[str, Callable[[web.Request], Awaitable[web.Response]]] = {
        "pixel": pixel_handler,
        "stats": stats_handler,
        "profile": profile_handler,
        "histogram": histogram_handler,
    }
    if _SLOTS not in app:
        app[_SLOTS] = asyncio.Semaphore(ANALYSIS_AT_ONCE)
    for name, handler in routes.items():
        app.router.add_get(f"{prefix}/api/{name}", handler)
