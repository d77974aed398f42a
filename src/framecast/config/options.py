"""How an option is declared once and read from a flag or an environment variable.

A settings dataclass (:class:`framecast.config.settings.Settings` and its siblings) gives each field
``metadata=option(help=…, …)``; :func:`table` reads the fields back as :class:`Setting` rows
(name, type, default, help, group, flag, variable), and :func:`load` builds the dataclass once
from command-line text over the environment. Pure: no I/O beyond reading ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from framecast.errors import ConfigError, spell

__all__ = [
    "ENV_PREFIX",
    "Setting",
    "check_declared",
    "load",
    "option",
    "parse_bool",
    "read_env",
    "split_list",
    "table",
]

ENV_PREFIX = "FRAMECAST_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_NONE = {"", "none", "off"}
_META = "framecast"


def parse_bool(text: str) -> bool:
    """Parse ``1/0``, ``true/false``, ``yes/no``, ``on/off`` (any case)."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected 1/0, true/false or yes/no, got {text!r}")


def split_list(text: str) -> tuple[str, ...]:
    """``"a, b,"`` → ``("a", "b")``: a comma-separated list, blanks dropped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _path(text: str) -> Path:
    return Path(text).expanduser()


# How text from the command line or the environment becomes each type, and what to ask for.
_PARSERS: dict[Any, tuple[Callable[[str], Any], str]] = {
    int: (lambda text: int(text.strip()), "a whole number"),
    float: (lambda text: float(text.strip()), "a number"),
    str: (str, "text"),
    bool: (parse_bool, "1/0, true/false, yes/no or on/off"),
    Path: (_path, "a path"),
    tuple[str, ...]: (split_list, "comma-separated values"),
}


@dataclass(frozen=True)
class _Declared:
    """What :func:`option` records on a field, beyond its name, type and default."""

    help: str
    group: str
    short: str | None
    choices: tuple[str, ...] | None
    expects: str | None
    flag: bool
    count: bool
    secret: bool
    at_least: float | None
    above: float | None
    at_most: float | None
    env: str | None
    env_aliases: tuple[str, ...]


def option(
    *,
    help: str,
    group: str = "server",
    short: str | None = None,
    choices: tuple[str, ...] | None = None,
    expects: str | None = None,
    flag: bool = False,
    count: bool = False,
    secret: bool = False,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
    env: str | None = None,
    env_aliases: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Describe a dataclass field as an option: ``field(default=…, metadata=option(…))``.

    ``expects`` says in words what a valid value is (shown when a flag or variable cannot be
    read); by default it comes from the type. ``flag`` makes a boolean a switch
    (``--simulate``), ``count`` an integer counted by repeats (``-vv``); ``secret`` values
    are never shown. ``choices`` and the bounds (``at_least``, ``above``: more than,
    ``at_most``) are checked by :func:`check_declared` whichever way the value came.
    ``env`` names the variable when it is not the field's name (after ``FRAMECAST_``);
    ``env_aliases`` are other names it is read from too, when it is not set (earlier
    spellings, documented as such).
    """
    declared = _Declared(
        help,
        group,
        short,
        choices,
        expects,
        flag,
        count,
        secret,
        at_least,
        above,
        at_most,
        env,
        env_aliases,
    )
    return {_META: declared}


@dataclass(frozen=True)
class Setting:
    """One row of a settings table, read from a field declared with :func:`option`."""

    name: str
    type: Any
    default: Any
    help: str
    group: str
    env: str
    expects: str
    parse_text: Callable[[str], Any]
    optional: bool
    choices: tuple[str, ...] | None = None
    short: str | None = None
    flag: bool = False  # a boolean switch on the command line
    count: bool = False  # an integer counted by repeating the flag (-vv)
    secret: bool = False  # never logged or shown
    at_least: float | None = None
    above: float | None = None  # the value must be more than this
    at_most: float | None = None
    env_aliases: tuple[str, ...] = ()  # read too when ``env`` is not set (earlier names)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        """Turn text into a value, or raise ``ValueError`` saying what is expected."""
        numeric = self.type in (int | None, float | None)
        if self.optional and (text == "" or (numeric and text.strip().lower() in _NONE)):
            return None
        if self.choices is not None and text not in self.choices:
            raise ValueError(f"expected {self.expects}")
        try:
            return self.parse_text(text)
        except ValueError:
            raise ValueError(f"expected {self.expects}") from None

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` by the declaration (its choices and bounds), in one
        line naming the option as the caller wrote it; ``None`` when nothing is."""
        if value is None and self.optional:
            return None
        if self.choices is not None and value not in self.choices:
            what = self.name.replace("_", " ")
            return f"{what} {value!r} is unknown; give {spell(self.name)} {_either(self.choices)}"
        if self.at_least is None and self.above is None and self.at_most is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{spell(self.name)} must be a number, got {value!r}"
        low, high = self.at_least, self.at_most
        if low is not None and high is not None and not low <= value <= high:
            return f"{spell(self.name, value)} is out of range; give {self.expects}"
        if self.above is not None and value <= self.above:
            more = "positive" if self.above == 0 else f"more than {self.above:g}"
            return f"{spell(self.name)} must be {more}, got {value}"
        if low is not None and value < low:
            least = "0 or more" if low == 0 else f"at least {low:g}"
            return f"{spell(self.name)} must be {least}, got {value}"
        if high is not None and value > high:
            return f"{spell(self.name)} must be at most {high:g}, got {value}"
        return None

    def read(self, text: str, source: str) -> Any:
        """:meth:`parse`, with a :class:`ConfigError` naming ``source`` (a flag or variable)."""
        try:
            return self.parse(text)
        except ValueError as exc:
            raise ConfigError(f"invalid value {text!r} for {source}: {exc}") from None


def _either(choices: tuple[str, ...]) -> str:
    """``a, b or c``."""
    return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"


def _row(f: dataclasses.Field[Any], hint: Any, prefix: str) -> Setting:
    declared = f.metadata.get(_META)
    if not isinstance(declared, _Declared):
        raise TypeError(f"field {f.name!r} is not declared with option()")
    args = typing.get_args(hint)
    optional = isinstance(hint, types.UnionType) and type(None) in args
    base = next(a for a in args if a is not type(None)) if optional else hint
    parse, expects = _PARSERS[base]
    if declared.choices is not None:
        expects = "one of " + ", ".join(declared.choices)
    if optional and not declared.flag:
        expects += " (or 'off' for none)" if base in (int, float) else " (empty for none)"
    return Setting(
        name=f.name,
        type=hint,
        default=f.default,
        help=declared.help,
        group=declared.group,
        env=prefix + (declared.env or f.name.upper()),
        expects=declared.expects or expects,
        parse_text=parse,
        optional=optional,
        choices=declared.choices,
        short=declared.short,
        flag=declared.flag,
        count=declared.count,
        secret=declared.secret,
        at_least=declared.at_least,
        above=declared.above,
        at_most=declared.at_most,
        env_aliases=tuple(prefix + alias for alias in declared.env_aliases),
    )


#: The table of each settings class, read once (classes, never values, are kept here).
_TABLES: dict[type[Any], tuple[Setting, ...]] = {}


def table(cls: type[Any]) -> tuple[Setting, ...]:
    """The rows of a settings dataclass, in declaration order."""
    rows = _TABLES.get(cls)
    if rows is None:
        hints = typing.get_type_hints(cls)
        prefix: str = getattr(cls, "ENV_PREFIX", ENV_PREFIX)
        rows = tuple(_row(f, hints[f.name], prefix) for f in dataclasses.fields(cls))
        _TABLES[cls] = rows
    return rows


def check_declared(settings: Any) -> None:
    """Raise :class:`ConfigError` for the first value of a settings object outside its
    declared choices or bounds (the message names the option as the caller wrote it)."""
    for row in table(type(settings)):
        problem = row.problem(getattr(settings, row.name))
        if problem is not None:
            raise ConfigError(problem)


_T = TypeVar("_T")


def read_env(rows: tuple[Setting, ...], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the rows' ``FRAMECAST_*`` variables into keyword arguments for their dataclass."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for row in rows:
        name = next((n for n in (row.env, *row.env_aliases) if n in environ), None)
        if name is not None:
            values[row.name] = row.read(environ[name], name)
    return values


def load(
    cls: type[_T],
    given: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    *,
    base: Mapping[str, Any] | None = None,
) -> _T:
    """Build ``cls`` once from command-line values (``given``) over the environment, over
    ``base`` (values already read, e.g. from a config file).

    ``given`` maps names to what the command line held: text to parse, ``True`` for a switch,
    a count, or ``None`` when absent. Errors name the flag or the variable and what it expects.
    """
    rows = table(cls)
    values = {**(base or {}), **read_env(rows, environ)}
    for row in rows:
        raw = given.get(row.name)
        if raw is None:
            continue
        values[row.name] = row.read(raw, row.option) if isinstance(raw, str) else raw
    return cls(**values)
