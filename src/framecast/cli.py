"""The ``framecast`` command: ``serve``, ``simulate``, ``cert``.

The only place that configures logging. Errors in the command line or the configuration
exit with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from .config import SETTINGS, Settings, default_of, settings_from_env
from .errors import FramecastError
from .version import __version__

__all__ = ["build_parser", "main"]

log = logging.getLogger("framecast.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, status 2
        self.exit(2, f"framecast: error: {message} (see {self.prog} --help)\n")


def _add_setting_options(parser: argparse.ArgumentParser) -> None:
    groups: dict[str, Any] = {}
    for setting in SETTINGS:
        group = groups.get(setting.group)
        if group is None:
            group = groups[setting.group] = parser.add_argument_group(setting.group)
        names = [setting.option] + ([setting.short] if setting.short else [])
        default = default_of(setting.name)
        shown = "" if setting.secret or default in (None, False, ()) else f" [default: {default}]"
        help_text = f"{setting.help}{shown} (env {setting.env})"
        if setting.flag:
            group.add_argument(
                *names,
                dest=setting.name,
                action="store_const",
                const=True,
                default=None,
                help=help_text,
            )
        else:
            group.add_argument(
                *names,
                dest=setting.name,
                type=_parser_for(setting.parse),
                default=None,
                choices=setting.choices,
                metavar=setting.name.split("_")[-1].upper(),
                help=help_text,
            )


def _parser_for(parse: Any) -> Any:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(parse, "__name__", "value").lstrip("_")
    return convert


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="framecast",
        description="Live image server: every browser watching "
        "shows each new image within milliseconds.",
    )
    parser.add_argument("--version", action="version", version=f"framecast {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more log output (-vv for per-frame detail)",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = commands.add_parser(
        "serve",
        help="serve images from the given sources",
        description="Serve the viewer and publish images from the "
        "chosen sources (a watched folder, a bsread stream, the "
        "simulator, or POST /api/frames).",
    )
    _add_setting_options(serve)
    serve.add_argument("--no-qr", action="store_true", help="do not draw the QR code")

    simulate = commands.add_parser(
        "simulate",
        help="send simulated camera frames over bsread",
        description="A stand-alone bsread sender of simulated camera "
        "frames; connect with 'framecast serve --zmq tcp://HOST:PORT'.",
    )
    simulate.add_argument("--port", type=int, default=8888, help="port to bind [default: 8888]")
    simulate.add_argument("--rate", type=float, default=10.0, help="frames per second [10]")
    simulate.add_argument("-n", "--count", type=int, default=None, help="stop after COUNT frames")
    simulate.add_argument(
        "--mode", choices=("push", "pub"), default="push", help="ZeroMQ socket type [default: push]"
    )

    cert = commands.add_parser(
        "cert",
        help="make a self-signed HTTPS certificate for this machine",
        description="Write cert.pem and key.pem (mode 0600) for serving HTTPS on the LAN. "
        "The certificate names this machine's LAN addresses, localhost and its host "
        "name; then run 'framecast serve --certfile cert.pem --keyfile key.pem'. "
        "See docs/control.md for trusting it on a phone.",
    )
    cert.add_argument(
        "--out", default=".", metavar="DIR", help="folder for cert.pem and key.pem [default: .]"
    )
    cert.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="HOST_OR_IP",
        help="extra host name or IP address to include (repeatable)",
    )
    cert.add_argument("--days", type=int, default=825, help="validity in days [default: 825]")
    cert.add_argument("--force", action="store_true", help="replace existing files")
    return parser


def _cert(args: argparse.Namespace) -> None:
    from .certificate import make_certificate

    made = make_certificate(args.out, names=args.name, days=args.days, overwrite=args.force)
    print(f"wrote {made.certfile}")
    print(f"wrote {made.keyfile} (private: keep it secret)")
    print(f"valid for: {', '.join(made.names)}")
    print(f"until: {made.not_after:%Y-%m-%d}")
    print(f"SHA-256 fingerprint: {made.fingerprint}")
    print(f"serve with: framecast serve --certfile {made.certfile} --keyfile {made.keyfile}")


def _settings(args: argparse.Namespace) -> Settings:
    options = settings_from_env()
    for setting in SETTINGS:
        value = getattr(args, setting.name, None)
        if value is not None:
            options[setting.name] = value
    return Settings.build(**options)


def _configure_logging(verbosity: int) -> None:
    level = logging.INFO if verbosity == 0 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger("framecast")
    root.handlers[:] = [handler]
    root.setLevel(level)
    if verbosity < 2:
        logging.getLogger("framecast.pipeline").setLevel(logging.INFO)


async def _serve(settings: Settings, *, show_qr: bool) -> None:
    from .address import qr_text
    from .server import ImageServer
    from .web.listener import AcceptErrorLog

    server = ImageServer(**{f: getattr(settings, f) for f in settings.__dataclass_fields__})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    AcceptErrorLog.install(loop)  # "Too many open files" at most once per interval
    # Handlers first: a SIGTERM right after the URL is printed must stop cleanly too.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    url = await server.astart()
    print(f"framecast {__version__} serving at {url}", flush=True)
    if server.access_limited:
        print(
            "note: this address is only reachable from this machine; use "
            "--displayed-address ip:<LAN address> for other devices",
            flush=True,
        )
    if show_qr:
        qr_text(url, sys.stdout)
        sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        print("stopping…", flush=True)
        await server.astop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        if args.command == "serve":
            settings = _settings(args)
            asyncio.run(_serve(settings, show_qr=not args.no_qr))
        elif args.command == "cert":
            _cert(args)
        elif args.command == "simulate":
            if not 1 <= args.port <= 65535:
                parser.exit(
                    2,
                    f"framecast: error: port {args.port} is out of range; "
                    "choose one from 1024 to 65535 with --port\n",
                )
            if args.rate <= 0:
                parser.exit(2, "framecast: error: --rate must be positive (frames per second)\n")
            from .sources.simulator import run_sender

            with contextlib.suppress(KeyboardInterrupt):
                run_sender(port=args.port, rate=args.rate, count=args.count, mode=args.mode)
    except FramecastError as exc:
        print(f"framecast: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
