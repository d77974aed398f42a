"""The one settings object shared by the CLI, the environment and the Python API.

Each option is declared once, as a field described by :func:`~framecast.config.options.option`
(name, type, default, help text, group and command-line details) in the module of its area:
:mod:`~framecast.config.serving` (folders, address, TLS, tokens), :mod:`~framecast.config.imagery`
(the web image, history), :mod:`~framecast.config.limits` (limits and timeouts) and
:mod:`~framecast.config.feeds` (broker, sources). :class:`Settings` is made of those areas and
holds what is checked and derived across them. From the one declaration come the ``framecast
serve`` flags, the ``FRAMECAST_*`` environment variables, the keyword arguments of
``ImageServer`` and ``docs/settings.md`` (:data:`SETTINGS` is the table read from the fields;
tests keep the docs and :class:`ServerOptions` in step). The ``framecast`` command's own options
(:class:`ConsoleSettings`) and the ``framecast simulate`` sender (:class:`SimulateSettings`) are
declared the same way.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack

from framecast.config.alertsettings import AlertSettings
from framecast.config.feeds import SOURCE_KEYS, FeedSettings
from framecast.config.imagery import STRETCHES, ImagerySettings
from framecast.config.keywords import ServerOptions, StreamOptions
from framecast.config.limits import LimitSettings
from framecast.config.options import (
    Setting,
    check_declared,
    load,
    option,
    parse_bool,
    read_env,
    split_list,
    table,
)
from framecast.config.serving import ServingSettings
from framecast.errors import ConfigError, spell, suggest
from framecast.network.address import check_displayed_address
from framecast.network.clientaddress import parse_networks

__all__ = [
    "SETTINGS",
    "SOURCE_KEYS",
    "STRETCHES",
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

#: The per-kind cache budgets of earlier releases and their old defaults: accepted for one
#: release as parts of ``max_frame_cache_bytes`` (docs/reliability.md).
CACHE_ALIASES = {
    "max_tile_cache_bytes": 64 * 1024 * 1024,
    "max_answer_cache_bytes": 128 * 1024 * 1024,
    "max_decoded_cache_bytes": 256 * 1024 * 1024,
}
_BROKER_SCHEMES = ("redis://", "rediss://", "unix://")
_NAMESPACE = re.compile(r"[A-Za-z0-9._-]{1,64}")


# The areas in reverse: a dataclass lists its bases' fields from the last base to the first, so
# the table (flags, docs) reads serving, imagery, limits, feeds, alerts.
@dataclass(frozen=True)
class Settings(AlertSettings, FeedSettings, LimitSettings, ImagerySettings, ServingSettings):
    """Every option of a framecast server. Build with keywords; unknown names are errors."""

    def __post_init__(self) -> None:
        # Normalise the types a Python caller may reasonably pass (str for paths, list for tuples).
        for name in ("work_folder", "web_folder", "certfile", "keyfile", "watch"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value).expanduser())
        for name in ("allowed_origins", "trusted_proxies", "alerts", "alert_webhooks"):
            value = getattr(self, name)
            listed = split_list(value) if isinstance(value, str) else tuple(value)
            object.__setattr__(self, name, listed)
        self.validate()
        self._fold_cache_aliases()

    def _fold_cache_aliases(self) -> None:
        """The three per-kind cache budgets of earlier releases, given, become the one
        ``max_frame_cache_bytes`` (their sum, an old default standing for each not given),
        with a warning that names the option to use; they are then forgotten, so a copy
        (:meth:`replace`, :meth:`for_stream`) does not warn again."""
        given = {name: getattr(self, name) for name in CACHE_ALIASES}
        given = {name: value for name, value in given.items() if value is not None}
        if not given:
            return
        total = sum(given.get(name, old) for name, old in CACHE_ALIASES.items())
        names = " and ".join(spell(name) for name in given)
        warnings.warn(
            f"{names}: deprecated, tiles, answers and decoded pixels now share one budget; "
            f"give {spell('max_frame_cache_bytes', total)} instead (used for this run)",
            FutureWarning,
            stacklevel=4,
        )
        object.__setattr__(self, "max_frame_cache_bytes", total)
        for name in given:
            object.__setattr__(self, name, None)

    # -- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the option and the fix for any unusable value
        (the option as the caller wrote it: ``port=``, ``--port`` or a config file's key).
        Choices and bounds are checked as each setting declares them; what follows is what
        no bound says (a port or 0, an address, files that must exist)."""
        check_declared(self)
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
