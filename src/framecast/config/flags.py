"""Command-line flags from a settings table: one flag per row, with its short form, its
choices, its default and its ``FRAMECAST_*`` variable in the help (docs/settings.md).

Values stay text: :func:`~framecast.config.options.load` reads them, with the environment, into
the settings object in one go, so a bad value is reported the same from a flag or a variable.
Every command of ``framecast`` that takes settings (``serve``, ``simulate``, ``push``,
``command``) builds its flags here.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from typing import Any

from framecast.config.options import Setting

__all__ = ["add_flags"]


def add_flags(
    parser: argparse.ArgumentParser,
    rows: Iterable[Setting],
    *,
    inherited: str = "",
    repeated: Mapping[str, tuple[str, str]] | None = None,
) -> None:
    """One flag per row of ``rows`` on ``parser``, its help showing the default and the
    environment variable; absent, a flag leaves ``None`` (the environment then decides). The
    ``inherited`` option is also on the main parser: absent here, it keeps that value.
    ``repeated`` names the options that may be given several times, each with its metavar and
    the help that says so (``--watch NAME=DIR`` per stream, docs/streams.md).
    """
    repeated = repeated or {}
    groups: dict[str, Any] = {}
    for row in rows:
        group = groups.get(row.group)
        if group is None:
            group = groups[row.group] = parser.add_argument_group(row.group)
        names = ([row.short] if row.short else []) + [row.option]
        shown = (
            "" if row.secret or row.default in (None, False, ()) else f" [default: {row.default}]"
        )
        help_text = f"{row.help}{shown} (env {row.env})"
        default = argparse.SUPPRESS if row.name == inherited else None
        if row.name in repeated:
            metavar, more = repeated[row.name]
            group.add_argument(
                *names,
                dest=row.name,
                action="append",
                nargs="?" if row.flag else None,
                const="default" if row.flag else None,
                default=None,
                metavar=metavar,
                help=help_text.replace(" (env", more + " (env", 1),
            )
        elif row.count:
            group.add_argument(
                *names, dest=row.name, action="count", default=default, help=help_text
            )
        elif row.flag:
            group.add_argument(
                *names,
                dest=row.name,
                action="store_const",
                const=True,
                default=default,
                help=help_text,
            )
        else:
            group.add_argument(
                *names,
                dest=row.name,
                default=default,
                choices=row.choices,
                metavar=row.name.split("_")[-1].upper(),
                help=help_text,
            )
