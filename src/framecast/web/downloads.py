"""Raw data over HTTP (docs/science.md): ``GET <stream>/raw/<seq>.npy`` (with
``?level=L&x=X&y=Y&w=W&h=H``, a rectangle of one level of the raw pyramid),
``<stream>/raw/<seq>.fits``, ``<stream>/raw/<seq>.dzi`` and
``<stream>/raw/<seq>_files/<level>/<col>_<row>.npy``.

Every frame still kept (live or in history) that has raw data answers, small frames too.
The work (reducing a level or a tile, compressing, converting for FITS) runs in the tile
workers (:data:`~framecast.web.deepzoom.TILE_POOL`), never on the event loop. ``.npy``
answers are gzip-compressed when the client accepts gzip (a whole frame only when that
pays: noisy 16-bit pixels shrink by a tenth for tens of ms per megapixel, and a live viewer
reading every frame waits for it). Answers for a seq never change (immutable). A frame not
kept is refused as on every route about a frame
(:func:`~framecast.web.streampaths.requested_frame`); a frame without raw data
(``keep_raw = false``) or a tile outside the grid is a 404 with one line saying why. The
routes and their parameters are the raw questions of
:data:`~framecast.science.queries.QUESTIONS`.

Whole-frame files (``.npy``, ``.fits``, a rectangle of a level) are **streamed** band by
band from the array (:mod:`framecast.science.bands`, :mod:`framecast.web.transfer`), never
made whole per request, and each holds one of a few places (:mod:`framecast.web.admission`:
``max_downloads``, ``max_downloads_per_address``; one more is a 503 with ``Retry-After``).
A lower level of the raw pyramid is reduced from the frame once and kept with it (in the
server's :class:`~framecast.science.answers.Answers`, so it leaves with the frame): its
rectangles and tiles are sliced from it. A level too big to keep (more than half of
``max_frame_cache_bytes``) is reduced band by band for each request, one band at a time
with the other whole-frame work. A compressed whole frame or whole level and every tile are
made once per frame and kept too.

:func:`raw_answer` computes a route's answer from a frame and its parameters, without an
HTTP request: the handlers call it, and so does the broker when another node asks about a
frame published here. For a frame published by another node (docs/scale-out.md) the handlers ask
that node instead (:mod:`framecast.web.peerdownloads`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from functools import partial
from typing import Any, TypeVar

import numpy as np
from aiohttp import web

from framecast.imaging.pyramid import dzi_xml, level_size, max_level, tile_rect
from framecast.live.frames import Frame
from framecast.science import bands, rawfiles, rawtiles
from framecast.science.queries import QUESTIONS, QuestionError
from framecast.science.raw import RAW_NOT_KEPT, Raw, RawAnswer, RemoteRaw
from framecast.web import transfer
from framecast.web.admission import DownloadRefused
from framecast.web.context import CONTEXT
from framecast.web.deepzoom import IMMUTABLE, TILE_POOL
from framecast.web.guards import client_of
from framecast.web.peerdownloads import answer, response_of
from framecast.web.streampaths import requested_frame
from framecast.web.transfer import File

__all__ = ["accepts_gzip", "add_raw_routes", "raw_answer"]

log = logging.getLogger("framecast.web.raw")

_NPY = "application/octet-stream"
_T = TypeVar("_T")


def accepts_gzip(request: web.Request) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip`` or ``*`` with a q above 0)."""
    for item in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        quality = params.strip().lower()
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


class _Refused(Exception):
    """A raw request refused: its answer (status and one line)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.answer = RawAnswer.refusal(status, message)


def _refuse(message: str, *, status: int = 404) -> _Refused:
    log.info("refused raw request: %s", message)
    return _Refused(status, message)


def _frame(request: web.Request) -> Frame:
    """The frame the URL names (with raw data), or the 400/404 that says why not."""
    frame = requested_frame(request, request.match_info["seq"], log=log)
    if frame.raw is None:
        raise _refuse(RAW_NOT_KEPT)
    return frame


async def _work(app: web.Application, job: Callable[[], _T]) -> _T:
    """Run ``job`` in the tile workers."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(app[TILE_POOL], job)


async def _heavy(app: web.Application, job: Callable[[], _T]) -> _T:
    """Run ``job``, work on a whole frame, in the tile workers when its turn comes (one such
    job at a time, analysis included: :mod:`framecast.web.admission`)."""
    async with app[CONTEXT].admission.slot:
        return await _work(app, job)


def _remembered(
    app: web.Application, raw: Raw, question: Hashable, job: Callable[[], bytes]
) -> Callable[[], bytes]:
    """``job`` computed at most once for the frame, its answer kept with the frame."""
    answers = app[CONTEXT].streams.answers
    return lambda: answers.get(raw, question, job)


def _npy_headers(gzipped: bool, filename: str | None = None) -> dict[str, str]:
    headers = {
        **IMMUTABLE,
        "Content-Type": _NPY,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return headers


def _npy_answer(body: bytes, gzipped: bool) -> RawAnswer:
    headers = _npy_headers(gzipped)
    return RawAnswer(200, headers.pop("Content-Type"), body, headers)


def _npy_region(raw: Raw, params: Mapping[str, str]) -> tuple[int, int, int, int, int] | None:
    """The level and rectangle ``(level, x0, y0, x1, y1)`` the ``.npy`` route's query asks
    for, ``None`` for the raw array as published; a 400 that names the parameter when one
    is malformed or outside the pyramid."""
    args = _parsed("npy", params)
    if all(value is None for value in args.values()):
        return None
    top = max_level(raw.width, raw.height)
    level = top if args["level"] is None else args["level"]
    if level > top:
        raise _refuse(f"level={level} is not in the raw pyramid: use 0 to {top}", status=400)
    width, height = level_size(raw.width, raw.height, level)
    if args["x"] is None:
        return level, 0, 0, width, height
    x, y, w, h = (args[name] for name in ("x", "y", "w", "h"))
    for name, start, length, size in (("x", x, w, width), ("y", y, h, height)):
        if start >= size:
            raise _refuse(f"{name}={start} is outside level {level} ({width}×{height})", status=400)
        if not 0 < length <= size - start:
            span = "w" if name == "x" else "h"
            raise _refuse(
                f"{span}={length} does not fit level {level} ({width}×{height}): use 1 to "
                f"{size - start}",
                status=400,
            )
    return level, x, y, x + w, y + h


def _parsed(route: str, params: Mapping[str, str]) -> dict[str, Any]:
    """The parameters of question ``route``, parsed; a 400 naming the one at fault."""
    try:
        return QUESTIONS[route].parse(params)
    except QuestionError as exc:
        raise _refuse(str(exc), status=400) from None


async def _array(app: web.Application, raw: Raw) -> np.ndarray[Any, Any]:
    """The raw array (a JPEG frame's is decoded in the workers, and kept in the server's
    cache of decoded pixels)."""
    held = raw.held
    decoded = app[CONTEXT].streams.answers
    return held if held is not None else await _heavy(app, lambda: raw.array(decoded))


async def _level(
    app: web.Application, raw: Raw, array: np.ndarray[Any, Any], level: int
) -> np.ndarray[Any, Any] | None:
    """Lower ``level`` of the raw pyramid, reduced once and kept with the frame; ``None``
    when it is too big to keep (see :meth:`~framecast.science.answers.Answers.keeps`)."""
    answers = app[CONTEXT].streams.answers
    width, height = level_size(raw.width, raw.height, level)
    if not answers.keeps(width * height * raw.channels * 4):
        return None

    def reduce() -> np.ndarray[Any, Any]:
        return rawtiles.region(array, level, 0, 0, width, height)

    found: np.ndarray[Any, Any] = await _heavy(
        app, lambda: answers.get(raw, ("level", level), reduce)
    )
    return found


async def _npy_file(
    app: web.Application, frame: Frame, raw: Raw, params: Mapping[str, str], gzipped: bool
) -> File:
    """The raw array in NumPy's format, or (``level``, ``x``, ``y``, ``w``, ``h``) a
    rectangle of one level of its pyramid; gzip-compressed if the client accepts it and it
    pays (:func:`~framecast.science.rawfiles.gzip_pays`, decided once per frame)."""
    answers = app[CONTEXT].streams.answers
    region = _npy_region(raw, params)
    array = await _array(app, raw)
    compress = gzipped and await _work(
        app, lambda: answers.get(raw, ("npy", "gzip pays"), lambda: rawfiles.gzip_pays(array))
    )
    name = f"{frame.stream}-{frame.seq}" + ("" if region is None else f"-level{region[0]}")
    headers = partial(_npy_headers, filename=f"{name}.npy")
    work: transfer.Work = partial(_work, app)
    source: np.ndarray[Any, Any] | None = array
    whole = True
    if region is not None:
        level, x0, y0, x1, y1 = region
        whole = (x0, y0, x1, y1) == (0, 0, *level_size(raw.width, raw.height, level))
        if level == max_level(raw.width, raw.height):
            source = array[y0:y1, x0:x1]
        else:
            kept = await _level(app, raw, array, level)
            source = None if kept is None else kept[y0:y1, x0:x1]
    if source is None:  # a level too big to keep: reduced band by band, one band at a time
        level, x0, y0, x1, y1 = region or (0, 0, 0, 0, 0)

        def rows(first: int, last: int) -> np.ndarray[Any, Any]:
            return rawtiles.region(array, level, x0, y0 + first, x1, y0 + last)

        shape = (y1 - y0, x1 - x0, *array.shape[2:])
        file = bands.npy(np.dtype(np.float32), shape, rows)
        return File(file, compress, headers(compress), partial(_heavy, app))
    if compress and whole and answers.keeps(source.nbytes):  # kept, as every viewer reads it
        kept_source = source
        body: bytes = await _heavy(
            app,
            lambda: answers.get(
                raw, ("npy", region, "gzip"), lambda: rawfiles.npy_gzip(kept_source)
            ),
        )
        return File(bands.of_bytes(body), False, headers(True), work)
    return File(bands.npy_of(source), compress, headers(compress), work)


async def _fits_file(
    app: web.Application, frame: Frame, raw: Raw, params: Mapping[str, str], gzipped: bool
) -> File | RawAnswer:
    """The raw array as a FITS primary HDU (501 without astropy)."""
    if not rawfiles.fits_available():
        log.info("refused raw request: %s", rawfiles.FITS_MISSING)
        return RawAnswer.refusal(501, rawfiles.FITS_MISSING)
    array = await _array(app, raw)
    file = await _work(app, lambda: bands.fits(array, frame.metadata))
    headers = {
        **IMMUTABLE,
        "Content-Type": "application/fits",
        "Content-Disposition": f'attachment; filename="{frame.stream}-{frame.seq}.fits"',
        "X-Content-Type-Options": "nosniff",
    }
    return File(file, False, headers, partial(_work, app))


async def _joined(app: web.Application, file: File | RawAnswer) -> RawAnswer:
    """``file`` as one answer, for another node that asked through the broker."""
    if isinstance(file, RawAnswer):
        return file
    headers = dict(file.headers)
    content_type = headers.pop("Content-Type")
    body = bytes(await file.work(file.whole))
    return RawAnswer(200, content_type, body, headers)


async def _npy(
    app: web.Application, frame: Frame, raw: Raw, params: Mapping[str, str], gzipped: bool
) -> RawAnswer:
    return await _joined(app, await _npy_file(app, frame, raw, params, gzipped))


async def _fits(
    app: web.Application, frame: Frame, raw: Raw, params: Mapping[str, str], gzipped: bool
) -> RawAnswer:
    return await _joined(app, await _fits_file(app, frame, raw, params, gzipped))


async def _dzi(
    app: web.Application, frame: Frame, raw: Raw, params: Mapping[str, str], gzipped: bool
) -> RawAnswer:
    """The raw pyramid's DZI descriptor (``Format`` npy)."""
    body = dzi_xml(raw.width, raw.height, format=rawtiles.FORMAT)
    return RawAnswer(200, "application/xml", body, IMMUTABLE)


async def _tile(
    app: web.Application, frame: Frame, raw: Raw, params: Mapping[str, str], gzipped: bool
) -> RawAnswer:
    """One raw tile (sliced from its level when that level is kept with the frame)."""
    args = _parsed("tile", params)
    level, col, row = args["level"], args["col"], args["row"]
    rect = tile_rect(raw.width, raw.height, level, col, row)
    if rect is None:
        raise _refuse(
            f"raw tile {level}/{col}_{row} is outside the grid of a {raw.width}×{raw.height} "
            "frame; see its .dzi for the size"
        )
    streams = app[CONTEXT].streams
    reduced, decoded = streams.answers.peek(raw, ("level", level)), streams.answers

    def encode() -> bytes:
        if isinstance(reduced, np.ndarray):
            x0, y0, x1, y1 = rect
            tile = np.ascontiguousarray(reduced[y0:y1, x0:x1])
        else:
            tile = rawtiles.cut(raw.array(decoded), level, col, row)
        return rawfiles.npy_gzip(tile, tile=True) if gzipped else rawfiles.npy(tile)

    question = ("tile", level, col, row, "gzip" if gzipped else "identity")
    body = await _work(app, _remembered(app, raw, question, encode))
    return _npy_answer(body, gzipped)


_Route = Callable[[web.Application, Frame, Raw, Mapping[str, str], bool], Awaitable[RawAnswer]]
_ROUTES: dict[str, _Route] = {"npy": _npy, "fits": _fits, "dzi": _dzi, "tile": _tile}


async def raw_answer(
    app: web.Application,
    frame: Frame,
    route: str,
    params: Mapping[str, str],
    gzip: bool,
) -> RawAnswer:
    """The answer of raw ``route`` (``npy``, ``fits``, ``dzi``, ``tile`` with ``level``,
    ``col`` and ``row`` in ``params``) about ``frame`` (which has raw data); ``gzip``: the
    client accepts gzip. What the HTTP handlers send and what a node's broker sends back to
    the node that asked."""
    raw = frame.raw
    assert raw is not None
    try:
        return await _ROUTES[route](app, frame, raw, params, gzip)
    except _Refused as refused:
        return refused.answer


async def _handle(request: web.Request, route: str, params: Mapping[str, str]) -> web.Response:
    try:
        frame = _frame(request)
    except _Refused as refused:
        return response_of(refused.answer)
    gzip = accepts_gzip(request)
    return response_of(await answer(request.app, frame, route, params, gzip, raw_answer))


_FileOf = Callable[
    [web.Application, Frame, Raw, Mapping[str, str], bool], Awaitable["File | RawAnswer"]
]
_FILES: dict[str, _FileOf] = {"npy": _npy_file, "fits": _fits_file}


async def _download(
    request: web.Request, route: str, params: Mapping[str, str]
) -> web.StreamResponse:
    """A whole-frame file of a frame of this node, streamed while it holds a place among
    the downloads (503 when there is none); a frame of another node's, asked of it."""
    try:
        frame = _frame(request)
    except _Refused as refused:
        return response_of(refused.answer)
    app, raw, gzip = request.app, frame.raw, accepts_gzip(request)
    assert raw is not None
    if isinstance(raw, RemoteRaw):
        return response_of(await answer(app, frame, route, params, gzip, raw_answer))
    context = app[CONTEXT]
    try:
        download = context.admission.admit(client_of(request, context), context.settings)
    except DownloadRefused as refused:
        return response_of(refused.answer)
    with download:
        try:
            file = await _FILES[route](app, frame, raw, params, gzip)
        except _Refused as refused:
            return response_of(refused.answer)
        if isinstance(file, RawAnswer):
            return response_of(file)
        return await transfer.send(request, file, download)


async def npy_handler(request: web.Request) -> web.StreamResponse:
    """``GET <stream>/raw/<seq>.npy[?level=L[&x=X&y=Y&w=W&h=H]]``: the whole raw array in
    NumPy's format, or a rectangle of one level of its pyramid."""
    return await _download(request, "npy", _given(request, "npy"))


async def fits_handler(request: web.Request) -> web.StreamResponse:
    """``GET <stream>/raw/<seq>.fits``: the raw array as a FITS primary HDU (501 without
    astropy)."""
    return await _download(request, "fits", {})


async def dzi_handler(request: web.Request) -> web.Response:
    """``GET <stream>/raw/<seq>.dzi``: the raw pyramid's DZI descriptor (``Format`` npy)."""
    return await _handle(request, "dzi", {})


async def tile_handler(request: web.Request) -> web.Response:
    """``GET <stream>/raw/<seq>_files/<level>/<col>_<row>.npy``: one raw tile."""
    return await _handle(request, "tile", _given(request, "tile"))


def _given(request: web.Request, route: str) -> dict[str, str]:
    return QUESTIONS[route].given(request.match_info, request.query)


_HANDLERS: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
    "npy": npy_handler,
    "fits": fits_handler,
    "dzi": dzi_handler,
    "tile": tile_handler,
}


def add_raw_routes(app: web.Application, prefix: str) -> None:
    """The raw routes under ``prefix`` ("" for the default stream's root ones), where the
    questions about raw data say (:data:`~framecast.science.queries.QUESTIONS`)."""
    for route, handler in _HANDLERS.items():
        app.router.add_get(prefix + QUESTIONS[route].path, handler)
