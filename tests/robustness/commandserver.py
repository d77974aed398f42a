"""``framecast serve`` with one custom command, ``soak_echo``, for the soak's command flood.

The command line has no way to register a handler (docs/control.md, "Your own commands"),
so this program is the ``framecast`` command with the server it builds given one: a plain
function, run in a worker thread like any synchronous handler, that replies
``{"ok": true, "echo": <the n it was sent>}``.

    python tests/robustness/commandserver.py serve --port 0 ...
"""

from __future__ import annotations

from typing import Any

import framecast.server
from framecast import cli

#: The custom command's name.
COMMAND = "soak_echo"


def echo(fields: dict[str, Any]) -> dict[str, Any]:
    """The handler: the ``n`` it was sent, back."""
    return {"ok": True, "echo": fields.get("n")}


class CommandServer(framecast.server.ImageServer):
    """The server ``framecast serve`` builds, with :data:`COMMAND` registered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_command(COMMAND, echo)


if __name__ == "__main__":
    framecast.server.ImageServer = CommandServer  # type: ignore[misc]  # what cli.py builds
    cli.run()
