"""``framecast push`` and ``framecast command``: a remote producer from the shell.

::

    framecast push frame-*.png --url http://192.168.1.20:8000      # a2 before a10
    rpicam-jpeg -o - | framecast push - --url http://pi-server:8000
    framecast command snapshot_now --url http://192.168.1.20:8000
    framecast command focus --field steps=20 --url http://192.168.1.20:8000

    framecast push frame.png --url https://192.168.1.20:8000 --cafile cert.pem

Both speak through :class:`~framecast.remote.client.Client`, whose messages then name these
flags (:data:`~framecast.remote.failures.FLAGS`). The URL may come from ``FRAMECAST_URL``,
the token from ``--token`` or ``FRAMECAST_TOKEN``, the certificate to trust for https://
from ``--cafile`` or ``FRAMECAST_CAFILE`` (``--insecure`` checks none, with a warning on
stderr). Any failure — a missing file, bad ``--metadata``, an unreachable, untrusted or
refusing server — is one line on stderr and exit status 2; ``command`` exits 1 when the
server's reply says ``"ok": false``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from framecast.errors import FramecastError
from framecast.remote.client import DEFAULT_TIMEOUT, Client
from framecast.remote.failures import FLAGS
from framecast.sources.folder import natural_key

__all__ = ["COMMANDS", "add_parsers", "run"]

COMMANDS = ("push", "command")
STDIN = "-"


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


def _add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get("FRAMECAST_URL"),
        help="the server, e.g. http://192.168.1.20:8000 (env FRAMECAST_URL)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="the server's operator token, sent as Authorization: Bearer (env FRAMECAST_TOKEN)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"longest wait for each answer [default: {DEFAULT_TIMEOUT:g}]",
    )
    parser.add_argument(
        "--cafile",
        default=os.environ.get("FRAMECAST_CAFILE"),
        metavar="CERT.pem",
        help="trust this certificate for https://, e.g. the cert.pem that 'framecast cert' "
        "wrote (env FRAMECAST_CAFILE)",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="do not check the server's certificate (unsafe: anyone on the way can answer)",
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
    push.add_argument("--stream", help="the stream to publish to [default: the default one]")
    push.add_argument(
        "--metadata", metavar="JSON", help="metadata for every image, e.g. '{\"EXPO\": 30}'"
    )
    _add_connection(push)

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
    _add_connection(command)


def _client(args: argparse.Namespace) -> Client:
    if not args.url:
        raise _Refused("give the server with --url http://HOST:PORT (or FRAMECAST_URL)")
    token = args.token if args.token is not None else os.environ.get("FRAMECAST_TOKEN")
    cafile = None if args.insecure else args.cafile or None  # --insecure wins over the env
    return _ShellClient(
        args.url, token or None, timeout=args.timeout, cafile=cafile, verify=not args.insecure
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
    metadata = _metadata(args.metadata)
    files: list[str] = sorted(args.files, key=natural_key)
    if files.count(STDIN) > 1:
        raise _Refused("'-' (standard input) can be given once")
    for name in files:
        if name != STDIN and not Path(name).is_file():
            what = "is not a file" if Path(name).exists() else "does not exist"
            raise _Refused(f"{name} {what}; give image files (or - for standard input)")
    client = _client(args)
    for name in files:
        image: bytes | Path = sys.stdin.buffer.read() if name == STDIN else Path(name)
        seq = client.publish(image, metadata, stream=args.stream)
        shown = f"seq {seq}" if seq is not None else "replaced by a newer image before shown"
        print(f"{'stdin' if name == STDIN else name}: {shown}", flush=True)
    return 0


def _command(args: argparse.Namespace) -> int:
    fields = _fields(args.field)
    reply = _client(args).command(args.name, **fields)
    print(json.dumps(reply), flush=True)
    return 1 if reply.get("ok") is False else 0


def run(args: argparse.Namespace) -> int:
    """Run ``push`` or ``command``; one line on stderr and 2 on any failure."""
    try:
        return _push(args) if args.command == "push" else _command(args)
    except (_Refused, FramecastError) as exc:
        print(f"framecast {args.command}: error: {exc}", file=sys.stderr)
        return 2
