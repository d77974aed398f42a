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
    ├── SourceError          a source (folder, ZeroMQ stream, simulator) cannot deliver
    ├── ClientError          framecast.Client got no answer or a refusal from the server
    └── ServerStateError     the call does not fit the server's state (publish before start)
"""

from __future__ import annotations

__all__ = [
    "ClientError",
    "ConfigError",
    "FramecastError",
    "ImageError",
    "ImageTooLargeError",
    "MetadataError",
    "PortInUseError",
    "ServerStateError",
    "SourceError",
    "StreamLimitError",
]


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
            f"port {port} is in use by another process{extra}; "
            "choose another port (or port=0 for any free port)"
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
            f"max_image_pixels ({limit}); send a smaller image or raise --max-image-pixels"
        )


class MetadataError(FramecastError, ValueError):
    """Metadata nests too deep or is too large; the message names the limit."""


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
