"""Where images come from when nobody calls the Python API: folders, bsread streams, a simulator.

A source is an object with a ``name`` and an async generator ``frames()`` that yields
:class:`~framecast.live.frames.Incoming` items until it is cancelled. Sources never import the
hub, the server or the web layer; the server pumps them. The expensive part of a frame
(reading and decoding a file, decompressing a stream channel) sits inside
``Incoming.load``, which the core calls off the event loop and only when somebody wants
the frame.

Sources are a registry of ``"module:Class"`` names, imported lazily, so an optional
dependency (pyzmq for ``zmq``) is only needed when that source is chosen::

    watch     framecast.sources.folder:FolderSource        --watch DIR
    zmq       framecast.sources.bsread.source:BsreadSource        --zmq tcp://HOST:PORT
    simulate  framecast.sources.simulator:SimulatedCamera  --simulate

A fatal problem (the watched folder disappears) raises
:class:`~framecast.errors.SourceError` out of ``frames()``; a bad item (a corrupt file, a
malformed message) is logged once on ``framecast.sources.<name>``, counted in the
source's ``skipped`` attribute and skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from framecast.errors import ConfigError

if TYPE_CHECKING:
    from framecast.config.settings import Settings
    from framecast.live.frames import Incoming

__all__ = ["SOURCE_REGISTRY", "Source", "create_sources", "source_class"]

SOURCE_REGISTRY: dict[str, str] = {
    "watch": "framecast.sources.folder:FolderSource",
    "zmq": "framecast.sources.bsread.source:BsreadSource",
    "simulate": "framecast.sources.simulator:SimulatedCamera",
}


@runtime_checkable
class Source(Protocol):
    """What the server needs from a source of images."""

    name: str

    def frames(self) -> AsyncIterator[Incoming]:
        """Yield incoming images until cancelled."""
        ...

    async def aclose(self) -> None:
        """Release what the source holds (sockets, watchers); safe to call twice."""
        ...


def source_class(key: str) -> type[Source]:
    """Import the class registered under ``key`` (``watch``, ``zmq`` or ``simulate``)."""
    try:
        target = SOURCE_REGISTRY[key]
    except KeyError:
        raise ConfigError(
            f"unknown source {key!r}; known sources: {', '.join(SOURCE_REGISTRY)}"
        ) from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"source {key!r} needs a package that is not installed ({exc.name}); "
            "pip install 'framecast[bsread]'"
        ) from None
    cls: type[Source] = getattr(module, class_name)
    return cls


def create_sources(settings: Settings) -> list[Source]:
    """The sources ``settings`` enable, in registry order; only their modules are imported."""
    enabled = {
        "watch": settings.watch is not None,
        "zmq": settings.zmq is not None,
        "simulate": settings.simulate,
    }
    sources: list[Source] = []
    for key in SOURCE_REGISTRY:
        if enabled[key]:
            cls = source_class(key)
            sources.append(cls.from_settings(settings))  # type: ignore[attr-defined]
    return sources
