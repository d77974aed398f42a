"""The one settings object shared by the CLI, the environment and the Python API.

:data:`SETTINGS` is the table that drives everything: ``framecast serve`` flags, the
``FRAMECAST_*`` environment variables, the keyword arguments of ``ImageServer`` and the
settings reference in ``docs/settings.md`` (a test keeps them in step).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["SETTINGS", "Setting", "Settings", "parse_bool", "settings_from_env"]

ENV_PREFIX = "FRAMECAST_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(text: str) -> bool:
    """Parse ``1/0``, ``true/false``, ``yes/no``, ``on/off`` (any case)."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected 1/0, true/false or yes/no, got {text!r}")


def _optional_float(text: str) -> float | None:
    return None if text.strip().lower() in {"", "none", "off"} else float(text)


def _optional_str(text: str) -> str | None:
    return text or None


def _optional_path(text: str) -> Path | None:
    return Path(text).expanduser() if text else None


def _origins(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    parse: Callable[[str], Any]
    help: str
    group: str = "server"
    choices: tuple[str, ...] | None = None
    short: str | None = None
    flag: bool = False  # a boolean switch on the command line
    secret: bool = False  # never logged or shown

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


@dataclass(frozen=True)
class Settings:
    """Every option of a framecast server. Build with keywords; unknown names are errors."""

    # where files go
    work_folder: Path = field(default_factory=lambda: Path("framecast-work"))
    web_folder: Path | None = None
    # network
    host: str = "0.0.0.0"
    port: int = 8000
    displayed_address: str = "auto"
    certfile: Path | None = None
    keyfile: Path | None = None
    allowed_origins: tuple[str, ...] = ()
    # access
    token: str | None = None
    viewer_token: str | None = None
    # images
    jpeg_quality: int = 85
    stretch: str = "auto"
    colormap: str | None = None
    max_web_size: int = 4096
    max_file_rate: float = 2.0
    # limits and timeouts
    keepalive_timeout: float = 15.0
    heartbeat: float | None = 10.0
    send_timeout: float = 10.0
    max_message_bytes: int = 65536
    max_clients: int = 2000
    max_ingest_bytes: int = 64 * 1024 * 1024
    max_clients_per_address: int = 256
    max_image_pixels: int = 100_000_000
    max_metadata_bytes: int = 1024 * 1024
    max_metadata_depth: int = 32
    max_uploads: int = 16
    body_timeout: float = 30.0
    handshake_timeout: float = 10.0
    # sources
    watch: Path | None = None
    existing: bool = False
    zmq: str | None = None
    zmq_mode: str = "pull"
    zmq_image_channel: str | None = None
    simulate: bool = False
    simulate_rate: float = 10.0

    def __post_init__(self) -> None:
        # Normalise the types a Python caller may reasonably pass (str for paths, list for tuples).
        for name in ("work_folder", "web_folder", "certfile", "keyfile", "watch"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value).expanduser())
        if isinstance(self.allowed_origins, str):
            object.__setattr__(self, "allowed_origins", _origins(self.allowed_origins))
        else:
            object.__setattr__(self, "allowed_origins", tuple(self.allowed_origins))
        self.validate()

    # -- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the option and the fix for any unusable value."""
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ConfigError(f"port must be a whole number, got {self.port!r}")
        if self.port != 0 and not 1024 <= self.port <= 65535:
            raise ConfigError(
                f"port {self.port} is out of range; choose one from 1024 to 65535 with --port "
                "(or 0 for any free port)"
            )
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            if not self.host or any(c.isspace() for c in self.host):
                raise ConfigError(
                    f"host {self.host!r} is not an address; use e.g. --host 0.0.0.0"
                ) from None
        if self.displayed_address != "auto":
            if not self.displayed_address.startswith("ip:"):
                raise ConfigError(
                    f"displayed address {self.displayed_address!r} is not understood; "
                    "use --displayed-address auto or ip:<address>"
                )
            if not self.displayed_address[3:]:
                raise ConfigError("displayed address 'ip:' needs an address, e.g. ip:192.168.1.20")
        if (self.certfile is None) != (self.keyfile is None):
            raise ConfigError("HTTPS needs both --certfile and --keyfile (or neither)")
        for name in ("certfile", "keyfile"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ConfigError(
                    f"{name} {str(path)!r} does not exist; give the path of a PEM file"
                )
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"jpeg quality {self.jpeg_quality} must be between 1 and 100")
        if self.stretch not in STRETCHES:
            raise ConfigError(
                f"stretch {self.stretch!r} is unknown; use one of {', '.join(STRETCHES)}"
            )
        if self.zmq_mode not in ZMQ_MODES:
            raise ConfigError(f"zmq mode {self.zmq_mode!r} is unknown; use pull or sub")
        if self.max_file_rate <= 0:
            raise ConfigError("max file rate must be positive (images written per second)")
        if self.max_web_size < 16:
            raise ConfigError("max web size must be at least 16 pixels")
        for name in (
            "keepalive_timeout",
            "send_timeout",
            "simulate_rate",
            "body_timeout",
            "handshake_timeout",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name.replace('_', ' ')} must be positive")
        for name in (
            "max_message_bytes",
            "max_clients",
            "max_ingest_bytes",
            "max_clients_per_address",
            "max_image_pixels",
            "max_metadata_bytes",
            "max_metadata_depth",
            "max_uploads",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', ' ')} must be at least 1")
        if self.watch is not None and not self.watch.is_dir():
            raise ConfigError(
                f"watch folder {str(self.watch)!r} does not exist; create it or fix --watch"
            )

    # -- derived ------------------------------------------------------------------------------
    @property
    def web_root(self) -> Path:
        """The folder the viewer is served from (the work folder unless a web folder is set)."""
        return self.web_folder if self.web_folder is not None else self.work_folder

    @property
    def tls(self) -> bool:
        return self.certfile is not None

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def build(cls, **options: Any) -> Settings:
        """Build from keywords, with a clear error for a misspelt option."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"unknown option {unknown[0]!r}; known options: {', '.join(sorted(known))}"
            )
        return cls(**options)


STRETCHES = ("auto", "midtones", "none")
ZMQ_MODES = ("pull", "sub")

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "work_folder",
        Path,
        "Folder for snapshots and, unless --web-folder is set, the web files (created if missing).",
        "files",
    ),
    Setting(
        "web_folder",
        _optional_path,
        "Dedicated folder for the viewer files "
        "(index.html, web_image.jpg, data.json); defaults to the work folder.",
        "files",
    ),
    Setting("host", str, "Address to bind; 0.0.0.0 listens on every IPv4 interface.", short="-H"),
    Setting("port", int, "TCP port, 1024-65535 (0 picks any free port).", short="-P"),
    Setting(
        "displayed_address",
        str,
        "Address shown in the URL and QR code: 'auto' picks "
        "this machine's LAN address, 'ip:ADDR' uses ADDR.",
    ),
    Setting("certfile", _optional_path, "PEM certificate: serve HTTPS and WSS (with --keyfile)."),
    Setting("keyfile", _optional_path, "PEM private key for --certfile."),
    Setting(
        "allowed_origins",
        _origins,
        "Comma-separated extra origins allowed to open WebSockets (same origin is always allowed).",
    ),
    Setting(
        "token",
        _optional_str,
        "Operator token: required for /control and ingest (?token= or 'Authorization: Bearer').",
        "access",
        secret=True,
    ),
    Setting(
        "viewer_token",
        _optional_str,
        "Viewer token: when set, watching needs it too (private sessions).",
        "access",
        secret=True,
    ),
    Setting("jpeg_quality", int, "JPEG quality of the web image, 1-100.", "images"),
    Setting(
        "stretch",
        str,
        "Mapping of non-8-bit data to display: auto (robust "
        "percentiles), midtones (astro-style), none (full range).",
        "images",
        choices=STRETCHES,
    ),
    Setting(
        "colormap", _optional_str, "Colormap for mono data (gray, viridis, inferno, …).", "images"
    ),
    Setting(
        "max_web_size",
        int,
        "Longest edge in pixels of the web image; larger frames "
        "are downscaled for the browser (snapshots keep full size).",
        "images",
    ),
    Setting(
        "max_file_rate",
        float,
        "Most times per second web_image.jpg/data.json are rewritten.",
        "images",
    ),
    Setting(
        "keepalive_timeout", float, "Seconds an idle HTTP keep-alive connection is kept.", "limits"
    ),
    Setting(
        "heartbeat", _optional_float, "Seconds between WebSocket pings ('off' disables).", "limits"
    ),
    Setting(
        "send_timeout",
        float,
        "Seconds a client may take to accept one message before it is disconnected.",
        "limits",
    ),
    Setting(
        "max_message_bytes", int, "Largest message accepted from a WebSocket client.", "limits"
    ),
    Setting(
        "max_clients",
        int,
        "Most simultaneous live connections; more are refused with 503.",
        "limits",
    ),
    Setting("max_ingest_bytes", int, "Largest image body accepted by POST /api/frames.", "limits"),
    Setting(
        "max_clients_per_address",
        int,
        "Most simultaneous live connections from one client address; more are refused with 503.",
        "limits",
    ),
    Setting(
        "max_image_pixels",
        int,
        "Largest image (width x height) accepted from any input; checked in the file header "
        "before decoding, refused with 413 over HTTP.",
        "limits",
    ),
    Setting(
        "max_metadata_bytes",
        int,
        "Largest metadata accepted with one image (as JSON text).",
        "limits",
    ),
    Setting(
        "max_metadata_depth",
        int,
        "Deepest nesting of lists and objects accepted in metadata and control messages.",
        "limits",
    ),
    Setting(
        "max_uploads",
        int,
        "Most image uploads (POST /api/frames) received at once; more are refused with 503.",
        "limits",
    ),
    Setting(
        "body_timeout",
        float,
        "Seconds a client may take to send a whole request body before it is refused (408).",
        "limits",
    ),
    Setting(
        "handshake_timeout",
        float,
        "Seconds a new HTTPS connection may take to finish its TLS handshake.",
        "limits",
    ),
    Setting(
        "watch",
        _optional_path,
        "Publish every new image file that appears in this folder.",
        "sources",
    ),
    Setting(
        "existing",
        parse_bool,
        "With --watch, also publish the files already there at start.",
        "sources",
        flag=True,
    ),
    Setting(
        "zmq", _optional_str, "Connect to a bsread camera stream, e.g. tcp://host:9999.", "sources"
    ),
    Setting("zmq_mode", str, "ZeroMQ socket type for --zmq.", "sources", choices=ZMQ_MODES),
    Setting(
        "zmq_image_channel",
        _optional_str,
        "bsread channel holding the image (default: the first 2-D channel).",
        "sources",
    ),
    Setting(
        "simulate",
        parse_bool,
        "Publish a built-in simulated camera (moving Gaussian beam).",
        "sources",
        flag=True,
    ),
    Setting("simulate_rate", float, "Frames per second of --simulate.", "sources"),
)


def default_of(name: str) -> Any:
    """The default value of a setting."""
    for f in dataclasses.fields(Settings):
        if f.name == name:
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            return f.default
    raise KeyError(name)


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read ``FRAMECAST_*`` variables into keyword arguments for :class:`Settings`."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        if raw is None:
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.env}={raw!r} is not valid: {exc}") from None
    return values
