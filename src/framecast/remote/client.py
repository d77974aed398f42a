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

Every failure to get an answer — server unreachable, no answer in time, a refusal (401, 403,
404, 409, 413, 415, …) — raises :class:`~framecast.errors.ClientError` with one line saying
what to do; an unusable image raises :class:`~framecast.errors.ImageError` before anything
is sent.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiohttp
import numpy as np
from yarl import URL

from framecast.config.streamname import NAME_PATTERN
from framecast.errors import ClientError, ConfigError
from framecast.live.frames import jsonable
from framecast.remote import upload

__all__ = ["DEFAULT_TIMEOUT", "Client"]

#: Seconds a call may take, connecting included, unless ``timeout=`` says otherwise.
DEFAULT_TIMEOUT = 30.0
METADATA_HEADER = "X-Framecast-Metadata"
#: Longest header line an aiohttp server reads (its ``max_field_size``): the metadata of one
#: image over HTTP cannot be longer, whatever the server's ``max_metadata_bytes``.
METADATA_HEADER_BYTES = 8190
_DETAIL_CHARS = 300
_T = TypeVar("_T")


def _detail(text: str) -> str:
    """The server's own explanation: the ``error`` of a JSON answer, else its first line."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("error"), str):
        text = value["error"]
    lines = text.strip().splitlines()
    return lines[0][:_DETAIL_CHARS] if lines else ""


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


class Client:
    """A connection-less handle on one framecast server.

    ``url`` is the server's address as its viewers open it (``http://host:8000/``, with a
    path when it is served behind a proxy under one; ``host:8000`` means ``http://``).
    ``token`` is the operator token (sent as ``Authorization: Bearer``), needed when the
    server was started with one. ``timeout`` bounds each call, in seconds.
    """

    def __init__(
        self, url: str, token: str | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        text = url.strip()
        if "://" not in text:
            text = f"http://{text}"
        try:
            parsed = URL(text)
        except ValueError as exc:
            raise ConfigError(f"client url {url!r} is not a URL ({exc})") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(
                f"client url {url!r} is not an http:// or https:// address of a framecast "
                "server; give it as http://HOST:PORT/"
            )
        if not timeout > 0:
            raise ConfigError(f"client timeout must be more than 0 seconds, not {timeout!r}")
        path = parsed.path if parsed.path.endswith("/") else f"{parsed.path}/"
        self._base = parsed.with_path(path).with_query(None).with_fragment(None)
        self._token = token or None
        self._timeout = float(timeout)

    @property
    def url(self) -> str:
        """The server's base URL, ending with ``/``."""
        return str(self._base)

    def __repr__(self) -> str:
        return f"Client({self.url!r}, token={'…' if self._token else None})"

    # -- blocking --------------------------------------------------------------------------
    def publish(
        self,
        image: Any,
        metadata: Mapping[str, Any] | None = None,
        stream: str | None = None,
    ) -> int | None:
        """Send ``image`` to the server; returns its sequence number, or ``None`` when a
        newer image replaced it before it was shown.

        ``image``: a numpy array, a PIL image, JPEG/PNG/TIFF/FITS bytes or a path, as for
        ``ImageServer.publish()``. ``stream``: the stream to publish to (the server's
        default stream when ``None``).
        """
        body, headers, target = self._prepare_publish(image, metadata, stream)
        return _run(lambda: self._post(target, body, headers))

    def command(self, name: str, /, **fields: Any) -> dict[str, Any]:
        """Send ``{"cmd": name, **fields}`` over ``/control``; returns the server's reply
        (``{"ok": false, …}`` from a failing handler is a reply too). A command the server
        does not know raises :class:`~framecast.errors.ClientError`."""
        message = self._command_text(name, fields)
        return _run(lambda: self._exchange(name, message))

    def raw(self, seq: int | None = None, stream: str | None = None) -> np.ndarray[Any, Any]:
        """The raw array of frame ``seq`` as published (its dtype, shape and values, exact),
        from ``GET [/s/<stream>]/raw/<seq>.npy``. ``seq`` ``None`` is the stream's latest
        frame (the ``seq`` of its ``data.json``); ``stream`` ``None`` the default stream.
        A frame no longer kept, or a server with ``keep_raw`` off, raises
        :class:`~framecast.errors.ClientError`."""
        return _run(lambda: self.araw(seq, stream))

    # -- async -----------------------------------------------------------------------------
    async def apublish(
        self,
        image: Any,
        metadata: Mapping[str, Any] | None = None,
        stream: str | None = None,
    ) -> int | None:
        """:meth:`publish` for asyncio code; the encoding runs in a worker thread."""
        body, headers, target = await asyncio.to_thread(
            self._prepare_publish, image, metadata, stream
        )
        return await self._post(target, body, headers)

    async def acommand(self, name: str, /, **fields: Any) -> dict[str, Any]:
        """:meth:`command` for asyncio code."""
        return await self._exchange(name, self._command_text(name, fields))

    async def araw(self, seq: int | None = None, stream: str | None = None) -> np.ndarray[Any, Any]:
        """:meth:`raw` for asyncio code; the array is read in a worker thread."""
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or seq < 0):
            raise ConfigError(f"seq is a frame's number (an int of 0 or more), not {seq!r}")
        root = self._stream_base(stream)
        if seq is None:
            body = await self._get(root / "data.json")
            try:
                seq = json.loads(body)["framecast"]["seq"]
            except (ValueError, KeyError, TypeError):
                seq = None
            if not isinstance(seq, int) or seq < 1:
                raise ClientError(
                    f"{root / 'data.json'} names no published frame yet; publish an image "
                    "first, or give seq=",
                    url=str(root / "data.json"),
                )
        target = root / "raw" / f"{seq}.npy"
        body = await self._get(target)
        try:
            return await asyncio.to_thread(lambda: np.load(io.BytesIO(body), allow_pickle=False))
        except ValueError as exc:
            raise ClientError(
                f"GET {target} did not answer a NumPy .npy file ({exc}); is {self.url} a "
                "framecast server?",
                url=str(target),
            ) from None

    # -- the requests ----------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))

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
        self, image: Any, metadata: Mapping[str, Any] | None, stream: str | None
    ) -> tuple[bytes, dict[str, str], URL]:
        target = self._stream_base(stream) / "api" / "frames"
        headers = self._headers()
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise ConfigError("metadata must be a dict of names to values, or None")
            headers[METADATA_HEADER] = json.dumps(jsonable(dict(metadata)), allow_nan=False)
        return upload.encode(image), headers, target

    def _command_text(self, name: str, fields: Mapping[str, Any]) -> str:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a command name is a non-empty string, not {name!r}")
        if "cmd" in fields:
            raise ConfigError("'cmd' is the command's name; give the name as the first argument")
        return json.dumps(jsonable({"cmd": name, **fields}), allow_nan=False)

    async def _post(self, target: URL, body: bytes, headers: dict[str, str]) -> int | None:
        where = f"POST {target}"
        try:
            async with self._session() as http, http.post(target, data=body, headers=headers) as r:
                text = await r.text(errors="replace")
                status = r.status
        except aiohttp.ClientConnectionError as exc:
            raise self._unreachable(exc) from None
        except TimeoutError:
            raise self._too_slow() from None
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
        size = len(headers.get(METADATA_HEADER, ""))
        if status == 400 and size > METADATA_HEADER_BYTES - len(METADATA_HEADER) - 2:
            raise ClientError(
                f"{where} refused the metadata (400): {size} bytes as JSON, more than the "
                f"{METADATA_HEADER_BYTES} an HTTP header of the server can carry; send less "
                "metadata with each image",
                status=status,
                url=str(target),
            )
        raise self._refused(where, status, _detail(text), str(target))

    async def _get(self, target: URL) -> bytes:
        """The body of ``GET target`` (gzip accepted and undone), or a ClientError."""
        try:
            async with self._session() as http, http.get(target, headers=self._headers()) as r:
                status = r.status
                body = await r.read()
        except aiohttp.ClientConnectionError as exc:
            raise self._unreachable(exc) from None
        except TimeoutError:
            raise self._too_slow() from None
        if status != 200:
            text = body[:4096].decode("utf-8", "replace")
            raise self._refused(f"GET {target}", status, _detail(text), str(target))
        return body

    async def _exchange(self, name: str, message: str) -> dict[str, Any]:
        target = self._base / "control"
        where = f"the control socket {target}"
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._session() as http,
                http.ws_connect(target, headers=self._headers(), autoping=True) as ws,
            ):
                await ws.send_str(message)
                reply = await ws.receive()
        except aiohttp.WSServerHandshakeError as exc:
            raise self._refused(where, exc.status, "", str(target)) from None
        except aiohttp.ClientConnectionError as exc:
            raise self._unreachable(exc) from None
        except TimeoutError:
            raise self._too_slow() from None
        if reply.type != aiohttp.WSMsgType.TEXT:
            code = reply.data if reply.type == aiohttp.WSMsgType.CLOSE else reply.type.name
            hint = (
                "the command is larger than the server's max_message_bytes"
                if code == 1009
                else "the server may be stopping; try again"
            )
            raise ClientError(
                f"{where} closed ({code}) before replying to {name!r}; {hint}",
                url=str(target),
            )
        try:
            value = json.loads(reply.data)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise ClientError(
                f"{where} replied with something else than a JSON object: {reply.data[:80]!r}",
                url=str(target),
            )
        if value.get("error") == "unknown command":
            raise ClientError(
                f"the server has no command {name!r} (unknown command); "
                f"GET {self._base / 'api' / 'status'} lists its commands",
                url=str(target),
            )
        if value.get("error") == "bad json":
            raise ClientError(
                f"the server could not read command {name!r} (bad json); send fields that JSON "
                "can hold, nested less deeply",
                url=str(target),
            )
        return value

    # -- errors ----------------------------------------------------------------------------
    def _unreachable(self, exc: Exception) -> ClientError:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, aiohttp.ClientConnectorError):  # the system's words, not a repr
            error = exc.os_error
            if error.errno is not None and error.errno > 0:
                reason = os.strerror(error.errno)
            elif error.strerror:
                reason = error.strerror  # a name lookup: "Name or service not known"
        return ClientError(
            f"cannot reach framecast at {self.url} ({reason}); check the address and that "
            "the server is running",
            url=self.url,
        )

    def _too_slow(self) -> ClientError:
        return ClientError(
            f"framecast at {self.url} did not answer within {self._timeout:g} s; check the "
            "address, or allow more time (timeout=, --timeout)",
            url=self.url,
        )

    def _refused(self, where: str, status: int, detail: str, url: str) -> ClientError:
        said = f": {detail}" if detail else ""
        if status == 401:
            message = (
                f"{where} refused the token (401); check it (--token or FRAMECAST_TOKEN)"
                if self._token
                else f"{where} needs the server's operator token (401); give it with token= "
                "(CLI: --token or FRAMECAST_TOKEN)"
            )
        elif status == 403:
            message = f"{where} was refused (403){said or '; check --allowed-origins'}"
        elif status in (404, 405):
            message = (
                f"{where} was not found ({status}){said}; check the URL and the stream name "
                "(streams need a framecast server that has them)"
            )
        elif status == 409:
            message = f"{where} was refused (409){said}"
        elif status == 413:
            message = f"the server refused the image as too large (413){said}"
        elif status == 415:
            message = f"the server cannot read the image (415){said}"
        elif status == 503:
            message = f"the server is busy or stopping (503){said}; try again in a moment"
        else:
            message = f"{where} answered {status}{said or ''}"
        return ClientError(message, status=status, url=url)
