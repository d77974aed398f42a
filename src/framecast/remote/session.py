"""How one call of the client talks to the server (docs/client.md, "Limits" and "HTTPS").

- **Trust** (:func:`trust`): TLS certificates are checked against the system's authorities,
  or against exactly one certificate file (``cafile``, e.g. the ``cert.pem`` that
  ``framecast cert`` wrote), or not at all (``verify=False``, never the default).
- **One origin** (:func:`open_session`): a redirect to another scheme, host or port is
  refused before anything (the image, the token, a command) is sent there; a ``POST`` is
  followed only through ``307``/``308`` on the same origin, which keep its body.
- **Bounded answers** (:func:`receive`): a body is read as it arrives and decoded a batch at
  a time, never more than the :class:`~framecast.remote.bodies.Body` it fills has room for;
  batches of a large answer are decoded in a worker thread, off the caller's event loop.

Deadlines are the caller's: each call runs within its ``timeout`` as a whole.
"""

from __future__ import annotations

import asyncio
import os
import ssl

import aiohttp
from yarl import URL

from framecast.remote.bodies import Body
from framecast.remote.inflater import Inflater

__all__ = [
    "MAX_REDIRECTS",
    "REDIRECTS",
    "Redirected",
    "decode_into",
    "open_session",
    "receive",
    "trust",
]

#: Redirects followed within the server's origin before giving up (aiohttp's own count).
MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)
#: Wire bytes gathered before they are decoded.
BATCH_BYTES = 1 << 20
#: Decoding that may read or make this many bytes runs in a worker thread.
THREAD_BYTES = 64 * 1024
#: Most decoded bytes handed over at once (the array is the only full-size copy).
PIECE_BYTES = 4 << 20


class Redirected(Exception):
    """The server redirected a request where the client will not follow."""

    def __init__(self, method: str, status: int, target: URL, final: URL, *, other: bool):
        super().__init__(f"{method} redirected ({status}) to {target}")
        self.method, self.status, self.target, self.final = method, status, target, final
        self.other_origin = other


def trust(cafile: str | os.PathLike[str] | None, verify: bool) -> ssl.SSLContext | bool:
    """What aiohttp checks certificates with: ``True`` the system's authorities, a context
    that trusts ``cafile`` only, ``False`` nothing. A bad file raises ``OSError`` or
    :class:`ssl.SSLError`."""
    if not verify:
        return False
    if cafile is None:
        return True
    return ssl.create_default_context(cafile=os.fspath(cafile))


def open_session(base: URL, tls: ssl.SSLContext | bool) -> aiohttp.ClientSession:
    """A session for one call to the server at ``base``: no deadline of its own (the call
    has one), compressed answers left compressed for :func:`receive`, and every hop of a
    redirect checked by the origin guard before it is sent."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=tls),
        timeout=aiohttp.ClientTimeout(total=None),
        auto_decompress=False,
        headers={"Accept-Encoding": "gzip"},
        middlewares=(_origin_guard(base),),
    )


def _origin(url: URL) -> tuple[str, str, int | None]:
    return url.scheme.lower(), (url.host or "").lower(), url.port


def _origin_guard(base: URL) -> aiohttp.ClientMiddlewareType:
    async def guard(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        response = await handler(request)
        location = response.headers.get("Location")
        if response.status not in REDIRECTS or not location:
            return response
        try:
            target = request.url.join(URL(location))
        except ValueError:
            return response  # aiohttp says so itself
        other = _origin(target) != _origin(base)
        if other or (request.method == "POST" and response.status not in (307, 308)):
            response.close()
            final = _final(base, request.url, target)
            raise Redirected(request.method, response.status, target, final, other=other)
        return response

    return guard


def _final(base: URL, asked: URL, target: URL) -> URL:
    """The base URL the redirect points to: ``target`` less what ``asked`` added to
    ``base`` (``…/api/frames``), else ``target`` itself."""
    suffix = asked.path[len(base.path) :] if asked.path.startswith(base.path) else ""
    if suffix and target.path.endswith(suffix):
        return target.with_path(target.path[: -len(suffix)]).with_query(None)
    return target


async def receive(response: aiohttp.ClientResponse, body: Body) -> None:
    """Fill ``body`` with the decoded bytes of ``response``, stopping as soon as it is
    done or refuses them; :class:`~framecast.remote.bodies.BodyError` or
    :class:`~framecast.remote.inflater.EncodingError` when the answer is not acceptable."""
    inflater = Inflater(response.headers.get("Content-Encoding", ""))
    wire = bytearray()
    async for chunk in response.content.iter_any():
        wire += chunk
        if len(wire) >= min(BATCH_BYTES, body.room + 1):
            await _pour(inflater, bytes(wire), body)
            wire.clear()
            if body.done:
                return
    await _pour(inflater, bytes(wire), body)
    if not body.done:
        inflater.finish()
        body.finish()


async def _pour(inflater: Inflater, data: bytes, body: Body) -> None:
    if len(data) >= THREAD_BYTES or (inflater.compressed and body.room >= THREAD_BYTES):
        await asyncio.to_thread(decode_into, inflater, data, body)
    else:
        decode_into(inflater, data, body)


def decode_into(inflater: Inflater, data: bytes, body: Body) -> None:
    """Decode ``data`` into ``body``, never more than one byte past its room (so that a body
    that would overflow is refused after that byte, not after the whole answer)."""
    inflater.feed(data)
    while not body.done:
        piece = inflater.read(min(body.room + 1, PIECE_BYTES))
        if not piece:
            return
        body.take(piece)
