"""The one settings object shared by the CLI, the environment and the Python API.

Each option is declared once, as a field of :class:`Settings` described by
:func:`~framecast.config.options.option`:
its name, type, default, help text, group and command-line details. From that one
declaration come the ``framecast serve`` flags, the ``FRAMECAST_*`` environment variables,
the keyword arguments of ``ImageServer`` and ``docs/settings.md`` (:data:`SETTINGS` is the
table read from the fields; tests keep the docs and :class:`ServerOptions` in step).
The ``framecast`` command's own options (:class:`ConsoleSettings`) and the ``framecast
simulate`` sender (:class:`SimulateSettings`) are declared the same way.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Unpack

from framecast.config.keywords import ServerOptions, StreamOptions
from framecast.config.options import Setting, load, option, parse_bool, read_env, split_list, table
from framecast.errors import ConfigError, spell, suggest
from framecast.network.address import check_displayed_address
from framecast.network.clientaddress import parse_networks

__all__ = [
    "SETTINGS",
    "SOURCE_KEYS",
    "ServerOptions",
    "Setting",
    "Settings",
    "StreamOptions",
    "load",
    "option",
    "parse_bool",
    "settings_from_env",
    "table",
]

STRETCHES = ("auto", "midtones", "none")
ZMQ_MODES = ("pull", "sub")
_POSITIVE = (
    "keepalive_timeout",
    "send_timeout",
    "simulate_rate",
    "body_timeout",
    "handshake_timeout",
    "max_command_rate",
    "max_stream_command_rate",
    "broker_answer_timeout",
)
_AT_LEAST_ONE = (
    "max_message_bytes",
    "max_clients",
    "max_ingest_bytes",
    "max_clients_per_address",
    "max_image_pixels",
    "max_metadata_bytes",
    "max_metadata_depth",
    "max_uploads",
    "max_downloads",
    "max_downloads_per_address",
    "max_streams",
    "max_profile_points",
    "encode_threads",
    "max_command_burst",
    "max_stream_command_burst",
)
_BROKER_SCHEMES = ("redis://", "rediss://", "unix://")
_NAMESPACE = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: The settings that say where one stream's images come from: per stream in a config file's
#: ``[streams.NAME]`` table, and for the default stream at the top level (docs/streams.md).
SOURCE_KEYS = (
    "watch",
    "existing",
    "zmq",
    "zmq_mode",
    "zmq_image_channel",
    "simulate",
    "simulate_rate",
)


@dataclass(frozen=True)
class Settings:
    """Every option of a framecast server. Build with keywords; unknown names are errors."""

    work_folder: Path = field(
        default=Path("framecast-work"),
        metadata=option(
            help="Folder for snapshots and, unless --web-folder is set, the web files "
            "(created if missing).",
            group="files",
        ),
    )
    web_folder: Path | None = field(
        default=None,
        metadata=option(
            help="Dedicated folder for the viewer files (index.html, web_image.jpg, data.json); "
            "defaults to the work folder.",
            group="files",
        ),
    )
    host: str = field(
        default="0.0.0.0",
        metadata=option(
            help="Address to bind; 0.0.0.0 listens on every IPv4 interface.",
            short="-H",
            expects="an IP address or host name, e.g. 0.0.0.0",
        ),
    )
    port: int = field(
        default=8000,
        metadata=option(
            help="TCP port, 1024-65535 (0 picks any free port).",
            short="-P",
            expects="a whole number from 1024 to 65535 (or 0 for any free port)",
        ),
    )
    displayed_address: str = field(
        default="auto",
        metadata=option(
            help="Address viewers are shown (the printed URL, the page's Share link and QR "
            "code, /api/status): 'auto' picks this machine's LAN address, 'ip:ADDR' uses ADDR, "
            "a URL (https://cam.example.org/: a reverse proxy's public address) is shown as "
            "it is, and pages from its origin may open the live connections.",
            expects="auto, ip:ADDR or a URL such as https://cam.example.org/",
        ),
    )
    certfile: Path | None = field(
        default=None, metadata=option(help="PEM certificate: serve HTTPS and WSS (with --keyfile).")
    )
    keyfile: Path | None = field(
        default=None, metadata=option(help="PEM private key for --certfile.")
    )
    allowed_origins: tuple[str, ...] = field(
        default=(),
        metadata=option(
            help="Comma-separated extra origins (e.g. https://cam.example.org behind a proxy) "
            "whose pages may open the live sockets, /events and ingest; the server's own "
            "addresses are always allowed."
        ),
    )
    trusted_proxies: tuple[str, ...] = field(
        default=(),
        metadata=option(
            help="Comma-separated addresses or networks (e.g. 127.0.0.1 or 10.0.0.0/8) of "
            "reverse proxies whose X-Forwarded-For names the client; the per-address "
            "connection cap then counts each client, not the proxy.",
        ),
    )
    # access
    token: str | None = field(
        default=None,
        metadata=option(
            help="Operator token: required for /control and ingest (?token= or "
            "'Authorization: Bearer').",
            group="access",
            secret=True,
        ),
    )
    viewer_token: str | None = field(
        default=None,
        metadata=option(
            help="Viewer token: when set, watching needs it too (private sessions).",
            group="access",
            secret=True,
        ),
    )
    # images
    jpeg_quality: int = field(
        default=85,
        metadata=option(
            help="JPEG quality of the web image, 1-100.",
            group="images",
            expects="a whole number from 1 to 100",
        ),
    )
    stretch: str = field(
        default="auto",
        metadata=option(
            help="Mapping of non-8-bit data to display: auto (robust percentiles), midtones "
            "(astro-style), none (full range).",
            group="images",
            choices=STRETCHES,
        ),
    )
    colormap: str | None = field(
        default=None,
        metadata=option(help="Colormap for mono data (gray, viridis, inferno, …).", group="images"),
    )
    max_web_size: int = field(
        default=4096,
        metadata=option(
            help="Longest edge in pixels of the web image; larger frames are downscaled for the "
            "browser (snapshots keep full size).",
            group="images",
        ),
    )
    max_file_rate: float = field(
        default=2.0,
        metadata=option(
            help="Most times per second web_image.jpg/data.json are rewritten.", group="images"
        ),
    )
    # history (docs/history.md)
    history: int = field(
        default=100,
        metadata=option(
            help="Frames each stream keeps in memory for GET /api/history and /history/SEQ.jpg "
            "(0 keeps none).",
            group="history",
        ),
    )
    max_history_bytes: int = field(
        default=512 * 1024 * 1024,
        metadata=option(
            help="Most bytes the histories of all streams hold together (JPEG, renderings and "
            "arrays of each frame); the oldest frames of any stream go first, the latest "
            "frame of each stream always stays.",
            group="history",
        ),
    )
    keep_raw: bool = field(
        default=True,
        metadata=option(
            help="Keep each frame's raw array as published (its own dtype) for /raw, "
            "/api/pixel, /api/stats, /api/profile and /api/histogram; it counts towards "
            "max_history_bytes ('false' keeps none and those routes answer 404).",
            group="history",
        ),
    )
    # limits and timeouts
    keepalive_timeout: float = field(
        default=15.0,
        metadata=option(help="Seconds an idle HTTP keep-alive connection is kept.", group="limits"),
    )
    heartbeat: float | None = field(
        default=10.0,
        metadata=option(help="Seconds between WebSocket pings ('off' disables).", group="limits"),
    )
    send_timeout: float = field(
        default=10.0,
        metadata=option(
            help="Seconds a client may take to accept one live message, or to take 64 KiB of an "
            "HTTP answer, before it is disconnected.",
            group="limits",
        ),
    )
    max_message_bytes: int = field(
        default=65536,
        metadata=option(help="Largest message accepted from a WebSocket client.", group="limits"),
    )
    max_clients: int = field(
        default=2000,
        metadata=option(
            help="Most simultaneous live connections; more are refused with 503.", group="limits"
        ),
    )
    max_ingest_bytes: int = field(
        default=64 * 1024 * 1024,
        metadata=option(help="Largest image body accepted by POST /api/frames.", group="limits"),
    )
    max_clients_per_address: int = field(
        default=256,
        metadata=option(
            help="Most simultaneous live connections from one client address; more are refused "
            "with 503.",
            group="limits",
        ),
    )
    max_image_pixels: int = field(
        default=100_000_000,
        metadata=option(
            help="Largest image (width x height) accepted from any input; checked in the file "
            "header before decoding, refused with 413 over HTTP.",
            group="limits",
        ),
    )
    max_metadata_bytes: int = field(
        default=1024 * 1024,
        metadata=option(
            help="Largest metadata accepted with one image (as JSON text).", group="limits"
        ),
    )
    max_metadata_depth: int = field(
        default=32,
        metadata=option(
            help="Deepest nesting of lists and objects accepted in metadata and control messages.",
            group="limits",
        ),
    )
    max_command_rate: float = field(
        default=10.0,
        metadata=option(
            help="Commands per second one /control connection may send, on average (after a "
            "burst of max_command_burst); more are answered ok:false ('too many commands') "
            "and not run.",
            group="limits",
        ),
    )
    max_command_burst: int = field(
        default=20,
        metadata=option(
            help="Commands one /control connection may send at once before max_command_rate "
            "applies.",
            group="limits",
        ),
    )
    max_stream_command_rate: float = field(
        default=20.0,
        metadata=option(
            help="Commands per second one stream takes from all its /control clients together, "
            "on average (after a burst of max_stream_command_burst); counted on the node that "
            "publishes the stream. More are answered ok:false and not run.",
            group="limits",
        ),
    )
    max_stream_command_burst: int = field(
        default=40,
        metadata=option(
            help="Commands one stream takes at once, from all its clients, before "
            "max_stream_command_rate applies.",
            group="limits",
        ),
    )
    max_snapshots_bytes: int = field(
        default=1024 * 1024 * 1024,
        metadata=option(
            help="Most bytes the snapshots folder (<work folder>/snapshots, every stream's and "
            "earlier runs' files included) may hold; snapshot_now is refused once the next "
            "snapshot would not fit (0 refuses every snapshot).",
            group="limits",
        ),
    )
    max_uploads: int = field(
        default=16,
        metadata=option(
            help="Most image uploads (POST /api/frames) received at once; more are refused "
            "with 503.",
            group="limits",
        ),
    )
    max_downloads: int = field(
        default=8,
        metadata=option(
            help="Most whole-frame downloads (raw .npy and .fits files, rectangles of a level) "
            "made or sent at once; more are refused with 503 and Retry-After.",
            group="limits",
        ),
    )
    max_downloads_per_address: int = field(
        default=4,
        metadata=option(
            help="Most whole-frame downloads made or sent at once for one client address; "
            "more are refused with 503 and Retry-After.",
            group="limits",
        ),
    )
    max_streams: int = field(
        default=64,
        metadata=option(
            help="Most streams (cameras) one server carries; ingest that would create more is "
            "refused with 409.",
            group="limits",
        ),
    )
    max_tile_cache_bytes: int = field(
        default=64 * 1024 * 1024,
        metadata=option(
            help="Most bytes of deep-zoom tiles (JPEG) kept by all frames together, every "
            "stream included; the least recently used are cut again on request (0 keeps none).",
            group="limits",
        ),
    )
    max_answer_cache_bytes: int = field(
        default=128 * 1024 * 1024,
        metadata=option(
            help="Most bytes of answers about frames' raw data (raw tiles, lower levels of the "
            "raw pyramid, statistics, profiles, histograms) kept for all frames together, each "
            "counted with what it costs in memory; each is computed once per frame and leaves "
            "with its frame or when least recently used.",
            group="limits",
        ),
    )
    max_decoded_cache_bytes: int = field(
        default=256 * 1024 * 1024,
        metadata=option(
            help="Most bytes of decoded pixels of JPEG frames kept for all frames together "
            "(the raw data of a JPEG frame is its decoded JPEG, decoded when first asked for); "
            "least recently used first out, each leaves with its frame (0 decodes every time).",
            group="limits",
        ),
    )
    max_profile_points: int = field(
        default=16384,
        metadata=option(
            help="Most points of a line profile (GET /api/profile); a longer line is refused "
            "with 400.",
            group="limits",
        ),
    )
    encode_threads: int = field(
        default=2,
        metadata=option(
            help="Threads that encode images, shared by every stream.",
            group="limits",
        ),
    )
    body_timeout: float = field(
        default=30.0,
        metadata=option(
            help="Seconds a client may take to send a whole request body before it is refused "
            "(408).",
            group="limits",
        ),
    )
    handshake_timeout: float = field(
        default=10.0,
        metadata=option(
            help="Seconds a new HTTPS connection may take to finish its TLS handshake.",
            group="limits",
        ),
    )
    # broker (docs/scale-out.md)
    broker: str | None = field(
        default=None,
        repr=False,
        metadata=option(
            help="Share every stream with the other nodes of this Redis (or Valkey) server, "
            "e.g. redis://redis-host:6379/0 (rediss:// for TLS; a password in the URL is never "
            "shown). See docs/scale-out.md.",
            group="broker",
            expects="a URL redis://HOST:PORT/DB, rediss://… or unix://PATH",
            secret=True,
        ),
    )
    broker_namespace: str = field(
        default="framecast",
        metadata=option(
            help="Prefix of framecast's keys and channels on the broker: keeps several "
            "deployments apart on one Redis.",
            group="broker",
        ),
    )
    broker_answer_timeout: float = field(
        default=5.0,
        metadata=option(
            help="Seconds a node waits for the node publishing a stream to answer a /control "
            "command or a question about its raw data or tiles; then the client is told that "
            "no publisher answered (503 over HTTP).",
            group="broker",
        ),
    )
    # sources
    watch: Path | None = field(
        default=None,
        metadata=option(
            help="Publish every new image file that appears in this folder.", group="sources"
        ),
    )
    existing: bool = field(
        default=False,
        metadata=option(
            help="With --watch, also publish the files already there at start.",
            group="sources",
            flag=True,
        ),
    )
    zmq: str | None = field(
        default=None,
        metadata=option(
            help="Connect to a bsread camera stream, e.g. tcp://host:9999.", group="sources"
        ),
    )
    zmq_mode: str = field(
        default="pull",
        metadata=option(help="ZeroMQ socket type for --zmq.", group="sources", choices=ZMQ_MODES),
    )
    zmq_image_channel: str | None = field(
        default=None,
        metadata=option(
            help="bsread channel holding the image (default: the first 2-D channel).",
            group="sources",
        ),
    )
    simulate: bool = field(
        default=False,
        metadata=option(
            help="Publish a built-in simulated camera (moving Gaussian beam).",
            group="sources",
            flag=True,
        ),
    )
    simulate_rate: float = field(
        default=10.0, metadata=option(help="Frames per second of --simulate.", group="sources")
    )

    def __post_init__(self) -> None:
        # Normalise the types a Python caller may reasonably pass (str for paths, list for tuples).
        for name in ("work_folder", "web_folder", "certfile", "keyfile", "watch"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value).expanduser())
        for name in ("allowed_origins", "trusted_proxies"):
            value = getattr(self, name)
            listed = split_list(value) if isinstance(value, str) else tuple(value)
            object.__setattr__(self, name, listed)
        self.validate()

    # -- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the option and the fix for any unusable value
        (the option as the caller wrote it: ``port=``, ``--port`` or a config file's key)."""
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"trusted proxy {exc}; fix {spell('trusted_proxies')}") from None
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ConfigError(
                f"port must be a whole number from 1024 to 65535 (or 0), got {self.port!r}; "
                f"e.g. {spell('port', 8000)}"
            )
        if self.port != 0 and not 1024 <= self.port <= 65535:
            raise ConfigError(
                f"port {self.port} is out of range; choose one from 1024 to 65535 with "
                f"{spell('port')} (or {spell('port', 0)} for any free port)"
            )
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            if not self.host or any(c.isspace() for c in self.host):
                raise ConfigError(
                    f"host {self.host!r} is not an address; use e.g. {spell('host', '0.0.0.0')}"
                ) from None
        check_displayed_address(self.displayed_address)
        if (self.certfile is None) != (self.keyfile is None):
            raise ConfigError(
                f"HTTPS needs both {spell('certfile')} and {spell('keyfile')} (or neither)"
            )
        for name in ("certfile", "keyfile"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ConfigError(
                    f"{spell(name)} {str(path)!r} does not exist; give the path of a PEM file"
                )
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(
                f"{spell('jpeg_quality', self.jpeg_quality)} is out of range; give a JPEG "
                "quality from 1 to 100"
            )
        if self.stretch not in STRETCHES:
            raise ConfigError(
                f"stretch {self.stretch!r} is unknown; give {spell('stretch')} one of "
                f"{', '.join(STRETCHES)}"
            )
        if self.zmq_mode not in ZMQ_MODES:
            raise ConfigError(
                f"zmq mode {self.zmq_mode!r} is unknown; give {spell('zmq_mode')} pull or sub"
            )
        if self.max_file_rate <= 0:
            raise ConfigError(
                f"{spell('max_file_rate')} must be positive (images written per second)"
            )
        if self.max_web_size < 16:
            raise ConfigError(f"{spell('max_web_size')} must be at least 16 pixels")
        for name in ("history", "max_history_bytes", "max_tile_cache_bytes"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{spell(name)} must be 0 or more (0 keeps none)")
        if self.max_answer_cache_bytes < 0:
            raise ConfigError(
                f"{spell('max_answer_cache_bytes')} must be 0 or more (0 keeps no answers)"
            )
        if self.max_decoded_cache_bytes < 0:
            raise ConfigError(
                f"{spell('max_decoded_cache_bytes')} must be 0 or more (0 keeps none)"
            )
        if self.max_snapshots_bytes < 0:
            raise ConfigError(
                f"{spell('max_snapshots_bytes')} must be 0 or more (0 refuses every snapshot)"
            )
        for name in _POSITIVE:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{spell(name)} must be positive, got {getattr(self, name)}")
        for name in _AT_LEAST_ONE:
            if getattr(self, name) < 1:
                raise ConfigError(f"{spell(name)} must be at least 1, got {getattr(self, name)}")
        if self.broker is not None and not self.broker.startswith(_BROKER_SCHEMES):
            raise ConfigError(
                f"{spell('broker')} must be a URL redis://HOST:PORT/DB, rediss://HOST:PORT/DB "
                "or unix://PATH (the URL given is not shown: it may hold a password)"
            )
        if not _NAMESPACE.fullmatch(self.broker_namespace):
            raise ConfigError(
                f"broker namespace {self.broker_namespace!r} must be 1-64 letters, digits, "
                f"'.', '_' or '-'; fix {spell('broker_namespace')}"
            )
        if self.watch is not None:
            if not self.watch.exists():
                raise ConfigError(
                    f"watch folder {str(self.watch)!r} does not exist; create it or fix "
                    f"{spell('watch')}"
                )
            if not self.watch.is_dir():
                raise ConfigError(
                    f"{spell('watch')} {str(self.watch)!r} is not a folder; give the folder "
                    "the images appear in"
                )

    # -- derived ------------------------------------------------------------------------------
    @property
    def web_root(self) -> Path:
        """The folder the viewer is served from (the work folder unless a web folder is set)."""
        return self.web_folder if self.web_folder is not None else self.work_folder

    @property
    def tls(self) -> bool:
        return self.certfile is not None

    @property
    def has_source(self) -> bool:
        """True when a folder, a stream or the simulator feeds the server."""
        return self.watch is not None or self.zmq is not None or self.simulate

    def for_stream(self, **sources: Unpack[StreamOptions]) -> Settings:
        """These settings with the source settings of one stream: ``sources`` given, every
        other key of :data:`SOURCE_KEYS` back to its default (a stream never inherits
        another's folder or camera)."""
        unknown = sorted(set(sources) - set(SOURCE_KEYS))
        if unknown:
            raise ConfigError(
                f"unknown stream option {unknown[0]!r}; {suggest(unknown[0], SOURCE_KEYS)}"
            )
        values = {**_values(self), **{k: default_of(k) for k in SOURCE_KEYS}, **sources}
        return Settings.build(**values)

    def replace(self, **changes: Unpack[ServerOptions]) -> Settings:
        """A copy with ``changes`` applied and checked (a misspelt name is an error)."""
        return Settings.build(**{**_values(self), **changes})

    @classmethod
    def build(cls, **options: Any) -> Settings:
        """Build from keywords, with a clear error for a misspelt option."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ConfigError(f"unknown option {unknown[0]!r}; {suggest(unknown[0], known)}")
        return cls(**options)


#: The table of :class:`Settings`: ``framecast serve`` flags and ``ImageServer`` keywords.
SETTINGS: tuple[Setting, ...] = table(Settings)


def _values(settings: Settings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}


def default_of(name: str) -> Any:
    """The default value of a setting of :class:`Settings`."""
    for row in SETTINGS:
        if row.name == name:
            return row.default
    raise KeyError(name)


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read ``FRAMECAST_*`` variables into keyword arguments for :class:`Settings`."""
    return read_env(SETTINGS, environ)
