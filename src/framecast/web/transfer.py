"""One raw file written to its client band by band (docs/science.md, "Big downloads").

:func:`send` writes a :class:`~framecast.science.bands.Bands` as a ``StreamResponse``: the
headers (with ``Content-Length`` when the length is known), then each band once the client
has taken the one before (aiohttp waits for the connection's buffer to drain), compressed
band by band with one gzip stream when asked. A band that is a view of memory held (rows of
a frame) is written as it is; any other (rows copied from a rectangle, reduced from the
frame, compressed, converted for FITS) is made by the ``work`` it is given, in the tile
workers. So a download holds one band at a time, never a copy of the whole file.

Every write is bounded by the HTTP send deadline (:mod:`framecast.web.senddeadline`): a
client that stops reading is cut off after ``send_timeout``, its write fails, and the
download ends there, releasing its band and its place (:class:`~framecast.web.admission.Download`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial

from aiohttp import web

from framecast.science.bands import Bands, Piece
from framecast.science.rawfiles import Deflate
from framecast.web.admission import Download

__all__ = ["Work", "send"]

log = logging.getLogger("framecast.web.downloads")

#: Runs a job off the loop and returns its result.
Work = Callable[[Callable[[], Piece]], Awaitable[Piece]]


def _compressed(bands: Bands, deflate: Deflate, index: int) -> bytes:
    """Band ``index`` compressed, with the header before the first and the trailer and the
    end of the gzip stream after the last."""
    out = [deflate.compress(bands.header)] if index == 0 else []
    out.append(deflate.compress(bands.make(index)))
    if index == bands.count - 1:
        out += [deflate.compress(bands.trailer), deflate.flush()]
    return b"".join(out)


async def send(
    request: web.Request,
    bands: Bands,
    download: Download,
    *,
    headers: Mapping[str, str],
    gzip: bool,
    work: Work,
) -> web.StreamResponse:
    """Write ``bands`` to ``request``'s client (gzip-compressed when ``gzip``), ``work``
    making each band that is not free; the response, finished or cut off."""
    response = web.StreamResponse(status=200, headers=headers)
    deflate = Deflate() if gzip else None
    if deflate is None:
        response.content_length = bands.length
    try:
        await response.prepare(request)

        async def write(piece: Piece) -> None:
            if len(piece):
                with download.holding(len(piece)):
                    await response.write(piece)

        if deflate is None:
            await write(bands.header)
        for index in range(bands.count):
            if deflate is not None:
                await write(await work(partial(_compressed, bands, deflate, index)))
            elif bands.free:
                await write(bands.make(index))
            else:
                await write(await work(partial(bands.make, index)))
        if deflate is None:
            await write(bands.trailer)
        await response.write_eof()
    except ConnectionError:  # gone, or cut off by the send deadline: nothing more to send
        log.debug("a download of %s ended before its last byte", request.path)
    return response
