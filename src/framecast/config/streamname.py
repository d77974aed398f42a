"""The rule for stream names (docs/streams.md), shared by the server, the config file and the
client — pure."""

from __future__ import annotations

import re

from framecast.errors import ConfigError

__all__ = ["DEFAULT_STREAM", "NAME_PATTERN", "STREAM_PREFIX", "check_name"]

#: The stream used when no name is given; its files and routes are at the root.
DEFAULT_STREAM = "default"
#: Stream names: 1-64 characters, case-sensitive.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Where named streams live below the web folder (``s/NAME/``) and in URLs (``/s/NAME/``).
STREAM_PREFIX = "s"


def check_name(name: object) -> str:
    """``name`` if it is a valid stream name, else :class:`ConfigError` saying the rule."""
    if isinstance(name, str) and NAME_PATTERN.fullmatch(name):
        return name
    shown = repr(name)[:80]
    raise ConfigError(
        f"stream name {shown} is not valid; use 1 to 64 letters, digits, '.', '_' or '-', "
        "starting with a letter or a digit"
    )
