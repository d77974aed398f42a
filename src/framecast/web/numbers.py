"""The numbers behind the picture over HTTP (SPEC §11.2): ``GET <stream>/api/pixel``,
``/api/stats``, ``/api/profile`` and ``/api/histogram``.

Each answer is computed by :mod:`framecast.science.analysis` in the tile workers
(``TILE_POOL``: a bounded pool, so a burst of questions queues instead of multiplying
memory, and never on the event loop), one at a time with every other whole-frame job,
downloads included (:mod:`framecast.web.admission`), at most once per frame and question:
the JSON bytes are kept in the server's :class:`~framecast.science.answers.Answers` and
leave with the frame. An answer about an explicit ``seq`` never changes (immutable); with
``seq`` omitted it is about the latest frame and must be asked again (``no-cache``).

Parameters are parsed strictly: integers where pixels are meant (``x=1.5`` is refused),
decimal numbers for a profile's end points; a missing or malformed parameter, a point or
region outside the frame, or ``bins`` out of range is a 400 that names the parameter. A
frame no longer kept, or raw data not kept at all (``keep_raw = false``), is a 404. Every
refusal is one line to the client and one log line, never a traceback.

:func:`analysis_answer` computes a route's answer from a frame and the query parameters,
without an HTTP request: the handlers call it, and so does the broker when another node
asks about a frame published here. For a frame published by another node (SPEC §10) the
handlers ask that node instead (:mod:`framecast.web.peerdownloads`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any

import numpy as np
from aiohttp import web

from framecast.live.frames import Frame
from framecast.science import analysis
from framecast.science.raw import ROUTE_PARAMS, Raw, RawAnswer
from framecast.web.context import CONTEXT
from framecast.web.deepzoom import IMMUTABLE, TILE_POOL, frame_of
from framecast.web.guards import check_viewer
from framecast.web.peerdownloads import answer, response_of
from framecast.web.streampaths import stream_of

__all__ = ["ANALYSIS_ROUTES", "add_analysis_routes", "analysis_answer"]

log = logging.getLogger("framecast.web.analysis")

_INTEGER = re.compile(r"-?[0-9]{1,10}")
_NUMBER = re.compile(r"-?[0-9]{1,10}(\.[0-9]{1,12})?")
_SEQ = re.compile(r"[0-9]{1,18}")
_NO_CACHE = {"Cache-Control": "no-cache"}


class _Refused(Exception):
    """A question refused: its status and one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.answer = RawAnswer.refusal(status, message)


def _refuse(where: str, status: int, message: str) -> _Refused:
    """The one log line and the one-line answer of a refused question."""
    log.info("refused %s: %s", where, message)
    return _Refused(status, message)


def _text(params: Mapping[str, str], name: str, where: str) -> str:
    value = params.get(name)
    if value is None:
        raise _refuse(where, 400, f"{name} is missing: add ?{name}=<value>")
    return value


def _integer(params: Mapping[str, str], name: str, where: str) -> int:
    value = _text(params, name, where)
    if not _INTEGER.fullmatch(value):
        raise _refuse(
            where, 400, f"{name}={value[:40]!r} is not a whole number: give {name} in image pixels"
        )
    return int(value)


def _number(params: Mapping[str, str], name: str, where: str) -> float:
    value = _text(params, name, where)
    if not _NUMBER.fullmatch(value):
        raise _refuse(
            where,
            400,
            f"{name}={value[:40]!r} is not a number: give {name} in image pixels (e.g. 12 or 12.5)",
        )
    return float(value)


def _frame(request: web.Request) -> Frame:
    """The frame asked about (``seq``, or the latest) with its raw data; the 400/404 that
    says why there is none."""
    context = request.app[CONTEXT]
    stream = stream_of(request)
    check_viewer(request, context)
    where = f"{request.method} {request.path}"
    text = request.query.get("seq")
    if text is None:
        frame = stream.latest
        if frame is None:
            raise _refuse(
                where,
                404,
                f"stream {stream.name!r} has no image yet; ask again once one is published",
            )
    else:
        if not _SEQ.fullmatch(text):
            raise _refuse(
                where,
                400,
                f"seq={text[:40]!r} is not a frame number: use the seq of data.json or new_image",
            )
        found = frame_of(stream, int(text))
        if found is None:
            raise _refuse(
                where,
                404,
                f"frame {text} of stream {stream.name!r} is not kept any more (or not yet); "
                "see api/history for the frames kept",
            )
        frame = found
    if frame.raw is None:
        raise _refuse(where, 404, "raw data is not kept: keep_raw is false")
    return frame


async def _compute(
    app: web.Application,
    frame: Frame,
    raw: Raw,
    explicit: bool,
    question: Hashable,
    compute: Callable[[Any], dict[str, Any]],
    *,
    quick: bool = False,
) -> bytes:
    """Compute (or find) the answer in the tile workers as JSON; a ``quick`` answer about
    an array held in memory is read on the loop."""

    def work() -> bytes:
        body = {"seq": frame.seq, **compute(raw.array())}
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()

    context = app[CONTEXT]
    answers = context.streams.answers
    loop = asyncio.get_running_loop()
    if quick and raw.held is not None:  # one array element: no worker, no queue
        return work()
    async with context.admission.slot:  # one whole-frame job at a time
        return await loop.run_in_executor(app[TILE_POOL], answers.get, raw, question, work)


def _check(where: str, check: Callable[[], object]) -> None:
    """Run a cheap check on the frame's shape before any work is queued."""
    try:
        check()
    except analysis.AnalysisError as exc:
        raise _refuse(where, 400, str(exc)) from None


async def _pixel(
    app: web.Application, frame: Frame, raw: Raw, params: Mapping[str, str], where: str
) -> bytes:
    x, y = _integer(params, "x", where), _integer(params, "y", where)
    _check(where, lambda: analysis.check_point(raw.shape, x, y, ("x", "y")))

    def compute(array: Any) -> dict[str, Any]:
        return {"x": x, "y": y, "value": analysis.pixel(array, x, y)}

    explicit = "seq" in params
    return await _compute(app, frame, raw, explicit, ("pixel", x, y), compute, quick=True)


async def _stats(
    app: web.Application, frame: Frame, raw: Raw, params: Mapping[str, str], where: str
) -> bytes:
    names = ("x", "y", "w", "h")
    given = any(n in params for n in names)
    x, y, w, h = (_integer(params, n, where) for n in names) if given else (0, 0, 0, 0)
    if given:
        _check(where, lambda: analysis.check_region(raw.shape, x, y, w, h))
    else:
        w, h = raw.width, raw.height
    region = (x, y, w, h)
    level = analysis.saturation_level(np.dtype(raw.dtype), frame.metadata)

    def compute(array: Any) -> dict[str, Any]:
        return analysis.stats(array, region, saturation=level)

    return await _compute(app, frame, raw, "seq" in params, ("stats", *region), compute)


async def _profile(
    app: web.Application, frame: Frame, raw: Raw, params: Mapping[str, str], where: str
) -> bytes:
    x0, y0, x1, y1 = (_number(params, n, where) for n in ("x0", "y0", "x1", "y1"))
    limit = app[CONTEXT].settings.max_profile_points
    _check(where, lambda: analysis.check_profile(raw.shape, x0, y0, x1, y1, max_points=limit))

    def compute(array: Any) -> dict[str, Any]:
        return {"values": analysis.profile(array, x0, y0, x1, y1, max_points=limit)}

    question = ("profile", x0, y0, x1, y1)
    return await _compute(app, frame, raw, "seq" in params, question, compute)


async def _histogram(
    app: web.Application, frame: Frame, raw: Raw, params: Mapping[str, str], where: str
) -> bytes:
    bins = _integer(params, "bins", where) if "bins" in params else 256
    _check(where, lambda: analysis.check_bins(bins))

    def compute(array: Any) -> dict[str, Any]:
        return analysis.histogram(array, bins)

    return await _compute(app, frame, raw, "seq" in params, ("histogram", bins), compute)


_Route = Callable[[web.Application, Frame, Raw, Mapping[str, str], str], Awaitable[bytes]]
_ROUTES: dict[str, _Route] = {
    "pixel": _pixel,
    "stats": _stats,
    "profile": _profile,
    "histogram": _histogram,
}
#: The routes :func:`analysis_answer` answers.
ANALYSIS_ROUTES = frozenset(_ROUTES)


async def analysis_answer(
    app: web.Application,
    frame: Frame,
    route: str,
    params: Mapping[str, str],
    gzip: bool = False,
) -> RawAnswer:
    """The answer of analysis ``route`` (``pixel``, ``stats``, ``profile``, ``histogram``)
    about ``frame`` (which has raw data) for the query ``params``: what the HTTP handlers
    send and what a node's broker sends back to the node that asked. ``seq`` in ``params``
    makes it immutable; without it, ``no-cache``. ``gzip`` is not used (JSON is small)."""
    raw = frame.raw
    assert raw is not None
    where = f"{route} of frame {frame.seq} of stream {frame.stream!r}"
    try:
        body = await _ROUTES[route](app, frame, raw, params, where)
    except _Refused as refused:
        return refused.answer
    except analysis.AnalysisError as exc:
        return _refuse(where, 400, str(exc)).answer
    headers = IMMUTABLE if "seq" in params else _NO_CACHE
    return RawAnswer(200, "application/json", body, headers)


async def _handle(request: web.Request, route: str) -> web.Response:
    try:
        frame = _frame(request)
    except _Refused as refused:
        return response_of(refused.answer)
    params = {n: request.query[n] for n in ROUTE_PARAMS[route] if n in request.query}
    return response_of(await answer(request.app, frame, route, params, False, analysis_answer))


async def pixel_handler(request: web.Request) -> web.Response:
    """``GET <stream>/api/pixel?seq=N&x=X&y=Y``: the raw value at one pixel."""
    return await _handle(request, "pixel")


async def stats_handler(request: web.Request) -> web.Response:
    """``GET <stream>/api/stats?seq=N[&x=X&y=Y&w=W&h=H]``: statistics of a region (all four
    or none: the whole frame)."""
    return await _handle(request, "stats")


async def profile_handler(request: web.Request) -> web.Response:
    """``GET <stream>/api/profile?seq=N&x0=&y0=&x1=&y1=``: raw values along a line."""
    return await _handle(request, "profile")


async def histogram_handler(request: web.Request) -> web.Response:
    """``GET <stream>/api/histogram?seq=N[&bins=B]``: the whole frame's histogram."""
    return await _handle(request, "histogram")


def add_analysis_routes(app: web.Application, prefix: str) -> None:
    """The four analysis routes under ``prefix`` ("" for the default stream's root ones)."""
    routes: dict[str, Callable[[web.Request], Awaitable[web.Response]]] = {
        "pixel": pixel_handler,
        "stats": stats_handler,
        "profile": profile_handler,
        "histogram": histogram_handler,
    }
    for name, handler in routes.items():
        app.router.add_get(f"{prefix}/api/{name}", handler)
