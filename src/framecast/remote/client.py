"""A producer on another machine: publish images to a framecast server and send commands.

::

    from framecast import Client

    camera = Client("http://192.168.1.20:8000", token=None)
    seq = camera.publish(array, metadata={"EXPO": 30})      # the number the image got
    camera.command("snapshot_now")                          # {"ok": True, "saved": "…"}
    pixels = camera.raw(seq)                                # the published array, exact

``publish`` takes what :meth:`ImageServer.publish() <framecast.ImageServer.publish>` takes,
encodes it here without losing depth (:mod:`framecast.remote.upload`) and sends it to
``POST [/s/<stream>]/api/frames``; ``command`` sends one JSON command over ``/control`` and
returns the reply; ``raw`` fetches a frame's raw array (``GET [/s/<stream>]/raw/<seq>.npy``).
``apublish``, ``acommand`` and ``araw`` are the ``async`` twins; the plain methods
need no event loop (inside a running one, e.g. a notebook, they run on a thread of their own).
Each call opens its own connection, so a client holds no resource and needs no closing.

Every failure to get an answer — server unreachable, certificate not trusted, no answer in
time, a refusal (401, 403, 404, 409, 413, 415, …), an answer too large or not what it should
be — raises :class:`~framecast.errors.ClientError` with one line saying what to do
(:mod:`framecast.remote.failures`); an unusable image raises
:class:`~framecast.errors.ImageError` before anything is sent.

The client does not trust the server (:mod:`framecast.remote.session`): each call has a
deadline, each answer a size limit checked as it is read and decoded (:data:`MAX_ANSWER_BYTES`,
:data:`MAX_DATA_JSON_BYTES`, :data:`MAX_REPLY_BYTES`, ``raw(max_bytes=)``), and nothing is
sent to another origin than the server's, whatever it redirects to (docs/client.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

import aiohttp
import numpy as np
from yarl import URL

from framecast.config.streamname import NAME_PATTERN
from framecast.errors import ClientError, ConfigError
from framecast.live.frames import MAX_DEPTH, jsonable
from framecast.live.metadata import check_value as check_metadata
from framecast.live.shapes import ShapeLimits, check_overlays
from framecast.remote import upload
from framecast.remote.bodies import Body, Capped, NpyBody
from framecast.remote.commandreply import MAX_REPLY_BYTES, command_text, read_reply, socket_name
from framecast.remote.failures import KEYWORDS, Failures, Words, server_detail
from framecast.remote.session import open_session, receive, trust
from framecast.runtime.deadline import within
from framecast.science.queries import QUESTIONS

__all__ = [
    "DEFAULT_MAX_RAW_BYTES",
    "DEFAULT_TIMEOUT",
    "MAX_ANSWER_BYTES",
    "MAX_DATA_JSON_BYTES",
    "MAX_REPLY_BYTES",
    "Client",
    "InsecureWarning",
]

#: Seconds a call may take, connecting and reading the whole answer included, unless
#: ``timeout=`` says otherwise.
DEFAULT_TIMEOUT = 30.0
#: Most bytes read of a short answer: an upload's ``202``, or a refusal (of which the first
#: line is shown; the rest is not read).
MAX_ANSWER_BYTES = 16 * 1024
#: Most bytes of a ``data.json`` read to find the latest frame (it holds the frame's
#: metadata: 1 MiB at most by the server's default ``max_metadata_bytes``).
MAX_DATA_JSON_BYTES = 4 << 20
#: Most bytes of the array :meth:`Client.raw` returns, unless ``max_bytes=`` says otherwise.
DEFAULT_MAX_RAW_BYTES = 1 << 30
METADATA_HEADER = "X-Framecast-Metadata"
OVERLAYS_HEADER = "X-Framecast-Overlays"
#: Overlays are checked shape by shape here; their count and size are the server's to limit.
_ANY_COUNT = ShapeLimits(max_shapes=1 << 30, max_points=1 << 30, max_bytes=1 << 40)
#: Longest header line an aiohttp server reads (its ``max_field_size``): the metadata of one
#: image over HTTP cannot be longer, whatever the server's ``max_metadata_bytes``.
METADATA_HEADER_BYTES = 8190
_T = TypeVar("_T")


class InsecureWarning(UserWarning):
    """A :class:`Client` made with ``verify=False``: it does not check who answers."""


def _run(make: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to its end from blocking code, with or without a running loop."""

    async def main() -> _T:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(1, thread_name_prefix="framecast-client") as pool:
        return pool.submit(asyncio.run, main()).result()


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class Client:
    """A connection-less handle on one framecast server.

    ``url`` is the server's address as its viewers open it (``http://host:8000/``, with a
    path when it is served behind a proxy under one; ``host:8000`` means ``http://``).
    ``token`` is the operator token (sent as ``Authorization: Bearer``), needed when the
    server was started with one. ``timeout`` bounds each call, in seconds, the whole
    answer included. ``cafile`` is a certificate to trust for ``https://`` (the
    ``cert.pem`` that ``framecast cert`` wrote; then only it is trusted), else the
    system's authorities are; ``verify=False`` checks no certificate at all (and warns
    with :class:`InsecureWarning`: anyone on the way can then read the token and the
    images, and answer in the server's place).
    """

    #: How messages name the caller's options (``framecast push`` names its flags).
    _words: ClassVar[Words] = KEYWORDS

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cafile: str | os.PathLike[str] | None = None,
        verify: bool = True,
    ) -> None:
        words = self._words
        text = url.strip()
        if "://" not in text:
            text = f"http://{text}"
        try:
            parsed = URL(text)
        except ValueError as exc:
            raise ConfigError(f"{words.url} {url!r} is not a URL ({exc})") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(
                f"{words.url} {url!r} is not an http:// or https:// address of a framecast "
                "server; give it as http://HOST:PORT/"
            )
        if not timeout > 0:
            raise ConfigError(f"{words.timeout} must be more than 0 seconds, not {timeout!r}")
        if cafile is not None and not verify:
            raise ConfigError(
                f"{words.cafile} and {words.insecure} contradict each other: give one of them"
            )
        try:
            self._tls = trust(cafile, verify)
        except (OSError, ssl.SSLError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ConfigError(
                f"{words.cafile} {os.fspath(cafile or '')!r} cannot be used ({reason}); give "
                "the cert.pem that `framecast cert` wrote"
            ) from None
        path = parsed.path if parsed.path.endswith("/") else f"{parsed.path}/"
        self._base = parsed.with_path(path).with_query(None).with_fragment(None)
        self._token = token or None
        self._timeout = float(timeout)
        self._failures = Failures(self._base, words, self._timeout, token=self._token is not None)
        if not verify:
            self._warn_insecure()

    @property
    def url(self) -> str:
        """The server's base URL, ending with ``/``."""
        return str(self._base)

    def __repr__(self) -> str:
        return f"Client({self.url!r}, token={'…' if self._token else None})"

    def _warn_insecure(self) -> None:
        warnings.warn(
            InsecureWarning(
                f"Client({self.url!r}, verify=False) does not check the server's certificate: "
                "anyone on the network path can read the token and the images and answer in "
                "the server's place; pass cafile= with the server's cert.pem instead"
            ),
            stacklevel=3,
        )

    # -- blocking --------------------------------------------------------------------------
    def publish(
        self,
        image: Any,
        metadata: Mapping[str, Any] | None = None,
        stream: str | None = None,
        *,
        overlays: Sequence[Mapping[str, Any]] | None = None,
    ) -> int | None:
        """Send ``image`` to the server; returns its sequence number, or ``None`` when a
        newer image replaced it before it was shown.

        ``image``: a numpy array, a PIL image, JPEG/PNG/TIFF/FITS bytes or a path, as for
        ``ImageServer.publish()``. ``stream``: the stream to publish to (the server's
        default stream when ``None``). ``overlays``: shapes drawn over this image only, as
        for ``ImageServer.publish()`` (docs/together.md); a shape that cannot be drawn
        raises :class:`~framecast.errors.ShapeError` and nothing is sent. They travel in an
        HTTP header, which holds 8190 bytes at most: more raise
        :class:`~framecast.errors.ClientError` before anything is sent.
        """
        body, headers, target = self._prepare_publish(image, metadata, stream, overlays)
        return _run(lambda: self._post(target, body, headers))

    def command(self, name: str, /, **fields: Any) -> dict[str, Any]:
        """Send ``{"cmd": name, **fields}`` over ``/control``; returns the server's reply
        (``{"ok": false, …}`` from a failing handler is a reply too). A command the server
        does not know raises :class:`~framecast.errors.ClientError`."""
        message = command_text(name, fields)
        return _run(lambda: self._exchange(name, message))

    def raw(
        self,
        seq: int | None = None,
        stream: str | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_RAW_BYTES,
    ) -> np.ndarray[Any, Any]:
        """The raw array of frame ``seq`` as published (its dtype, shape and values, exact),
        from ``GET [/s/<stream>]/raw/<seq>.npy``. ``seq`` ``None`` is the stream's latest
        frame (the ``seq`` of its ``data.json``, whose size and dtype the array must have);
        ``stream`` ``None`` the default stream. An array of more than ``max_bytes`` bytes
        is refused before it is read. A frame no longer kept, or a server with ``keep_raw``
        off, raises :class:`~framecast.errors.ClientError`."""
        return _run(lambda: self.araw(seq, stream, max_bytes=max_bytes))

    # -- async -----------------------------------------------------------------------------
    async def apublish(
        self,
        image: Any,
        metadata: Mapping[str, Any] | None = None,
        stream: str | None = None,
        *,
        overlays: Sequence[Mapping[str, Any]] | None = None,
    ) -> int | None:
        """:meth:`publish` for asyncio code; the encoding runs in a worker thread."""
        body, headers, target = await asyncio.to_thread(
            self._prepare_publish, image, metadata, stream, overlays
        )
        return await self._post(target, body, headers)

    async def acommand(self, name: str, /, **fields: Any) -> dict[str, Any]:
        """:meth:`command` for asyncio code."""
        return await self._exchange(name, command_text(name, fields))

    async def araw(
        self,
        seq: int | None = None,
        stream: str | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_RAW_BYTES,
    ) -> np.ndarray[Any, Any]:
        """:meth:`raw` for asyncio code; the answer is decoded in a worker thread."""
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or seq < 0):
            raise ConfigError(f"seq is a frame's number (an int of 0 or more), not {seq!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ConfigError(f"max_bytes is a number of bytes (0 or more), not {max_bytes!r}")
        root = self._stream_base(stream)
        expect = None
        if seq is None:
            seq, expect = await self._latest(root)
        array = NpyBody(max_bytes, expect)
        await self._get(root / QUESTIONS["npy"].url(seq=seq), array)
        return array.array()

    # -- the requests ----------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _session(self) -> aiohttp.ClientSession:
        return open_session(self._base, self._tls)

    def _stream_base(self, stream: str | None) -> URL:
        """The URL the stream's routes hang from: the root for ``None``, else ``s/<name>/``."""
        if stream is None:
            return self._base
        if isinstance(stream, str) and NAME_PATTERN.fullmatch(stream):
            return self._base / "s" / stream
        raise ConfigError(
            f"stream name {stream!r} is not valid; use 1 to 64 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )

    def _prepare_publish(
        self,
        image: Any,
        metadata: Mapping[str, Any] | None,
        stream: str | None,
        overlays: Sequence[Mapping[str, Any]] | None = None,
    ) -> tuple[bytes, dict[str, str], URL]:
        target = self._stream_base(stream) / "api" / "frames"
        headers = self._headers()
        if overlays is not None:
            # Each shape is checked here; how many the server takes is the server's to say.
            shapes = check_overlays(overlays, _ANY_COUNT)
            text = json.dumps(shapes, separators=(",", ":"), allow_nan=False)
            room = METADATA_HEADER_BYTES - len(OVERLAYS_HEADER) - 2
            if len(text) > room:
                raise ClientError(
                    f"the overlays are {len(text)} bytes as JSON, more than the {room} an "
                    "HTTP header of the server can carry; send fewer shapes with each image",
                    url=str(target),
                )
            headers[OVERLAYS_HEADER] = text
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise ConfigError("metadata must be a dict of names to values, or None")
            check_metadata(metadata, max_depth=MAX_DEPTH, max_bytes=None)  # no object() reprs
            headers[METADATA_HEADER] = json.dumps(jsonable(dict(metadata)), allow_nan=False)
        return upload.encode(image), headers, target

    async def _post(self, target: URL, body: bytes, headers: dict[str, str]) -> int | None:
        where = f"POST {target}"

        async def send() -> tuple[int, bytes]:
            async with self._session() as http, http.post(target, data=body, headers=headers) as r:
                answer = Capped(MAX_ANSWER_BYTES, truncate=r.status != 202)
                await receive(r, answer)
                return r.status, answer.value

        with self._failures.around(where, "the image"):
            status, data = await within(send(), self._timeout)
        text = data.decode("utf-8", "replace")
        if status == 202:
            try:
                seq = json.loads(text)["seq"]
            except (ValueError, KeyError, TypeError):
                raise ClientError(
                    f"{where} answered 202 without a sequence number; is {self.url} a "
                    "framecast server?",
                    status=status,
                    url=str(target),
                ) from None
            return int(seq) if isinstance(seq, int) else None
        length = len(headers.get(METADATA_HEADER, ""))
        if status == 400 and length > METADATA_HEADER_BYTES - len(METADATA_HEADER) - 2:
            raise ClientError(
                f"{where} refused the metadata (400): {length} bytes as JSON, more than the "
                f"{METADATA_HEADER_BYTES} an HTTP header of the server can carry; send less "
                "metadata with each image",
                status=status,
                url=str(target),
            )
        raise self._failures.refused(where, status, server_detail(text), str(target))

    async def _get(self, target: URL, body: Body) -> None:
        """Fill ``body`` with the answer to ``GET target``, or raise a ClientError."""
        where = f"GET {target}"

        async def fetch() -> tuple[int, bytes]:
            async with self._session() as http, http.get(target, headers=self._headers()) as r:
                if r.status == 200:
                    await receive(r, body)
                    return 200, b""
                refusal = Capped(MAX_ANSWER_BYTES, truncate=True)
                await receive(r, refusal)
                return r.status, refusal.value

        with self._failures.around(where, None):
            status, refusal = await within(fetch(), self._timeout)
        if status != 200:
            detail = server_detail(refusal.decode("utf-8", "replace"))
            raise self._failures.refused(where, status, detail, str(target))

    async def _latest(self, root: URL) -> tuple[int, tuple[int, int, str] | None]:
        """The seq of the stream's latest frame, and its height, width and dtype as its
        ``data.json`` says (``None`` when it says no dtype)."""
        target = root / "data.json"
        answer = Capped(MAX_DATA_JSON_BYTES)
        await self._get(target, answer)
        try:
            own = json.loads(answer.value)["framecast"]
            seq = own["seq"]
        except (ValueError, KeyError, TypeError):
            own, seq = {}, None
        if _count(seq) is None:
            raise ClientError(
                f"{target} names no published frame yet; publish an image first, or give seq=",
                url=str(target),
            )
        width = _count(own.get("source_width", own.get("width")))
        height = _count(own.get("source_height", own.get("height")))
        dtype = own.get("dtype")
        if width is None or height is None or not isinstance(dtype, str):
            return seq, None
        return seq, (height, width, dtype)

    async def _exchange(self, name: str, message: str) -> dict[str, Any]:
        target = self._base / "control"
        where = socket_name(target)

        async def ask() -> aiohttp.WSMessage:
            async with self._session() as http:
                try:
                    ws = await http.ws_connect(
                        target,
                        headers=self._headers(),
                        autoping=True,
                        max_msg_size=MAX_REPLY_BYTES,
                    )
                except aiohttp.WSServerHandshakeError as exc:
                    raise self._failures.refused(where, exc.status, "", str(target)) from None
                async with ws:
                    await ws.send_str(message)
                    return await ws.receive()

        with self._failures.around(where, "the command"):
            reply = await within(ask(), self._timeout)
        status = self._base / "api" / "status"
        return read_reply(reply, name, target=target, server=self.url, status=status)
