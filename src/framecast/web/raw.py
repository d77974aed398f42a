"""Raw data over HTTP (SPEC §11.2): ``GET <stream>/raw/<seq>.npy``, ``<stream>/raw/<seq>.fits``,
``<stream>/raw/<seq>.dzi`` and ``<stream>/raw/<seq>_files/<level>/<col>_<row>.npy``.

Every frame still kept (live or in history) that has raw data answers, small frames too.
The work (encoding a file, reducing a tile, compressing) runs in the tile workers
(:data:`~framecast.web.tiles.TILE_POOL`), never on the event loop. ``.npy`` answers are
gzip-compressed when the client accepts gzip; a compressed body and every tile are computed
once per frame and kept in the server's :class:`~framecast.answers.Answers`, so they leave
with the frame. Uncompressed whole-frame files are one copy of the frame, made again on each
request rather than doubling the frame's memory in the cache. Answers for a seq never change
(immutable). A frame not kept, a frame without raw data (``keep_raw = false``) or a tile
outside the grid is a 404 with one line saying why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from typing import TypeVar

from aiohttp import web

from .. import rawfiles, rawtiles
from ..frames import Frame
from ..raw import Raw
from ..tiles import dzi_xml, tile_rect
from .context import CONTEXT
from .guards import check_viewer
from .streams import stream_of
from .tiles import IMMUTABLE, TILE_POOL, frame_of

__all__ = ["accepts_gzip", "add_raw_routes"]

log = logging.getLogger("framecast.web.raw")

_NUMBER = r"{%s:\d{1,10}}"
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


def _refuse(message: str, *, ordinary: bool = False) -> web.HTTPNotFound:
    if ordinary:
        log.debug("raw: %s", message)  # an old frame: per-frame detail
    else:
        log.info("refused raw request: %s", message)
    return web.HTTPNotFound(text=message + "\n")


def _frame(request: web.Request) -> tuple[Frame, Raw]:
    """The frame the URL names and its raw data, or the 404 that says why not."""
    check_viewer(request, request.app[CONTEXT])
    stream = stream_of(request)
    seq = int(request.match_info["seq"])
    frame = frame_of(stream, seq)
    if frame is None:
        where = stream.path.rstrip("/") if request.match_info.get("stream") else ""
        raise _refuse(
            f"frame {seq} of stream {stream.name!r} is not kept any more (or not yet); see "
            f"{where}/api/history for the frames kept",
            ordinary=True,
        )
    if frame.raw is None:
        raise _refuse(
            "raw data is not kept: keep_raw is false; start the server with --keep-raw true "
            "(keep_raw = true) to serve it"
        )
    return frame, frame.raw


async def _work(request: web.Request, job: Callable[[], _T]) -> _T:
    """Run ``job`` in the tile workers."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[TILE_POOL], job)


def _remembered(
    request: web.Request, raw: Raw, question: Hashable, job: Callable[[], bytes]
) -> Callable[[], bytes]:
    """``job`` computed at most once for the frame, its answer kept with the frame."""
    answers = request.app[CONTEXT].streams.answers
    return lambda: answers.get(raw, question, job)


def _npy_response(body: bytes, gzipped: bool, filename: str | None = None) -> web.Response:
    headers = {**IMMUTABLE, "Vary": "Accept-Encoding", "X-Content-Type-Options": "nosniff"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return web.Response(body=body, content_type=_NPY, headers=headers)


async def npy_handler(request: web.Request) -> web.Response:
    """``GET <stream>/raw/<seq>.npy``: the whole raw array in NumPy's format."""
    frame, raw = _frame(request)
    gzipped = accepts_gzip(request)
    job: Callable[[], bytes] = (
        _remembered(request, raw, ("npy", "gzip"), lambda: rawfiles.npy_gzip(raw.array()))
        if gzipped
        else lambda: rawfiles.npy(raw.array())  # a copy of the frame: made anew, not kept
    )
    body = await _work(request, job)
    return _npy_response(body, gzipped, f"{frame.stream}-{frame.seq}.npy")


async def fits_handler(request: web.Request) -> web.Response:
    """``GET <stream>/raw/<seq>.fits``: the raw array as a FITS primary HDU (501 without
    astropy)."""
    frame, raw = _frame(request)
    if not rawfiles.fits_available():
        log.info("refused raw request: %s", rawfiles.FITS_MISSING)
        raise web.HTTPNotImplemented(text=rawfiles.FITS_MISSING + "\n")
    body = await _work(request, lambda: rawfiles.fits(raw.array(), frame.metadata))
    headers = {
        **IMMUTABLE,
        "Content-Disposition": f'attachment; filename="{frame.stream}-{frame.seq}.fits"',
        "X-Content-Type-Options": "nosniff",
    }
    return web.Response(body=body, content_type="application/fits", headers=headers)


async def dzi_handler(request: web.Request) -> web.Response:
    """``GET <stream>/raw/<seq>.dzi``: the raw pyramid's DZI descriptor (``Format`` npy)."""
    _, raw = _frame(request)
    body = dzi_xml(raw.width, raw.height, format=rawtiles.FORMAT)
    return web.Response(body=body, content_type="application/xml", headers=IMMUTABLE)


async def tile_handler(request: web.Request) -> web.Response:
    """``GET <stream>/raw/<seq>_files/<level>/<col>_<row>.npy``: one raw tile."""
    _, raw = _frame(request)
    level, col, row = (int(request.match_info[k]) for k in ("level", "col", "row"))
    if tile_rect(raw.width, raw.height, level, col, row) is None:
        raise _refuse(
            f"raw tile {level}/{col}_{row} is outside the grid of a {raw.width}×{raw.height} "
            "frame; see its .dzi for the size"
        )
    gzipped = accepts_gzip(request)

    def encode() -> bytes:
        tile = rawtiles.cut(raw.array(), level, col, row)
        return rawfiles.npy_gzip(tile) if gzipped else rawfiles.npy(tile)

    question = ("tile", level, col, row, "gzip" if gzipped else "identity")
    body = await _work(request, _remembered(request, raw, question, encode))
    return _npy_response(body, gzipped)


def add_raw_routes(app: web.Application, prefix: str) -> None:
    """The raw routes under ``prefix`` ("" for the default stream's root ones)."""
    seq = _NUMBER % "seq"
    app.router.add_get(f"{prefix}/raw/{seq}.npy", npy_handler)
    app.router.add_get(f"{prefix}/raw/{seq}.fits", fits_handler)
    app.router.add_get(f"{prefix}/raw/{seq}.dzi", dzi_handler)
    tile = f"{prefix}/raw/{seq}_files/{_NUMBER % 'level'}/{_NUMBER % 'col'}_{_NUMBER % 'row'}"
    app.router.add_get(tile + ".npy", tile_handler)
