"""The ``framecast`` command: ``serve``, ``simulate``, ``cert``.

The only place that configures logging. Errors in the command line or the configuration
exit with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from framecast.config.console import ConsoleSettings, SimulateSettings
from framecast.config.flags import add_flags
from framecast.config.settings import (
    SETTINGS,
    Settings,
    StreamOptions,
    load,
    table,
)
from framecast.config.streamname import DEFAULT_STREAM, check_name
from framecast.errors import ConfigError, FramecastError, spelling
from framecast.remote import push as pushcli
from framecast.runtime.deadline import cancel_all, within
from framecast.version import __version__

__all__ = ["build_parser", "main"]

log = logging.getLogger("framecast.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, status 2
        self.exit(2, f"framecast: error: {message} (see {self.prog} --help)\n")


#: Source flags that may be repeated, each with an optional stream name (docs/streams.md):
#: ``--watch [NAME=]DIR``, ``--zmq [NAME=]URL``, ``--simulate [NAME]``.
_PER_STREAM = {"watch": "[NAME=]DIR", "zmq": "[NAME=]URL", "simulate": "NAME"}
_PER_STREAM_HELP = {
    "watch": " Repeatable: --watch NAME=DIR feeds stream NAME.",
    "zmq": " Repeatable: --zmq NAME=URL feeds stream NAME.",
    "simulate": " Repeatable: --simulate NAME feeds stream NAME.",
}
_REPEATED = {name: (_PER_STREAM[name], _PER_STREAM_HELP[name]) for name in _PER_STREAM}
#: Lists that may be given as several flags (--alert A --alert B), joined into one list.
_LISTS = {"alerts": ("RULE", ""), "alert_webhooks": ("URL", "")}
_REPEATED.update(_LISTS)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="framecast",
        description="Live image server: every browser watching "
        "shows each new image within milliseconds.",
    )
    parser.add_argument("--version", action="version", version=f"framecast {__version__}")
    console = {row.name: row for row in table(ConsoleSettings)}
    add_flags(parser, (console["verbose"],))
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = commands.add_parser(
        "serve",
        help="serve images from the given sources",
        description="Serve the viewer and publish images from the "
        "chosen sources (a watched folder, a bsread stream, the "
        "simulator, or POST /api/frames). Several cameras are several streams: "
        "--zmq cam1=tcp://camera-1:9999 --watch lab=/data/lab, each at /s/NAME/, all at "
        "/streams. Every setting can also come from a TOML file, --config FILE: "
        "top-level keys are the settings' names (port = 8000), [streams.NAME] tables "
        "set each stream's sources (zmq, zmq_mode, watch, existing, simulate, ...).",
    )
    add_flags(
        serve,
        (*SETTINGS, console["config"], console["no_qr"], console["verbose"]),
        inherited="verbose",
        repeated=_REPEATED,
    )

    simulate = commands.add_parser(
        "simulate",
        help="send simulated camera frames over bsread",
        description="A stand-alone bsread sender of simulated camera "
        "frames; connect with 'framecast serve --zmq tcp://HOST:PORT'.",
    )
    add_flags(simulate, (*table(SimulateSettings), console["verbose"]), inherited="verbose")

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
    cert.add_argument(
        "--overwrite",
        "--force",
        dest="overwrite",
        action="store_true",
        help="replace existing files",
    )
    pushcli.add_parsers(commands)
    return parser


def _cert(args: argparse.Namespace) -> None:
    from framecast.network.certificate import make_certificate

    made = make_certificate(args.out, names=args.name, days=args.days, overwrite=args.overwrite)
    print(f"wrote {made.certfile}")
    print(f"wrote {made.keyfile} (private: keep it secret)")
    print(f"valid for: {', '.join(made.names)}")
    print(f"until: {made.not_after:%Y-%m-%d}")
    print(f"SHA-256 fingerprint: {made.fingerprint}")
    print(f"serve with: framecast serve --certfile {made.certfile} --keyfile {made.keyfile}")


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
    warnings.showwarning = show_warning


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """How the command shows a warning (a deprecated option): one line on stderr, without
    the file and source line Python would print."""
    print(f"framecast: warning: {message}", file=sys.stderr, flush=True)


_NO_SOURCE = (
    "no source of images chosen: the page waits for one; feed it with --watch DIR, "
    "--zmq tcp://HOST:PORT, --simulate, or POST images to %sapi/frames"
)


def _source_value(key: str, value: str) -> tuple[str, str | bool]:
    """One ``--watch``/``--zmq``/``--simulate`` value → (stream name, setting value).

    ``NAME=VALUE`` names the stream; a plain VALUE (a path, a URL) is the default stream's:
    what comes before ``=`` is a name unless it looks like a path or a URL. ``--simulate``
    takes a bare NAME (``default`` without one)."""

    name, sep, rest = value.partition("=")
    text: str | bool
    if key == "simulate":
        name, text = value, True
    elif not sep or "/" in name or ":" in name:
        return DEFAULT_STREAM, value
    else:
        text = rest
    try:
        return check_name(name), text
    except ConfigError as exc:
        raise ConfigError(f"--{key} {value!r}: {exc}") from None


def _serve_settings(
    given: Mapping[str, Any], config: Path | None
) -> tuple[Settings, dict[str, StreamOptions]]:
    """The server's settings and its named streams' sources from flags (which win), the
    environment, then the ``--config`` file."""
    from framecast.config.tomlfile import read_config_file

    file = read_config_file(config) if config is not None else None
    streams = {name: dict(values) for name, values in (file.streams if file else {}).items()}
    flags = dict(given)
    for name in _LISTS:  # repeated flags, read as one comma-separated list
        if isinstance(flags.get(name), list):
            flags[name] = ",".join(flags[name])
    for key in _PER_STREAM:
        flags[key] = None
        for value in given.get(key) or ():
            name, setting = _source_value(key, value)
            if name != DEFAULT_STREAM:
                streams.setdefault(name, {})[key] = setting
            elif flags[key] is None:
                flags[key] = setting
            else:
                example = "--simulate sim2" if key == "simulate" else f"--{key} cam2={value}"
                raise ConfigError(
                    f"--{key} is given twice for the default stream; name the others, "
                    f"e.g. {example}"
                )
    settings = load(Settings, flags, base=file.settings if file else None)
    return settings, {name: _stream_options(values) for name, values in streams.items()}


def _stream_options(values: Mapping[str, Any]) -> StreamOptions:
    options: StreamOptions = {}
    options.update(values)  # type: ignore[typeddict-item]
    return options


async def _serve(settings: Settings, streams: dict[str, StreamOptions], *, show_qr: bool) -> None:
    from framecast.network.address import qr_text
    from framecast.server import ImageServer
    from framecast.web.listener import AcceptErrorLog

    server = ImageServer(settings, streams=streams)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    AcceptErrorLog.install(loop)  # "Too many open files" at most once per interval
    # Handlers first: a SIGTERM right after the URL is printed must stop cleanly too.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    url = await server.astart()
    # Everything said at start is said before the URL: whoever waits for it has it all.
    if not settings.has_source and not streams and settings.broker is None:
        log.info(_NO_SOURCE, url)  # an edge node (--broker) shows the other nodes' streams
    print(f"framecast {__version__} serving at {url}", flush=True)
    if show_qr:
        qr_text(url, sys.stdout)
        sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        print("stopping…", flush=True)
        await server.astop()


def _simulate(settings: SimulateSettings) -> None:
    from framecast.sources.simulator import run_sender

    with contextlib.suppress(KeyboardInterrupt):
        run_sender(
            host=settings.host,
            port=settings.port,
            rate=settings.rate,
            count=settings.count,
            mode=settings.mode,
        )


#: Seconds the process may take to end once the server has stopped. Work still running in
#: a thread by then (a command handler that never returns, a read from a hung network disk)
#: is left behind: the process ends all the same, and says so.
EXIT_WAIT = 3.0


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Like :func:`asyncio.run`, without waiting for the work left in threads (which
    ``asyncio.run`` does for ever): :func:`run` bounds that wait when the process ends."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        try:
            leftover = asyncio.all_tasks(loop)
            if leftover:
                loop.run_until_complete(cancel_all(leftover, "ending the program"))
            with contextlib.suppress(TimeoutError):
                loop.run_until_complete(within(loop.shutdown_asyncgens(), EXIT_WAIT))
        finally:
            asyncio.set_event_loop(None)
            loop.close()  # its thread pool is shut down without waiting


def _end_within(seconds: float, code: int) -> None:
    """Arm a daemon timer: if the process has not ended ``seconds`` from now (it waits for
    a thread that never returns), it ends then, with ``code``, naming those threads."""

    def end() -> None:
        main_thread = threading.main_thread()
        busy = sorted(
            t.name
            for t in threading.enumerate()
            if t.is_alive() and not t.daemon and t is not main_thread
        )
        print(
            f"framecast: {len(busy)} thread(s) still running after {seconds:g} s "
            f"({', '.join(busy) or 'unnamed'}): work that never returned (a command "
            "handler, a hung disk) is left behind",
            file=sys.stderr,
            flush=True,
        )
        os._exit(code)

    timer = threading.Timer(seconds, end)
    timer.daemon = True
    timer.start()


def run() -> None:
    """The ``framecast`` program: :func:`main`, then an exit that never waits for ever."""
    code = 1  # an unexpected error: its traceback, then this status
    try:
        code = main()
    finally:
        _end_within(EXIT_WAIT, code)
    sys.exit(code)


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parse_args``, except that arguments nobody knows are the chosen command's error,
    so its message points at ``framecast serve --help``, not at ``framecast --help``."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        commands = next(
            a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)
        )
        chosen = commands.get(getattr(args, "command", None) or "", parser)
        chosen.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    # While the command runs, messages name options as flags (--port), in every thread.
    with spelling("flag", process=True):
        if args.command in pushcli.COMMANDS:
            return pushcli.run(args)
        given = vars(args)
        try:
            console = load(ConsoleSettings, given)
            _configure_logging(console.verbose)
            if args.command == "serve":
                settings, streams = _serve_settings(given, console.config)
                _run(_serve(settings, streams, show_qr=not console.no_qr))
            elif args.command == "cert":
                _cert(args)
            elif args.command == "simulate":
                _simulate(load(SimulateSettings, given))
        except FramecastError as exc:
            print(f"framecast: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
    return 0
