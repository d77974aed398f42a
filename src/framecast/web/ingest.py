"""``POST /api/frames``: publish an image over HTTP, from any language (SPEC §4.1).

The body is the encoded image (JPEG, PNG, TIFF or FITS; the ``Content-Type`` is ignored and
the bytes are sniffed, so ``curl --data-binary @frame.jpg`` just works). Metadata is a JSON
object in ``?metadata=<url-encoded JSON>`` or an ``X-Framecast-Metadata`` header (both may
be given; the header's keys win). The image is published exactly like
``ImageServer.publish()``.

Answers (always JSON, one line):

- ``202 {"ok": true, "seq": N}`` — ``N`` is the sequence number the image got (the ``seq``
  of its ``new_image`` message). The answer is sent once the image is published, which
  happens at once when viewers are connected and within ``1/max_file_rate`` s otherwise.
  If a newer image (from another source or another client) replaced it before that,
  ``seq`` is ``null`` at once: it was accepted but never shown.
- ``400`` bad metadata or an empty body, ``401`` missing or wrong operator token (when one
  is set), ``413`` body over ``max_ingest_bytes``, ``415`` not a JPEG/PNG/TIFF/FITS image
  or one that cannot be decoded, ``503`` while the server stops.

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

from aiohttp import web

from .. import imaging
from ..errors import ImageError
from ..frames import Incoming
from .context import CONTEXT, WebContext
from .guards import check_operator

__all__ = ["ACCEPTED_FORMATS", "INGEST_WAIT", "ingest_handler", "parse_metadata"]

log = logging.getLogger("framecast.ingest")

ACCEPTED_FORMATS = ("jpeg", "png", "tiff", "fits")
#: Longest wait for the pipeline to publish the image before answering ``seq: null``.
INGEST_WAIT = 5.0
METADATA_HEADER = "X-Framecast-Metadata"
_CHUNK = 256 * 1024


class IngestError(Exception):
    """A refused upload: HTTP status and a one-line message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_metadata(text: str, where: str) -> dict[str, Any]:
    """A JSON object from ``text``, or :class:`IngestError` (400) saying what is wrong."""
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


def _metadata(request: web.Request) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    query = request.query.get("metadata")
    if query is not None:
        metadata.update(parse_metadata(query, "?metadata="))
    header = request.headers.get(METADATA_HEADER)
    if header is not None:
        metadata.update(parse_metadata(header, f"the {METADATA_HEADER} header"))
    return metadata


async def _read_body(request: web.Request, limit: int) -> bytes:
    too_big = IngestError(
        413,
        f"the image is larger than {limit} bytes (max_ingest_bytes); "
        "send a smaller image or raise --max-ingest-bytes",
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


def _validate(body: bytes) -> Any:
    """Decode once to be sure the image is usable; JPEG bytes are kept as they are (the
    pipeline passes them through without re-encoding), other formats as the decoded array."""
    array = imaging.load(body)
    return body if imaging.sniff(body) == "jpeg" else array


async def _ingest(request: web.Request, context: WebContext) -> dict[str, Any]:
    try:
        check_operator(request, context, "POST /api/frames")
    except web.HTTPUnauthorized as exc:
        challenge = {k: v for k, v in exc.headers.items() if k.lower() == "www-authenticate"}
        raise IngestError(401, (exc.text or "unauthorized").strip(), challenge) from None
    if context.closing.is_set():
        raise IngestError(503, "the server is stopping; try again when it is back")
    metadata = _metadata(request)
    body = await _read_body(request, context.settings.max_ingest_bytes)
    if not body:
        raise IngestError(
            400, "the request body is empty; send the image bytes (curl --data-binary @image.jpg)"
        )
    kind = imaging.sniff(body)
    if kind not in ACCEPTED_FORMATS:
        raise IngestError(
            415,
            "the body is not a JPEG, PNG, TIFF or FITS image; send the raw file bytes "
            "(curl --data-binary @image.jpg), not a form",
        )
    try:
        data = await asyncio.to_thread(_validate, body)
    except ImageError as exc:
        raise IngestError(415, f"the {kind.upper()} image cannot be decoded: {exc}") from None
    published: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    def report(seq: int | None) -> None:
        if not published.done():
            published.set_result(seq)

    context.pipeline.submit(
        Incoming(
            load=lambda: data,
            metadata=metadata,
            time=time.time(),
            name="POST /api/frames",
            on_published=report,
        )
    )
    context.ingested += 1
    try:
        seq = await asyncio.wait_for(asyncio.shield(published), INGEST_WAIT)
    except TimeoutError:
        seq = None  # not published in time (e.g. the server is stopping)
    log.debug("ingested a %s image of %d bytes as frame %s", kind, len(body), seq)
    return {"ok": True, "seq": seq}


async def ingest_handler(request: web.Request) -> web.Response:
    """``POST /api/frames``: see the module documentation for the answers."""
    context = request.app[CONTEXT]
    try:
        reply = await _ingest(request, context)
    except IngestError as exc:
        context.ingest_rejected += 1
        return web.json_response(
            {"ok": False, "error": str(exc)}, status=exc.status, headers=exc.headers
        )
    return web.json_response(reply, status=202)
