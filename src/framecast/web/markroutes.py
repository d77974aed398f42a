"""Shared marks over HTTP (docs/together.md): ``GET <stream>/api/marks`` (every mark of the
stream, oldest first), ``POST <stream>/api/marks`` (one mark; answered 201 with it and its
``id``) and ``DELETE <stream>/api/marks/<id>``.

Reading needs what viewing needs (the viewer token when one is set); changing needs the
operator token when one is set (:func:`~framecast.web.guards.check_operator`), and a browser
page of this server's own origin. A body over ``max_mark_bytes`` is refused (413) before
it is read whole, one not received within ``body_timeout`` s answers 408; a mark that is not
a shape framecast draws, or one more than ``max_marks`` on the stream, answers 400 with the
one line that says why, and nothing is stored.

Every change reaches the stream's live viewers at once (a ``marks`` message on ``/ws`` and
``/events`` with all of the stream's marks), the other nodes through the broker, and the work
folder in a worker thread (:class:`~framecast.live.markbook.MarkBook`).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import web

from framecast.errors import ShapeError
from framecast.live.streams import Stream
from framecast.runtime.throttle import LogThrottle
from framecast.web.context import CONTEXT, WebContext
from framecast.web.guards import check_operator, check_origin, check_viewer, client_of
from framecast.web.streampaths import stream_of

__all__ = ["add_mark_routes", "changed", "received"]

log = logging.getLogger("framecast.marks")

#: A marks file that cannot be written is reported at most once per this many seconds.
WRITE_ERROR_INTERVAL = 60.0
_write_errors = LogThrottle(WRITE_ERROR_INTERVAL)
_CHUNK = 64 * 1024


def add_mark_routes(app: web.Application, prefix: str) -> None:
    """The marks routes under ``prefix`` (the root or ``/s/{stream}``)."""
    app.router.add_get(prefix + "/api/marks", list_marks)
    app.router.add_post(prefix + "/api/marks", add_mark)
    app.router.add_delete(prefix + "/api/marks/{ident}", delete_mark)


def _refusal(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


async def list_marks(request: web.Request) -> web.Response:
    """``GET <stream>/api/marks``: the stream's marks as a JSON list, oldest first."""
    context = request.app[CONTEXT]
    check_viewer(request, context)
    stream = stream_of(request)
    marks = context.marks.listing(stream.name)
    return web.json_response(marks, headers={"Cache-Control": "no-store"})


def _may_change(request: web.Request, context: WebContext, what: str) -> Stream:
    check_origin(request, context)
    check_operator(request, context, what)
    return stream_of(request)


async def _body(request: web.Request, context: WebContext) -> bytes | web.Response:
    """The request's body, or the refusal to answer: 413 over ``max_mark_bytes`` (before
    it is read when its length is declared), 408 when it is not received in time."""
    settings = context.settings
    limit = settings.max_mark_bytes
    too_big = _refusal(
        413,
        f"a mark is at most {limit} bytes of JSON (max_mark_bytes); send a smaller one",
    )
    if request.content_length is not None and request.content_length > limit:
        too_big.force_close()
        return too_big
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(settings.body_timeout):
            async for chunk in request.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > limit:
                    too_big.force_close()
                    return too_big
                chunks.append(chunk)
    except TimeoutError:
        late = _refusal(408, f"the mark did not arrive within {settings.body_timeout:g} s")
        late.force_close()
        return late
    except (ConnectionError, aiohttp.ClientPayloadError):
        return _refusal(400, "the mark was not sent whole")
    return b"".join(chunks)


async def add_mark(request: web.Request) -> web.Response:
    """``POST <stream>/api/marks``: store one mark; 201 with the mark as stored."""
    context = request.app[CONTEXT]
    stream = _may_change(request, context, "POST /api/marks")
    body = await _body(request, context)
    if isinstance(body, web.Response):
        return body
    book = context.marks
    try:
        mark = book.add(stream.name, book.parse(body))
    except ShapeError as exc:
        log.info("refused a mark from %s: %s", client_of(request, context), exc)
        return _refusal(400, f"{exc}; nothing was stored")
    if context.broker is not None:
        context.broker.marks.added(stream.name, mark)
    await changed(context, stream.name)
    return web.json_response(mark, status=201)


async def delete_mark(request: web.Request) -> web.Response:
    """``DELETE <stream>/api/marks/<id>``: 200 ``{"ok": true, "id": …}``, or 404."""
    context = request.app[CONTEXT]
    stream = _may_change(request, context, "DELETE /api/marks")
    ident = request.match_info["ident"]
    if not context.marks.remove(stream.name, ident):
        shown = ident[:64].encode("ascii", "backslashreplace").decode()
        return _refusal(404, f"stream {stream.name!r} has no mark {shown!r}; see api/marks")
    if context.broker is not None:
        context.broker.marks.removed(stream.name, ident)
    await changed(context, stream.name)
    return web.json_response({"ok": True, "id": ident})


async def received(context: WebContext, name: str, marks: list[object]) -> None:
    """The marks of stream ``name`` as the broker holds them (another node changed them):
    stored here, shown and written (:class:`~framecast.errors.ShapeError` for a bad one,
    and nothing changes)."""
    context.marks.replace(name, marks)
    await changed(context, name)


async def changed(context: WebContext, name: str) -> None:
    """Tell the viewers of stream ``name`` its marks changed, and write them to the work
    folder off the event loop."""
    book = context.marks
    stream = context.streams.get(name)
    if stream is not None:
        stream.hub.announce(book.notice(name))
    version, data = book.snapshot(name)
    try:
        await asyncio.to_thread(book.write, name, version, data)
    except OSError as exc:
        count = _write_errors.due()
        if count is not None:
            log.error(
                "could not write the marks of stream %r (%d time(s) since the last report): "
                "%s; they are shown, but will not survive a restart",
                name,
                count,
                exc.strerror or exc,
            )
