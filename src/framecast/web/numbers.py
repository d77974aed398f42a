"""The numbers behind the picture over HTTP (docs/science.md): ``GET <stream>/api/pixel``,
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
asks about a frame published here. For a frame published by another node (docs/scale-out.md) the
handlers ask that node instead (:mod:`framecast.web.peerdownloads`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any

import numpy as np
from aiohttp import web

from framecast.live.frames import Frame
from framecast.science import analysis
from framecast.science.queries import QUESTIONS, Facts, QuestionError
from framecast.science.raw import RAW_NOT_KEPT, Raw, RawAnswer
from framecast.science.sky import celestial
from framecast.web.context import CONTEXT
from framecast.web.deepzoom import IMMUTABLE, TILE_POOL
from framecast.web.peerdownloads import answer, response_of
from framecast.web.streampaths import requested_frame

__all__ = ["add_analysis_routes", "analysis_answer"]

log = logging.getLogger("framecast.web.analysis")

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


def _frame(request: web.Request) -> Frame:
    """The frame asked about (``seq``, or the latest) with its raw data; the 400/404 that
    says why there is none."""
    frame = requested_frame(request, request.query.get("seq"), log=log)
    if frame.raw is None:
        raise _refuse(f"{request.method} {request.path}", 404, RAW_NOT_KEPT)
    return frame


async def _compute(
    app: web.Application,
    frame: Frame,
    raw: Raw,
    question: Hashable,
    compute: Callable[[Any], dict[str, Any]],
    *,
    quick: bool = False,
) -> bytes:
    """Compute (or find) the answer in the tile workers as JSON; a ``quick`` answer about
    an array held in memory is read on the loop."""
    context = app[CONTEXT]
    answers = decoded = context.streams.answers

    def work() -> bytes:
        body = {"seq": frame.seq, **compute(raw.array(decoded))}
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()

    loop = asyncio.get_running_loop()
    if quick and raw.held is not None:  # one array element: no worker, no queue
        return work()
    async with context.admission.slot:  # one whole-frame job at a time
        return await loop.run_in_executor(app[TILE_POOL], answers.get, raw, question, work)


async def analysis_answer(
    app: web.Application,
    frame: Frame,
    route: str,
    params: Mapping[str, str],
    gzip: bool = False,
) -> RawAnswer:
    """The answer of analysis ``route`` (``pixel``, ``stats``, ``profile``, ``histogram``:
    :data:`~framecast.science.queries.QUESTIONS`) about ``frame`` (which has raw data)
    for the query ``params``: what the HTTP handlers send and what a node's broker sends
    back to the node that asked. ``seq`` in ``params`` makes it immutable; without it,
    ``no-cache``. ``gzip`` is not used (JSON is small)."""
    raw = frame.raw
    assert raw is not None
    question = QUESTIONS[route]
    assert question.analysis is not None
    where = f"{route} of frame {frame.seq} of stream {frame.stream!r}"
    saturation = analysis.saturation_level(np.dtype(raw.dtype), frame.metadata)
    settings = app[CONTEXT].settings
    sky = celestial(frame.metadata)
    facts = Facts(
        raw.shape,
        saturation,
        settings.max_profile_points,
        settings.max_star_radius,
        sky,
        settings.max_polygon_corners,
    )
    try:  # parameters, then the cheap checks against the frame's shape: before any work
        values, compute = question.analysis(question.parse(params), facts)
    except QuestionError as exc:
        return _refuse(where, 400, str(exc)).answer
    except analysis.AnalysisError as exc:
        return _refuse(where, exc.status, str(exc)).answer
    quick = question.quick and sky is None  # sky coordinates take astropy: in a worker
    try:
        body = await _compute(app, frame, raw, (route, *values), compute, quick=quick)
    except analysis.AnalysisError as exc:  # e.g. no star there: 404
        return _refuse(where, exc.status, str(exc)).answer
    headers = IMMUTABLE if "seq" in params else _NO_CACHE
    return RawAnswer(200, "application/json", body, headers)


def _handler(route: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The HTTP handler of analysis question ``route``."""

    async def handle(request: web.Request) -> web.Response:
        try:
            frame = _frame(request)
        except _Refused as refused:
            return response_of(refused.answer)
        params = QUESTIONS[route].given(request.match_info, request.query)
        local = analysis_answer
        return response_of(await answer(request.app, frame, route, params, False, local))

    return handle


def add_analysis_routes(app: web.Application, prefix: str) -> None:
    """The analysis routes under ``prefix`` ("" for the default stream's root ones): each
    question that has an analysis, where :data:`~framecast.science.queries.QUESTIONS`
    says (``GET <stream>/api/pixel?seq=N&x=X&y=Y``, ``/api/stats?seq=N[&x=X&y=Y&w=W&h=H]``
    or ``[&circle=…|&polygon=…]``, ``/api/profile?seq=N&x0=&y0=&x1=&y1=``,
    ``/api/histogram?seq=N[&bins=B]``, ``/api/star?seq=N&x=X&y=Y[&r=R]``)."""
    for route, question in QUESTIONS.items():
        if question.analysis is not None:
            app.router.add_get(prefix + question.path, _handler(route))
