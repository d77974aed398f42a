"""The settings table: validation, environment variables, documentation parity."""

from __future__ import annotations

import dataclasses
import os
import runpy
import subprocess
import sys
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import framecast
from framecast import ImageServer
from framecast.config.console import ConsoleSettings, SimulateSettings
from framecast.config.settings import (
    SETTINGS,
    ServerOptions,
    Setting,
    Settings,
    load,
    settings_from_env,
    table,
)
from framecast.errors import ConfigError
from framecast.remote.push import PushSettings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
KEYWORDS = Path(framecast.__file__).parent / "config" / "keywords.py"


@pytest.mark.parametrize("port", [1, 80, 1023, 65536, -1, 100000])
def test_ports_outside_the_range_are_rejected(port: int) -> None:
    """Ports outside 1024-65535 (other than 0) are refused with the fix in the message, in the
    Python API's words (port=, port=0), never the command line's --port."""
    with pytest.raises(ConfigError, match=r"out of range.*with port= \(or port=0 ") as caught:
        Settings(port=port)
    assert "--" not in str(caught.value)


@pytest.mark.parametrize(
    ("options", "keyword"),
    [
        ({"jpeg_quality": 200}, "jpeg_quality=200"),
        ({"max_clients": 0}, "max_clients="),
        ({"send_timeout": -1.0}, "send_timeout="),
        ({"host": "not a host"}, "host='0.0.0.0'"),
        ({"broker": "http://redis"}, "broker="),
        ({"max_web_size": 4}, "max_web_size="),
    ],
)
def test_python_api_errors_name_the_keyword(options: dict[str, Any], keyword: str) -> None:
    """A bad keyword argument's error names the keyword as it is written in Python (and the
    value a fix needs), not the command line's flag."""
    with pytest.raises(ConfigError) as caught:
        ImageServer(**options)
    assert keyword in str(caught.value) and "--" not in str(caught.value), caught.value


def test_a_bad_colormap_is_refused_when_the_server_is_made(tmp_path: Path) -> None:
    """ImageServer(colormap="nope") raises at construction (not at start()), naming the
    keyword and the colormaps there are."""
    with pytest.raises(
        ConfigError, match=r"colormap 'nope' is unknown; give colormap= one of .*viridis"
    ):
        ImageServer(work_folder=tmp_path, colormap="nope")
    assert not tmp_path.joinpath("index.html").exists(), "nothing was prepared"


@pytest.mark.parametrize("port", [0, 1024, 8000, 65535])
def test_ports_in_range_are_accepted(port: int) -> None:
    """Port 0 (any free port) and 1024-65535 are fine."""
    assert Settings(port=port).port == port


def test_unknown_option_names_the_option() -> None:
    """A misspelt keyword is an error naming it and the keyword meant, not all 46."""
    with pytest.raises(ConfigError, match=r"'prot'; did you mean port=\?") as caught:
        Settings.build(prot=8000)
    assert "work_folder" not in str(caught.value)
    with pytest.raises(ConfigError, match="'max_client'; did you mean max_clients="):
        ImageServer(max_client=5)  # type: ignore[call-arg]


def test_environment_variables_set_options() -> None:
    """FRAMECAST_* variables are read with the table's parsers, booleans included."""
    values = settings_from_env(
        {"FRAMECAST_PORT": "9001", "FRAMECAST_WORK_FOLDER": "/tmp/x", "FRAMECAST_EXISTING": "yes"}
    )
    assert values == {"port": 9001, "work_folder": Path("/tmp/x"), "existing": True}


def test_bad_environment_value_is_a_clear_error() -> None:
    """A malformed variable names itself."""
    with pytest.raises(ConfigError, match="FRAMECAST_PORT"):
        settings_from_env({"FRAMECAST_PORT": "eighty"})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"displayed_address": "lan"}, "auto, ip:<address> or the URL viewers open"),
        ({"displayed_address": "ip:"}, "ip: needs an address"),
        ({"displayed_address": "ftp://cam.example.org/"}, "needs http:// or https://"),
        ({"displayed_address": "https://cam.example.org/?x=1"}, "no user name, \\?query"),
        ({"displayed_address": "https://cam.example.org:99999/"}, "a bad port"),
        ({"certfile": "/nonexistent.pem", "keyfile": "/nonexistent.key"}, "does not exist"),
        ({"certfile": "/nonexistent.pem"}, "both"),
        ({"stretch": "log"}, "stretch"),
        ({"zmq_mode": "req"}, "pull or sub"),
    ],
)
def test_invalid_values_are_explained(options: dict[str, object], message: str) -> None:
    """Each unusable value gets a message naming the fix."""
    with pytest.raises(ConfigError, match=message):
        Settings.build(**options)


def test_missing_watch_folder_is_an_error(tmp_path: Path) -> None:
    """--watch on a folder that does not exist fails before the server starts."""
    with pytest.raises(ConfigError, match="does not exist"):
        Settings(watch=tmp_path / "nope")


def test_every_setting_is_documented() -> None:
    """docs/settings.md lists every option with its environment variable, `framecast push`'s
    included."""
    text = DOCS.read_text()
    for setting in (*SETTINGS, *table(PushSettings)):
        assert setting.option in text, f"{setting.option} missing from docs/settings.md"
        assert setting.env in text, f"{setting.env} missing from docs/settings.md"


def test_every_setting_field_is_in_the_table() -> None:
    """The table and the dataclass name the same options."""
    assert {s.name for s in SETTINGS} == set(Settings.__dataclass_fields__)


# -- one declaration per setting ---------------------------------------------------------------


def test_docs_are_generated_from_the_declarations() -> None:
    """docs/settings.md and config/keywords.py are exactly what scripts/settings-doc writes
    from the settings today (its --check passes)."""
    script = DOCS.parents[1] / "scripts" / "settings-doc"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("cls", [Settings, ConsoleSettings, SimulateSettings])
def test_every_field_is_a_declared_option(cls: type[object]) -> None:
    """Each settings dataclass field has its row: help, group, flag and variable."""
    rows = table(cls)
    assert [r.name for r in rows] == [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for row in rows:
        assert row.help and row.group and row.expects
        assert row.option == "--" + row.name.replace("_", "-")
        assert row.env.startswith("FRAMECAST_")
        assert any(n.endswith(row.name.upper()) for n in (row.env, *row.env_aliases))


@pytest.mark.parametrize(
    "rows",
    [
        (*table(Settings), *table(ConsoleSettings)),
        (*table(SimulateSettings), *table(ConsoleSettings)),
    ],
    ids=["serve", "simulate"],
)
def test_one_command_never_reads_a_variable_or_flag_twice(rows: tuple[Setting, ...]) -> None:
    """Within one subcommand, every flag, short flag and variable belongs to one option."""
    names = [r.env for r in rows] + [a for r in rows for a in r.env_aliases]
    names += [r.option for r in rows] + [r.short for r in rows if r.short]
    assert len(names) == len(set(names))


def _accepted(hint: Any) -> set[Any]:
    """What a keyword of ImageServer accepts for a field of this type (the documented widening)."""
    args = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) else {hint}
    if Path in args:
        args = (args - {Path}) | {str, os.PathLike[str]}
    if tuple[str, ...] in args:
        args = (args - {tuple[str, ...]}) | {str, Iterable[str]}
    return args


def test_server_keywords_match_the_settings_fields() -> None:
    """ServerOptions (ImageServer's typed keywords) has each field, with its type, and no more."""
    keywords = typing.get_type_hints(ServerOptions)
    fields = typing.get_type_hints(Settings)
    assert list(keywords) == [f.name for f in dataclasses.fields(Settings)]
    for name, hint in keywords.items():
        given = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) else {hint}
        assert given == _accepted(fields[name]), name
    assert ServerOptions.__total__ is False


def test_mypy_sees_image_server_keywords(tmp_path: Path) -> None:
    """mypy flags ImageServer(port="x") and ImageServer(prot=8000), and accepts good calls."""
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "from pathlib import Path\n"
        "from framecast import ImageServer, Settings\n"
        'ImageServer(work_folder="w", port=0, allowed_origins=["https://a.example"])\n'
        'ImageServer(Settings(port=0), watch=Path("w"), heartbeat=None, token="t")\n'
        'ImageServer(port="x")\n'
        "ImageServer(prot=8000)\n"
    )
    package_root = Path(framecast.__file__).resolve().parents[1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--hide-error-context",
            "--follow-imports=silent",  # judge the snippet, not framecast's own imports
            "--cache-dir",
            str(tmp_path / "cache"),
            snippet.name,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(package_root)},
        timeout=110,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(errors) == 2, done.stdout
    assert errors[0].startswith("snippet.py:5:") and errors[0].endswith("[arg-type]")
    assert '"port"' in errors[0]
    assert errors[1].startswith("snippet.py:6:") and errors[1].endswith("[call-arg]")
    assert '"prot"' in errors[1]


# -- reading values from flags and the environment ---------------------------------------------


def test_flags_win_over_the_environment() -> None:
    """load() reads text flags over FRAMECAST_* variables into one settings object."""
    settings = load(
        Settings,
        {"port": "9001", "simulate": True, "colormap": None},
        {"FRAMECAST_PORT": "9002", "FRAMECAST_COLORMAP": "magma", "FRAMECAST_HEARTBEAT": "off"},
    )
    assert (settings.port, settings.simulate, settings.colormap) == (9001, True, "magma")
    assert settings.heartbeat is None


@pytest.mark.parametrize(
    ("cls", "environ", "expected"),
    [
        (
            ConsoleSettings,
            {"FRAMECAST_VERBOSE": "2", "FRAMECAST_NO_QR": "yes"},
            {"verbose": 2, "no_qr": True},
        ),
        (
            SimulateSettings,
            {"FRAMECAST_SIMULATE_PORT": "9999", "FRAMECAST_SIMULATE_MODE": "pub"},
            {"port": 9999, "mode": "pub"},
        ),
    ],
)
def test_command_options_have_variables(
    cls: type[Any], environ: dict[str, str], expected: dict[str, object]
) -> None:
    """-v, --no-qr and the simulate options are read from the environment too (docs/settings.md)."""
    loaded = load(cls, {}, environ)
    assert {name: getattr(loaded, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"FRAMECAST_PORT": "abc"}, "FRAMECAST_PORT: expected a whole number from 1024 to 65535"),
        ({"FRAMECAST_MAX_FILE_RATE": "fast"}, "FRAMECAST_MAX_FILE_RATE: expected a number"),
        ({"FRAMECAST_EXISTING": "maybe"}, "FRAMECAST_EXISTING: expected 1/0, true/false"),
        ({"FRAMECAST_STRETCH": "log"}, "FRAMECAST_STRETCH: expected one of auto, midtones, none"),
        ({"FRAMECAST_HEARTBEAT": "often"}, "FRAMECAST_HEARTBEAT: expected a number (or 'off'"),
    ],
)
def test_unreadable_values_say_what_is_expected(environ: dict[str, str], message: str) -> None:
    """A variable that cannot be read names itself and the kind of value wanted, not Python's."""
    with pytest.raises(ConfigError) as caught:
        load(Settings, {}, environ)
    assert message in str(caught.value)
    assert "literal" not in str(caught.value)


def test_a_token_is_never_taken_for_off() -> None:
    """Text options keep words like 'off' and 'none': only numbers can be switched off."""
    settings = load(Settings, {"token": "off", "colormap": "none"}, {})
    assert (settings.token, settings.colormap) == ("off", "none")


def test_watching_a_file_says_it_is_not_a_folder(tmp_path: Path) -> None:
    """--watch on a file is refused as not a folder (not as missing)."""
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="is not a folder") as caught:
        Settings(watch=tmp_path / "notes.txt")
    assert "does not exist" not in str(caught.value)


def test_settings_object_is_used_as_given(tmp_path: Path) -> None:
    """ImageServer(settings) keeps that object; keywords beside it give a checked copy."""
    settings = Settings(work_folder=tmp_path, port=0)
    assert ImageServer(settings).settings is settings
    changed = ImageServer(settings, token="op").settings
    assert (changed.token, changed.work_folder, settings.token) == ("op", tmp_path, None)
    with pytest.raises(ConfigError, match="'prot'"):
        settings.replace(prot=1)  # type: ignore[typeddict-unknown-key]
    with pytest.raises(ConfigError, match="out of range"):
        ImageServer(settings, port=80)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": 0}, "out of range"),
        ({"rate": 0}, "rate= must be positive"),
        ({"count": 0}, "count= must be at least 1"),
        ({"mode": "req"}, "push or pub"),
    ],
)
def test_simulate_values_are_checked(options: dict[str, Any], message: str) -> None:
    """framecast simulate's options are checked where they are declared."""
    with pytest.raises(ConfigError, match=message):
        SimulateSettings(**options)


# -- bounds and choices live in the declaration ----------------------------------------------


def test_every_limit_declares_its_lowest_value() -> None:
    """Every ``max_*`` limit and every timeout declares its lowest value beside its help, so
    a limit added to the table is checked without a second edit elsewhere."""
    limits = [r for r in SETTINGS if r.name.startswith("max_") or r.name.endswith("_timeout")]
    assert len(limits) > 20
    assert [r.name for r in limits if r.at_least is None and r.above is None] == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"heartbeat": 0}, "heartbeat= must be positive, got 0"),
        ({"max_clients": "10"}, "max_clients= must be a number, got '10'"),
        ({"jpeg_quality": 0}, "jpeg_quality=0 is out of range; give a whole number from 1 to 100"),
        ({"max_history_bytes": -1}, "max_history_bytes= must be 0 or more, got -1"),
        ({"stretch": "log"}, "stretch 'log' is unknown; give stretch= auto, midtones or none"),
    ],
)
def test_declared_bounds_and_choices_are_checked(options: dict[str, Any], message: str) -> None:
    """A value outside its declared bounds or choices is refused with one line naming the
    keyword and what to give (a zero heartbeat and a number given as text included)."""
    with pytest.raises(ConfigError) as caught:
        Settings.build(**options)
    assert str(caught.value) == message


def test_keywords_are_generated_from_the_declarations() -> None:
    """ImageServer's typed keywords (config/keywords.py) are written by scripts/settings-doc
    from the table, so a new setting needs no second edit: the file is its output exactly."""
    script = runpy.run_path(str(DOCS.parents[1] / "scripts" / "settings-doc"))
    assert script["render_keywords"]() == KEYWORDS.read_text()
    assert "    max_clients: int\n" in KEYWORDS.read_text()


def test_the_old_cache_budgets_are_read_once_with_a_warning() -> None:
    """max_tile_cache_bytes (and its two siblings) still work for one release: given, they
    make max_frame_cache_bytes (with the old defaults of the others) and a FutureWarning says
    which option to give instead; a copy of those settings does not warn again."""
    with pytest.warns(FutureWarning) as caught:
        settings = Settings.build(max_tile_cache_bytes=0)
    total = (128 + 256) * 1024 * 1024
    assert str(caught[0].message) == (
        "max_tile_cache_bytes=: deprecated, tiles, answers and decoded pixels now share one "
        f"budget; give max_frame_cache_bytes={total} instead (used for this run)"
    )
    assert settings.max_frame_cache_bytes == total and settings.max_tile_cache_bytes is None
    assert settings.replace(port=0).max_frame_cache_bytes == total  # no second warning
    assert Settings().max_frame_cache_bytes == 448 * 1024 * 1024


def test_an_earlier_variable_name_is_still_read() -> None:
    """FRAMECAST_ALERTS, the earlier name of FRAMECAST_ALERT, still gives the rules; when both
    are set, the documented name wins."""
    assert settings_from_env({"FRAMECAST_ALERTS": "t>1,u<2"}) == {"alerts": ("t>1", "u<2")}
    both = {"FRAMECAST_ALERT": "t>1", "FRAMECAST_ALERTS": "u<2"}
    assert settings_from_env(both) == {"alerts": ("t>1",)}
