"""One command over ``/control``: the text sent, and the reply read as the client's caller
needs it — a JSON object, or one line saying why there is none (docs/client.md, "Errors").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from framecast.errors import ClientError, ConfigError
from framecast.live.frames import jsonable
from framecast.remote.bodies import size

__all__ = ["MAX_REPLY_BYTES", "command_text", "read_reply", "socket_name"]

#: Most bytes of a reply to a command.
MAX_REPLY_BYTES = 1 << 20


def command_text(name: str, fields: Mapping[str, Any]) -> str:
    """Command ``name`` with ``fields`` as the JSON text ``/control`` reads."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a command name is a non-empty string, not {name!r}")
    if "cmd" in fields:
        raise ConfigError("'cmd' is the command's name; give the name as the first argument")
    return json.dumps(jsonable({"cmd": name, **fields}), allow_nan=False)


def socket_name(target: URL) -> str:
    """How messages name the control socket at ``target``."""
    return f"the control socket {target}"


def read_reply(
    reply: aiohttp.WSMessage, name: str, *, target: URL, server: str, status: URL
) -> dict[str, Any]:
    """The reply to command ``name`` as a dict, or a :class:`ClientError` naming what came
    instead (``target`` is the control socket, ``server`` the client's URL, ``status`` the
    server's status route, which lists its commands)."""
    where = socket_name(target)
    if reply.type == aiohttp.WSMsgType.ERROR and getattr(reply.data, "code", None) == 1009:
        raise ClientError(
            f"{where} replied to {name!r} with more than {size(MAX_REPLY_BYTES)}, the most "
            f"the client reads; is {server} a framecast server?",
            url=str(target),
        )
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
            f"GET {status} lists its commands",
            url=str(target),
        )
    if value.get("error") == "bad json":
        raise ClientError(
            f"the server could not read command {name!r} (bad json); send fields that JSON "
            "can hold, nested less deeply",
            url=str(target),
        )
    return value
