"""``POST /api/frames``: publish an image over HTTP, from any language (docs/control.md).

The body is the encoded image (JPEG, PNG, TIFF or FITS; the ``Content-Type`` is ignored and
the bytes are sniffed, so ``curl --data-binary @frame.jpg`` just works). Metadata is a JSON
object in ``?metadata=<url-encoded JSON>`` or an ``X-Framecast-Metadata`` header (both may
be given; the header's keys win). Overlays, the shapes drawn over this image only
(docs/together.md), are a JSON list in ``?overlays=<url-encoded JSON>`` or an
``X-Framecast-Overlays`` header (the header wins). The image is published exactly like
``ImageServer.publish()``.

Answers (always JSON, one line):

``POST /s/<name>/api/frames`` publishes to stream ``<name>`` and creates it if it does not
exist yet (docs/streams.md): ``400`` for an invalid name, ``409`` when ``max_streams`` streams
already
exist. Both are checked before the body is read; the stream is made only once the image is
known to be good.

- ``202 {"ok": true, "seq": N}`` — ``N`` is the sequence number the image got (the ``seq``
  of its ``new_image`` message). The answer is sent once the image is published, which
  happens as soon as it is made, whether or not anyone watches: an image whose sender
  waits is never held back to the web files' pace (``max_file_rate``), so a producer's
  loop is paced by nothing but its own uploads (docs/streams.md). If a newer image (from
  another source or another client) replaced it before that, ``seq`` is ``null`` at once:
  it was accepted but never shown.
- ``400`` bad metadata (not a JSON object, or nested deeper than ``max_metadata_depth``),
  overlays that are not shapes framecast draws (the message names the shape and its field;
  over ``max_overlay_bytes`` or ``max_overlays`` too) or an empty body, ``401`` missing or
  wrong operator token (when one is set), ``403`` sent
  by a web page of another origin, ``408`` body not received within ``body_timeout`` s,
  ``413`` body over ``max_ingest_bytes``, metadata over ``max_metadata_bytes`` or an image
  over ``max_image_pixels``, ``415`` not a JPEG/PNG/TIFF/FITS image or one that cannot be
  decoded, ``503`` while the server stops or when ``max_uploads`` bodies are already being
  received (with ``Retry-After``).

Every refusal is logged in one line (no traceback). The limits are checked before the work
they bound: origin, token and the upload cap before the body is read; metadata size and
depth before it is parsed; the body's size and time while it is read. Decoding runs in the
server's small decode pool, so concurrent uploads cannot multiply the memory it takes.

How ``N`` is known: the image is decoded (validated) here first, then handed to the
pipeline with an ``on_published`` callback, which the pipeline calls with the number the
frame was published under, or ``None`` when a newer image replaced it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp
from aiohttp import web

from framecast import imaging
from framecast.errors import (
    ImageTooLargeError,
    MetadataError,
    ServerStateError,
    ShapeError,
    StreamLimitError,
    spell,
)
from framecast.live import metadata
from framecast.live.frames import Incoming
from framecast.live.shapes import ShapeLimits, parse_overlays
from framecast.runtime.deadline import within
from framecast.web.context import CONTEXT, WebContext
from framecast.web.guards import check_operator, check_origin, client_of
from framecast.web.streampaths import stream_name_of

__all__ = ["ACCEPTED_FORMATS", "INGEST_WAIT", "ingest_handler", "parse_metadata"]

log = logging.getLogger("framecast.ingest")

ACCEPTED_FORMATS = ("jpeg", "png", "tiff", "fits")
#: Longest wait for the pipeline to publish the image before answering ``seq: null``.
INGEST_WAIT = 5.0
METADATA_HEADER = "X-Framecast-Metadata"
OVERLAYS_HEADER = "X-Framecast-Overlays"
_CHUNK = 256 * 1024


class IngestError(Exception):
    """A refused upload: HTTP status, a one-line message, and whether to close the
    connection (when the rest of the body is not worth reading)."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        close: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.close = close


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_metadata(
    text: str, where: str, *, max_depth: int = 32, max_bytes: int | None = None
) -> dict[str, Any]:
    """A JSON object from ``text``, or :class:`IngestError` saying what is wrong: 413 over
    ``max_bytes``, 400 nested deeper than ``max_depth`` or not a JSON object. Size and depth
    are checked on the text, before the (recursive) parser sees it."""
    try:
        if max_bytes is not None:
            metadata.check_text_size(text, max_bytes)
    except MetadataError as exc:
        raise IngestError(413, f"{exc} (in {where})") from None
    try:
        metadata.check_text_depth(text, max_depth)
    except MetadataError as exc:
        raise IngestError(400, f"{exc} (in {where})") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "not JSON"
        raise IngestError(
            400, f"metadata in {where} is not valid JSON ({detail}); send a JSON object"
        ) from None
    if not isinstance(value, dict):
        raise IngestError(
            400,
            f'metadata in {where} must be a JSON object like {{"EXPO": 30}}, '
            f"not a {type(value).__name__}",
        )
    return value


def _metadata(request: web.Request, context: WebContext) -> dict[str, Any]:
    settings = context.settings
    texts = [
        (request.query.get("metadata"), "?metadata="),
        (request.headers.get(METADATA_HEADER), f"the {METADATA_HEADER} header"),
    ]
    given = [(text, where) for text, where in texts if text is not None]
    try:  # the limit is for all the metadata of one image
        metadata.check_text_size("".join(text for text, _ in given), settings.max_metadata_bytes)
    except MetadataError as exc:
        raise IngestError(413, str(exc)) from None
    merged: dict[str, Any] = {}
    for text, where in given:
        merged.update(parse_metadata(text, where, max_depth=settings.max_metadata_depth))
    return merged


def _overlays(request: web.Request, context: WebContext) -> tuple[dict[str, Any], ...]:
    """The image's overlays (header first, else the query), checked before the body is read."""
    text = request.headers.get(OVERLAYS_HEADER)
    if text is None:
        text = request.query.get("overlays")
    if text is None:
        return ()
    try:
        return parse_overlays(text, ShapeLimits.of(context.settings))
    except ShapeError as exc:
        raise IngestError(400, f"{exc}; nothing was published") from None


async def _read_body(request: web.Request, limit: int) -> bytes:
    too_big = IngestError(
        413,
        f"the image is larger than {limit} bytes (max_ingest_bytes); "
        f"send a smaller image or raise {spell('max_ingest_bytes')}",
        close=True,
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


async def _receive(request: web.Request, context: WebContext) -> bytes:
    """The whole body within ``body_timeout`` s (408 and close otherwise)."""
    settings = context.settings
    try:
        async with asyncio.timeout(settings.body_timeout):
            return await _read_body(request, settings.max_ingest_bytes)
    except TimeoutError:
        raise IngestError(
            408,
            f"the image did not arrive within {settings.body_timeout:g} s (body_timeout); "
            f"send it faster or raise {spell('body_timeout')}",
            close=True,
        ) from None
    except (ConnectionError, aiohttp.ClientPayloadError) as exc:
        # The client went away (or sent a broken chunked body): its mistake, one log line.
        raise IngestError(
            400, f"the image was not sent whole: {exc or type(exc).__name__}", close=True
        ) from None


def _validate(body: bytes, max_pixels: int) -> Any:
    """Decode once to be sure the image is usable (its header's size checked against
    ``max_pixels`` before decoding); JPEG bytes are kept as they are (the pipeline passes
    them through without re-encoding), other formats as the decoded array."""
    array = imaging.load(body, max_pixels=max_pixels)
    return body if imaging.sniff(body) == "jpeg" else array


async def _decode(body: bytes, kind: str, context: WebContext) -> Any:
    """Decode in the server's decode pool. Any failure to decode the client's bytes is the
    client's image, never a server error: 413 over the pixel limit, 415 otherwise."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(
            context.decoder, _validate, body, context.settings.max_image_pixels
        )
    except ImageTooLargeError as exc:
        raise IngestError(413, str(exc)) from None
    except Exception as exc:  # ImageError, and whatever a decoder library raises
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IngestError(415, f"the {kind.upper()} image cannot be decoded: {detail}") from None


def _check_access(request: web.Request, context: WebContext) -> None:
    try:
        check_origin(request, context)
    except web.HTTPForbidden as exc:
        raise IngestError(403, (exc.text or "forbidden").strip(), close=True) from None
    try:
        check_operator(request, context, "POST /api/frames")
    except web.HTTPUnauthorized as exc:
        challenge = {k: v for k, v in exc.headers.items() if k.lower() == "www-authenticate"}
        raise IngestError(401, (exc.text or "unauthorized").strip(), challenge) from None
    if context.closing.is_set():
        raise IngestError(503, "the server is stopping; try again when it is back", close=True)


async def _accept(
    request: web.Request, context: WebContext
) -> tuple[Any, dict[str, Any], tuple[dict[str, Any], ...]]:
    """Receive and validate one upload while holding one of ``max_uploads`` slots."""
    if context.uploads >= context.settings.max_uploads:
        raise IngestError(
            503,
            f"{context.settings.max_uploads} uploads are already being received "
            "(max_uploads); try again in a moment",
            {"Retry-After": "1"},
            close=True,
        )
    context.uploads += 1
    try:
        meta = _metadata(request, context)
        overlays = _overlays(request, context)
        body = await _receive(request, context)
        if not body:
            raise IngestError(
                400,
                "the request body is empty; send the image bytes (curl --data-binary @image.jpg)",
            )
        kind = imaging.sniff(body)
        if kind not in ACCEPTED_FORMATS:
            raise IngestError(
                415,
                "the body is not a JPEG, PNG, TIFF or FITS image; send the raw file bytes "
                "(curl --data-binary @image.jpg), not a form",
            )
        data = await _decode(body, kind, context)
        log.debug("received a %s image of %d bytes", kind, len(body))
        return data, meta, overlays
    finally:
        context.uploads -= 1


def _stream_name(request: web.Request, context: WebContext) -> str:
    """The stream to publish to: 400 for an invalid name, 409 when a new one has no room."""
    try:
        name = stream_name_of(request)
    except web.HTTPBadRequest as exc:
        raise IngestError(400, (exc.text or "bad stream name").strip(), close=True) from None
    try:
        context.streams.room(name)
    except StreamLimitError as exc:
        raise IngestError(409, str(exc), close=True) from None
    return name


async def _ingest(request: web.Request, context: WebContext) -> dict[str, Any]:
    _check_access(request, context)
    name = _stream_name(request, context)
    data, meta, overlays = await _accept(request, context)
    try:
        stream = context.streams.create(name)
    except StreamLimitError as exc:  # another upload took the last place meanwhile
        raise IngestError(409, str(exc)) from None
    except ServerStateError:
        raise IngestError(503, "the server is stopping; try again when it is back") from None
    published: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    def report(seq: int | None) -> None:
        if not published.done():
            published.set_result(seq)

    stream.pipeline.submit(
        Incoming(
            load=lambda: data,
            metadata=meta,
            time=time.time(),
            name="POST /api/frames",
            on_published=report,
            overlays=overlays,
        )
    )
    stream.counters.frames_ingested += 1
    try:
        seq = await within(asyncio.shield(published), INGEST_WAIT)
    except TimeoutError:
        seq = None  # not published in time (e.g. the server is stopping)
    log.debug("ingested an image as frame %s", seq)
    return {"ok": True, "seq": seq}


async def ingest_handler(request: web.Request) -> web.Response:
    """``POST /api/frames``: see the module documentation for the answers."""
    context = request.app[CONTEXT]
    try:
        reply = await _ingest(request, context)
    except IngestError as exc:
        context.counters.ingest_rejected += 1
        client = client_of(request, context)
        log.info("refused POST %s from %s: %d %s", request.path, client, exc.status, exc)
        response = web.json_response(
            {"ok": False, "error": str(exc)}, status=exc.status, headers=exc.headers
        )
        if exc.close:
            response.force_close()
        return response
    return web.json_response(reply, status=202)
