"""One raw file written to its client band by band (docs/science.md, "Big downloads").

A :class:`File` is what a download sends: its bands (:class:`~framecast.science.bands.Bands`),
whether to compress them on the way, its headers, and how a band that is not free is made.
:func:`send` writes it as a ``StreamResponse``: the headers (with ``Content-Length`` when
the length is known), then each band once the client has taken the one before (aiohttp
waits for the connection's buffer to drain), compressed band by band as one gzip stream
when asked. A band that is a view of memory held (rows of a frame) is written as it is;
any other (rows copied from a rectangle or reduced from the frame, a band compressed or
converted for FITS) is made by the file's ``work``, in the tile workers. So a download
holds one band at a time, never a copy of the whole file.

Every write is bounded by the HTTP send deadline (:mod:`framecast.web.senddeadline`): a
client that stops reading is cut off after ``send_timeout``, its write fails, and the
download ends there, releasing its band and its place
(:class:`~framecast.web.admission.Download`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from aiohttp import web

from framecast.science.bands import Bands, Piece
from framecast.science.rawfiles import Deflate
from framecast.web.admission import Download

__all__ = ["File", "Work", "send"]

log = logging.getLogger("framecast.web.raw")

#: Runs a job off the loop and returns its result.
Work = Callable[[Callable[[], Piece]], Awaitable[Piece]]


@dataclass(frozen=True, slots=True)
class File:
    """A whole-frame file to send: its ``bands``, whether to ``gzip`` them on the way, its
    ``headers`` (``Content-Type`` included), and the ``work`` that makes a band that is not
    free."""

    bands: Bands
    gzip: bool
    headers: dict[str, str]
    work: Work

    def whole(self) -> bytes:
        """Every byte at once, compressed if it says so (for another node through the
        broker; blocks: call it in a worker)."""
        if not self.gzip:
            return self.bands.join()
        deflate = Deflate()
        return b"".join([*map(deflate.compress, self.bands.pieces()), deflate.flush()])


def _compressed(bands: Bands, deflate: Deflate, index: int) -> bytes:
    """Band ``index`` compressed, with the header before the first and the trailer and the
    end of the gzip stream after the last."""
    out = [deflate.compress(bands.header)] if index == 0 else []
    out.append(deflate.compress(bands.make(index)))
    if index == bands.count - 1:
        out += [deflate.compress(bands.trailer), deflate.flush()]
    return b"".join(out)


async def send(request: web.Request, file: File, download: Download) -> web.StreamResponse:
    """Write ``file`` to ``request``'s client, counting what it holds in ``download``; the
    response, finished or cut off."""
    bands, work = file.bands, file.work
    response = web.StreamResponse(status=200, headers=file.headers)
    deflate = Deflate() if file.gzip else None
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
