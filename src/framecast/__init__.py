"""framecast: a live image server.

Hand each new image to framecast and every browser watching shows it within milliseconds,
with its metadata, deep-zoomable, without polling::

    import numpy as np
    from framecast import ImageServer

    array = np.random.default_rng().integers(0, 4096, (480, 640), dtype=np.uint16)
    with ImageServer(work_folder="work", port=8000) as server:
        print(server.url)
        server.publish(array, metadata={"STACK_SIZE": 12, "EXPO": "0:06:00"})

and a producer on another machine sends to it with :class:`Client` (any image
:meth:`ImageServer.publish` takes: an array, a file's path or bytes, a PIL image)::

    from framecast import Client

    Client("http://192.168.1.20:8000").publish("frame.png", metadata={"EXPO": 30})
"""

from framecast.config.settings import Settings
from framecast.errors import (
    ClientError,
    ConfigError,
    FramecastError,
    ImageError,
    PortInUseError,
    ServerStateError,
    ShapeError,
    SourceError,
)
from framecast.remote.client import Client
from framecast.server import ImageServer
from framecast.version import __version__

__all__ = [
    "Client",
    "ClientError",
    "ConfigError",
    "FramecastError",
    "ImageError",
    "ImageServer",
    "PortInUseError",
    "ServerStateError",
    "Settings",
    "ShapeError",
    "SourceError",
    "__version__",
]
