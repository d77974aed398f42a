"""Errors raised by framecast.

Every error framecast raises on purpose derives from :class:`FramecastError`, so an
embedding program can catch them all with one ``except`` clause. Each message says what
went wrong and what to do about it::

    FramecastError
    ├── ConfigError          an option has a value framecast cannot use
    │   ├── PortInUseError   the port is already bound by another process
    │   └── StreamLimitError no new stream: max_streams already exist
    ├── ImageError           an image given to publish() or found by a source is unusable
    │   └── ImageTooLargeError   its header claims more pixels than max_image_pixels
    ├── MetadataError        metadata too deep or too large (max_metadata_depth/_bytes)
    ├── ShapeError           an overlay or a mark framecast cannot draw (docs/together.md)
    ├── SourceError          a source (folder, ZeroMQ stream, simulator) cannot deliver
    ├── ClientError          framecast.Client got no answer or a refusal from the server
    └── ServerStateError     the call does not fit the server's state (publish before start)

A message names an option the way its reader wrote it (:func:`spell`): as a keyword
(``port=0``) for the Python API, as a flag (``--port 0``) under the ``framecast`` command,
as a key (``port = 0``) while a config file is read.
"""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Literal

__all__ = [
    "ClientError",
    "ConfigError",
    "FramecastError",
    "ImageError",
    "ImageTooLargeError",
    "MetadataError",
    "PortInUseError",
    "ServerStateError",
    "ShapeError",
    "SourceError",
    "StreamLimitError",
    "spell",
    "spelling",
    "suggest",
]

Spelling = Literal["keyword", "flag", "key"]
_NOTHING = object()
#: The process's spelling: "keyword" (the Python API) unless the ``framecast`` command, which
#: owns the process while it runs, says "flag" (for every thread, the encoders' included).
_process: list[Spelling] = ["keyword"]
#: A spelling for what runs in this context only (a config file while it is read).
_here: ContextVar[Spelling | None] = ContextVar("framecast_spelling", default=None)


def spell(name: str, value: object = _NOTHING) -> str:
    """Option ``name`` (a setting's field name) as the reader writes it, with ``value`` if
    given: ``port=`` / ``port=0`` (Python), ``--port`` / ``--port 0`` (command line),
    ``port`` / ``port = 0`` (config file). A switch turned on is its flag alone:
    ``overwrite=True`` / ``--overwrite``."""
    style = _here.get() or _process[0]
    if style == "flag":
        flag = "--" + name.replace("_", "-")
        return flag if value is _NOTHING or value is True else f"{flag} {value}"
    if style == "key":
        return name if value is _NOTHING else f"{name} = {json.dumps(value)}"
    return f"{name}=" if value is _NOTHING else f"{name}={value!r}"


def suggest(word: str, known: Iterable[str]) -> str:
    """What to say about an unknown ``word``: "did you mean 'x'?" for the closest known
    names (as :func:`spell` writes them), else the list of every known one."""
    names = list(known)
    close = difflib.get_close_matches(word, names, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(spell(name) for name in close) + "?"
    return "known: " + ", ".join(names)


@contextlib.contextmanager
def spelling(style: Spelling, *, process: bool = False) -> Iterator[None]:
    """Name options in ``style`` inside the block: in this context only, or with
    ``process=True`` (the command line) in every thread until the block ends."""
    if process:
        before = _process[0]
        _process[0] = style
        try:
            yield
        finally:
            _process[0] = before
        return
    token = _here.set(style)
    try:
        yield
    finally:
        _here.reset(token)


class FramecastError(Exception):
    """Root of every error framecast raises on purpose."""


class ConfigError(FramecastError, ValueError):
    """An option has a value framecast cannot use; the message names the option and the fix."""


class PortInUseError(ConfigError):
    """The port cannot be bound because another process holds it."""

    def __init__(self, port: int, detail: str = "") -> None:
        self.port = port
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"port {port} is in use by another process{extra}; choose another with "
            f"{spell('port')} (or {spell('port', 0)} for any free port)"
        )


class StreamLimitError(ConfigError):
    """A new stream would exceed ``max_streams``; the message names the limit."""


class ImageError(FramecastError, ValueError):
    """An image cannot be used: wrong type, shape, dtype, or undecodable bytes."""


class ImageTooLargeError(ImageError):
    """An image claims more pixels than ``max_image_pixels``; refused before decoding."""

    def __init__(self, width: int, height: int, limit: int) -> None:
        self.width, self.height, self.limit = width, height, limit
        super().__init__(
            f"the image is {width}x{height} = {width * height} pixels, more than "
            f"max_image_pixels ({limit}); send a smaller image or raise {spell('max_image_pixels')}"
        )


class MetadataError(FramecastError, ValueError):
    """Metadata nests too deep or is too large; the message names the limit."""


class ShapeError(FramecastError, ValueError):
    """An overlay or a mark is not a shape framecast can draw (unknown shape, a coordinate
    that is not a number, text too long, too many); the message names the field."""


class SourceError(FramecastError):
    """A source of images cannot deliver: missing folder, unreachable stream, …"""


class ClientError(FramecastError):
    """:class:`~framecast.Client` could not get its answer: the server is unreachable, too
    slow, or refused the request (``status`` is then the HTTP status, else ``None``)."""

    def __init__(self, message: str, *, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class ServerStateError(FramecastError, RuntimeError):
    """The call does not fit the server's state, e.g. ``publish()`` on a stopped server."""
