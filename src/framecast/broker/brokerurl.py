"""The broker's URL in what this node says: its address without credentials for log lines,
and the parts never to show (docs/scale-out.md)."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["secrets_of", "where"]


def where(url: str) -> str:
    """The broker's address without credentials, for log lines: ``redis://host:6379/0``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the broker"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def secrets_of(url: str) -> list[str]:
    """The parts of ``url`` never to show: its password (and user name)."""
    try:
        parts = urlsplit(url)
        found = [parts.password, parts.username]
    except ValueError:
        found = []
    return [s for s in found if s]
