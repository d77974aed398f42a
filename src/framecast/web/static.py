"""Static files from the web folder, confined to it and never served stale.

Every file is revalidated on each request (``Cache-Control: no-cache`` with an ``ETag`` and
``Last-Modified``), so a browser never shows an old ``web_image.jpg``. Once an image has
been published, ``web_image.jpg`` and ``data.json`` are answered from the newest frame in
memory, so they are never behind the ``new_image`` notification that announced them.
A named stream (``/s/<name>/…``) answers its own ``web_image.jpg`` and ``data.json`` from
its newest frame, or a "waiting" picture before its first one; every other file under
``/s/<name>/`` is the root's (the viewer uses relative URLs). Other files are opened once,
and their bytes and validators come from that one open file, so a file replaced while it is
being served is sent whole (old or new), never torn.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import os
import re
import stat
import threading
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path, PurePosixPath

from aiohttp import web

from framecast.config.streamname import DEFAULT_STREAM
from framecast.live.frames import Frame
from framecast.live.webfolder import DATA_NAME, IMAGE_NAME, is_private_name
from framecast.web.context import CONTEXT
from framecast.web.guards import check_viewer, token_matches
from framecast.web.streampaths import OVERVIEW_PAGE, fallback_overview, shows_overview, stream_of

__all__ = ["StaticFiles"]

_MAX_CACHED_BYTES = 32 * 1024 * 1024
_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}


@dataclass(frozen=True)
class _Entry:
    key: tuple[int, int, int, int]
    body: bytes
    etag: str
    last_modified: str


#: Characters no served file name contains: C0 controls (NUL included) and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LIVE_NAMES = frozenset({IMAGE_NAME, DATA_NAME})


def _live_entry(frame: Frame, name: str) -> _Entry:
    """``web_image.jpg`` or ``data.json`` of ``frame``: the frame's own bytes (nothing is
    encoded here, and nothing is kept: the entry lives as long as the response)."""
    body = frame.jpeg if name == IMAGE_NAME else frame.renderings.data_json
    return _Entry(
        key=(0, 0, 0, 0),
        body=body,
        etag=f'"frame-{frame.seq}-{name}-{len(body):x}-{int(frame.time * 1e6):x}"',
        last_modified=formatdate(frame.time, usegmt=True),
    )


def _waiting_entry(placeholder: bytes, stream: str, name: str) -> _Entry:
    """A named stream's files before its first image: the waiting picture and a data.json
    that says so."""
    if name == IMAGE_NAME:
        body = placeholder
    else:
        waiting = {"framecast": {"seq": 0, "waiting": True, "stream": stream}}
        body = json.dumps(waiting).encode()
    return _Entry(
        key=(0, 0, 0, 0),
        body=body,
        etag=f'"waiting-{stream}-{name}-{len(body):x}"',
        last_modified=formatdate(usegmt=True),
    )


class StaticFiles:
    """Serves files below ``root``; refuses traversal, symlink escapes, folders and temp files."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, _Entry] = {}
        self._cached_bytes = 0
        self._cache_lock = threading.Lock()  # files are read in worker threads

    def _resolve(self, relative: str) -> Path | None:
        """The file ``relative`` names inside the web folder, or ``None`` (a 404) for anything
        else: traversal, private names, backslashes, control characters (``%00`` included),
        symlinks that lead outside."""
        if _CONTROL.search(relative):
            return None
        parts = PurePosixPath(relative).parts
        if not parts or any(p in ("..", "") or is_private_name(p) or "\\" in p for p in parts):
            return None
        try:
            path = self.root.joinpath(*parts).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            return None
        if not path.is_relative_to(self.root):
            return None  # a symlink pointing outside the web folder
        return path

    def _read(self, path: Path) -> _Entry | None:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return None  # folders are never listed
        with os.fdopen(fd, "rb") as handle:
            key = (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)
            cached = self._cache.get(path)
            if cached is not None and cached.key == key:
                return cached
            body = handle.read()
        entry = _Entry(
            key=key,
            body=body,
            etag=f'"{info.st_ino:x}-{info.st_mtime_ns:x}-{len(body):x}"',
            last_modified=formatdate(info.st_mtime, usegmt=True),
        )
        with self._cache_lock:
            if self._cached_bytes + len(body) > _MAX_CACHED_BYTES:
                self._cache.clear()
                self._cached_bytes = 0
            old = self._cache.get(path)
            self._cached_bytes += len(body) - (len(old.body) if old else 0)
            self._cache[path] = entry
        return entry

    async def overview(self, request: web.Request) -> web.StreamResponse:
        """``GET /streams``: the overview page, or a plain list of links when the web folder
        has no overview page."""
        context = request.app[CONTEXT]
        check_viewer(request, context)
        path = self._resolve(OVERVIEW_PAGE)
        entry = await asyncio.to_thread(self._read, path) if path is not None else None
        if entry is None:
            return web.Response(
                body=fallback_overview(list(context.streams)),
                content_type="text/html",
                headers={"Cache-Control": "no-store"},
            )
        return self._respond(request, entry, path or Path(OVERVIEW_PAGE))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        context = request.app[CONTEXT]
        relative = request.match_info.get("path", "") or "index.html"
        check_viewer(request, context)
        stream = stream_of(request)
        if relative == "index.html" and shows_overview(request):
            return await self.overview(request)
        latest = stream.latest
        live = relative in _LIVE_NAMES
        path = self._resolve(relative)
        entry: _Entry | None
        if live and latest is not None:
            # The newest frame is answered from memory: a viewer told about frame N gets
            # frame N (or newer) at once, while the copies on disk follow at max_file_rate.
            entry = _live_entry(latest, relative)
        elif live and stream.name != DEFAULT_STREAM:
            entry = _waiting_entry(context.placeholder, stream.name, relative)
        elif path is None:
            raise web.HTTPNotFound()
        else:
            entry = await asyncio.to_thread(self._read, path)
        if entry is None:
            raise web.HTTPNotFound()
        return self._respond(request, entry, path or Path(relative))

    def _respond(self, request: web.Request, entry: _Entry, path: Path) -> web.StreamResponse:
        context = request.app[CONTEXT]
        headers = {
            "Cache-Control": "no-cache",
            "ETag": entry.etag,
            "Last-Modified": entry.last_modified,
            "X-Content-Type-Options": "nosniff",
        }
        if entry.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        content_type = _TYPES.get(path.suffix.lower()) or (
            mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
        response = web.Response(body=entry.body, headers=headers, content_type=content_type)
        given = request.query.get("token")
        viewer_token = context.settings.viewer_token
        # Remember a valid link token so the page's own requests need not carry it.
        if (
            viewer_token is not None
            and given is not None
            and (
                token_matches(given, viewer_token)
                or token_matches(given, context.settings.token or viewer_token)
            )
        ):
            response.set_cookie("framecast_token", given, httponly=True, samesite="Strict")
        return response
