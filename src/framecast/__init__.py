"""framecast: a live image server.

Hand each new image to framecast and every browser watching shows it within milliseconds,
with its metadata, deep-zoomable, without polling::

    from framecast import ImageServer

    with ImageServer(work_folder="work", port=8000) as server:
        print(server.url)
        server.publish(array, metadata={"STACK_SIZE": 12, "EXPO": "0:06:00"})
"""

from .config import Settings
from .errors import (
    ConfigError,
    FramecastError,
    ImageError,
    PortInUseError,
    ServerStateError,
    SourceError,
)
from .server import ImageServer
from .version import __version__

__all__ = [
    "ConfigError",
    "FramecastError",
    "ImageError",
    "ImageServer",
    "PortInUseError",
    "ServerStateError",
    "Settings",
    "SourceError",
    "__version__",
]
