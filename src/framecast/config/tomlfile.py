"""``framecast serve --config FILE``: settings and per-stream sources from a TOML file.

The file's top-level keys are the settings' own names (``port``, ``token``, ``max_streams``,
…; see ``docs/settings.md``), and each ``[streams.NAME]`` table gives stream ``NAME`` its
sources with the keys of :data:`~framecast.config.settings.SOURCE_KEYS`::

    port = 8000
    [streams.cam1]
    zmq = "tcp://camera-1:9999"
    zmq_mode = "sub"
    [streams.lab]
    watch = "/data/lab"

``[streams.default]`` is the same as the source keys at the top level. Flags win over the
environment, which wins over the file (:func:`framecast.config.options.load` layers them). Every
problem — a file that cannot be read, TOML syntax, an unknown key, a bad value, an invalid
stream name — is one :class:`~framecast.errors.ConfigError` line naming the file and the key.
Pure: reads the one file, nothing else.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framecast.config.settings import SETTINGS, SOURCE_KEYS, Setting, Settings
from framecast.config.streamname import DEFAULT_STREAM, check_name
from framecast.errors import ConfigError, spelling, suggest

__all__ = ["ConfigFile", "read_config_file"]

_ROWS = {row.name: row for row in SETTINGS}


@dataclass(frozen=True)
class ConfigFile:
    """What a config file holds: top-level settings (typed values) and each named stream's
    source settings."""

    path: Path
    settings: dict[str, Any] = field(default_factory=dict)
    streams: dict[str, dict[str, Any]] = field(default_factory=dict)


def _text(value: Any) -> str | None:
    """A TOML value as the text a flag would carry (None: not a kind a setting takes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    return None


def _value(row: Setting, value: Any, where: str) -> Any:
    text = _text(value)
    if text is None:
        raise ConfigError(
            f"{where}: invalid value {value!r} for {row.name}: expected {row.expects}"
        )
    try:
        return row.parse(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid value {value!r} for {row.name}: {exc}") from None


def _unknown(key: str, where: str, known: tuple[str, ...] | list[str]) -> ConfigError:
    """An unknown key, with the closest known ones (``prot`` → did you mean ``port``?)."""
    return ConfigError(f"{where}: unknown key {key!r}; {suggest(key, known)}")


def _stream_table(name: str, table: Any, path: Path) -> dict[str, Any]:
    where = f"{path} [streams.{name}]"
    try:
        check_name(name)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(table, dict):
        raise ConfigError(f'{where}: must be a table of source settings, e.g. zmq = "tcp://…"')
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in SOURCE_KEYS:
            raise _unknown(key, where, SOURCE_KEYS)
        values[key] = _value(_ROWS[key], value, where)
    if name != DEFAULT_STREAM:
        try:
            Settings().for_stream(**values)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return values


def read_config_file(path: Path) -> ConfigFile:
    """Read and check ``path``; :class:`ConfigError` (one line, naming file and key) if it
    cannot be used. Its messages name options as the file's keys (``port = 0``)."""
    with spelling("key"):
        return _read(path)


def _read(path: Path) -> ConfigFile:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(
            f"cannot read the config file {str(path)!r}: {exc.strerror or exc}; check --config"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}; fix the file") from None
    where = str(path)
    settings: dict[str, Any] = {}
    streams: dict[str, dict[str, Any]] = {}
    for key, value in document.items():
        if key == "streams":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: 'streams' must be tables, e.g. [streams.cam1]")
            for name, table in value.items():
                streams[name] = _stream_table(name, table, path)
        elif key in _ROWS:
            settings[key] = _value(_ROWS[key], value, where)
        else:
            raise _unknown(key, where, [*_ROWS, "streams"])
    for key, value in streams.pop(DEFAULT_STREAM, {}).items():
        settings.setdefault(key, value)
    try:
        Settings.build(**settings)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return ConfigFile(path=path, settings=settings, streams=streams)
