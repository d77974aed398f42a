"""``framecast push`` and ``framecast command``: a remote producer from the shell.

::

    framecast push frame-*.png --url http://192.168.1.20:8000      # a2 before a10
    rpicam-jpeg -o - | framecast push - --url http://pi-server:8000
    framecast command snapshot_now --url http://192.168.1.20:8000
    framecast command focus --field steps=20 --url http://192.168.1.20:8000

    framecast push frame.png --url https://192.168.1.20:8000 --cafile cert.pem

Both speak through :class:`~framecast.remote.client.Client`, whose messages then name these
flags (:data:`~framecast.remote.failures.FLAGS`). Their options are a settings table
(:class:`PushSettings`, docs/settings.md): each may come from a flag or its ``FRAMECAST_*``
variable (``FRAMECAST_URL``, ``FRAMECAST_TOKEN``, ``FRAMECAST_CAFILE``, …); ``--insecure``
checks no certificate, with a warning on stderr. Any failure — a missing file, bad
``--metadata``, an unreachable, untrusted or refusing server — is one line on stderr and
exit status 2; ``command`` exits 1 when the server's reply says ``"ok": false``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framecast.config.flags import add_flags
from framecast.config.options import load, option, table
from framecast.errors import FramecastError
from framecast.remote.client import DEFAULT_TIMEOUT, Client
from framecast.remote.failures import FLAGS
from framecast.sources.folder import natural_key

__all__ = ["COMMANDS", "ConnectionSettings", "PushSettings", "add_parsers", "run"]

COMMANDS = ("push", "command")
STDIN = "-"
#: Largest --overlays file read: overlays travel in one HTTP header (8190 bytes at most).
MAX_OVERLAYS_FILE_BYTES = 64 * 1024


class _Refused(Exception):
    """A command-line mistake found before anything is sent."""


class _ShellClient(Client):
    """The client of ``framecast push``/``command``: its messages name flags, and its
    warning goes to stderr in the command's own words."""

    _words = FLAGS

    def _warn_insecure(self) -> None:
        print(
            f"framecast: warning: --insecure: the certificate of {self.url} is not checked; "
            "anyone on the network path can read the token and the images and answer in the "
            "server's place (trust the server's cert.pem with --cafile instead)",
            file=sys.stderr,
            flush=True,
        )


@dataclass(frozen=True)
class ConnectionSettings:
    """How ``framecast push`` and ``framecast command`` reach the server: declared like the
    server's settings (:mod:`framecast.config.options`), so each has a flag, a ``FRAMECAST_*``
    variable and a row in docs/settings.md."""

    url: str | None = field(
        default=None,
        metadata=option(help="The server, e.g. http://192.168.1.20:8000.", group="connection"),
    )
    token: str | None = field(
        default=None,
        metadata=option(
            help="The server's operator token, sent as Authorization: Bearer.",
            group="connection",
            secret=True,
        ),
    )
    timeout: float = field(
        default=DEFAULT_TIMEOUT,
        metadata=option(help="Longest wait in seconds for each answer.", group="connection"),
    )
    cafile: Path | None = field(
        default=None,
        metadata=option(
            help="Trust this certificate for https://, e.g. the cert.pem that 'framecast cert' "
            "wrote.",
            group="connection",
        ),
    )
    insecure: bool = field(
        default=False,
        metadata=option(
            help="Do not check the server's certificate (unsafe: anyone on the way can answer); "
            "wins over --cafile.",
            group="connection",
            flag=True,
        ),
    )


@dataclass(frozen=True)
class PushSettings(ConnectionSettings):
    """The options of ``framecast push``: the connection's, and what goes with every image."""

    stream: str | None = field(
        default=None,
        metadata=option(help="The stream to publish to (default: the default one).", group="push"),
    )
    metadata: str | None = field(
        default=None,
        metadata=option(
            help="Metadata for every image, a JSON object such as '{\"EXPO\": 30}'.", group="push"
        ),
    )
    overlays: Path | None = field(
        default=None,
        metadata=option(
            help="A JSON file of shapes drawn over every image (a list, see docs/together.md).",
            group="push",
        ),
    )


def add_parsers(commands: Any) -> None:
    """Add ``push`` and ``command`` to the ``framecast`` subcommands."""
    push = commands.add_parser(
        "push",
        help="send image files to a running framecast server",
        description="Send images to a framecast server (POST /api/frames), several in "
        "natural order (a2 before a10); '-' reads one image from standard input. Prints "
        "the sequence number each image got.",
    )
    push.add_argument("files", nargs="+", metavar="FILE", help="image file, or - for stdin")
    add_flags(push, table(PushSettings))

    command = commands.add_parser(
        "command",
        help="send a control command to a running framecast server",
        description="Send one command over /control and print the server's JSON reply "
        "(exit 1 when it says ok: false). Field values are JSON when they parse as JSON "
        "(20, true, [1,2]), text otherwise.",
    )
    command.add_argument("name", help="the command, e.g. snapshot_now")
    command.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a field of the command (repeatable)",
    )
    add_flags(command, table(ConnectionSettings))


def _client(options: ConnectionSettings) -> Client:
    if not options.url:
        raise _Refused("give the server with --url http://HOST:PORT (or FRAMECAST_URL)")
    cafile = None if options.insecure else options.cafile  # --insecure wins over the rest
    return _ShellClient(
        options.url,
        options.token or None,
        timeout=options.timeout,
        cafile=cafile,
        verify=not options.insecure,
    )


def _metadata(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise _Refused(f"--metadata is not valid JSON ({exc}); give an object") from None
    if not isinstance(value, dict):
        raise _Refused(f'--metadata must be a JSON object like {{"EXPO": 30}}, not {text!r}')
    return value


def _overlays(path: Path | None) -> list[Any] | None:
    """The shapes of ``--overlays FILE.json`` (checked shape by shape when sent)."""
    if path is None:
        return None
    name = str(path)
    try:
        if path.stat().st_size > MAX_OVERLAYS_FILE_BYTES:
            raise _Refused(
                f"--overlays {name} is larger than {MAX_OVERLAYS_FILE_BYTES} bytes; "
                "overlays travel in an HTTP header: send fewer shapes"
            )
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _Refused(f"--overlays {name} cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise _Refused(f"--overlays {name} is not valid JSON ({exc}); give a list") from None
    if not isinstance(value, list):
        raise _Refused(f"--overlays {name} must hold a JSON list of shapes, not an object")
    return value


def _fields(pairs: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise _Refused(f"--field {pair!r} is not KEY=VALUE")
        try:
            fields[key] = json.loads(text)
        except ValueError:
            fields[key] = text
    return fields


def _push(args: argparse.Namespace) -> int:
    options = load(PushSettings, vars(args))
    metadata = _metadata(options.metadata)
    overlays = _overlays(options.overlays)
    files: list[str] = sorted(args.files, key=natural_key)
    if files.count(STDIN) > 1:
        raise _Refused("'-' (standard input) can be given once")
    for name in files:
        if name != STDIN and not Path(name).is_file():
            what = "is not a file" if Path(name).exists() else "does not exist"
            raise _Refused(f"{name} {what}; give image files (or - for standard input)")
    client = _client(options)
    for name in files:
        image: bytes | Path = sys.stdin.buffer.read() if name == STDIN else Path(name)
        seq = client.publish(image, metadata, stream=options.stream, overlays=overlays)
        shown = f"seq {seq}" if seq is not None else "replaced by a newer image before shown"
        print(f"{'stdin' if name == STDIN else name}: {shown}", flush=True)
    return 0


def _command(args: argparse.Namespace) -> int:
    fields = _fields(args.field)
    reply = _client(load(ConnectionSettings, vars(args))).command(args.name, **fields)
    print(json.dumps(reply), flush=True)
    return 1 if reply.get("ok") is False else 0


def run(args: argparse.Namespace) -> int:
    """Run ``push`` or ``command``; one line on stderr and 2 on any failure."""
    try:
        return _push(args) if args.command == "push" else _command(args)
    except (_Refused, FramecastError) as exc:
        print(f"framecast {args.command}: error: {exc}", file=sys.stderr)
        return 2
