"""The settings table: validation, environment variables, documentation parity."""

from __future__ import annotations

from pathlib import Path

import pytest

from framecast.config import SETTINGS, Settings, settings_from_env
from framecast.errors import ConfigError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


@pytest.mark.parametrize("port", [1, 80, 1023, 65536, -1, 100000])
def test_ports_outside_the_range_are_rejected(port: int) -> None:
    """Ports outside 1024-65535 (other than 0) are refused with the fix in the message."""
    with pytest.raises(ConfigError, match=r"out of range.*--port"):
        Settings(port=port)


@pytest.mark.parametrize("port", [0, 1024, 8000, 65535])
def test_ports_in_range_are_accepted(port: int) -> None:
    """Port 0 (any free port) and 1024-65535 are fine."""
    assert Settings(port=port).port == port


def test_unknown_option_names_the_option() -> None:
    """A misspelt keyword is an error naming it."""
    with pytest.raises(ConfigError, match="'prot'"):
        Settings.build(prot=8000)


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
        ({"displayed_address": "lan"}, "auto or ip:"),
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
    """docs/settings.md lists every option with its environment variable."""
    text = DOCS.read_text()
    for setting in SETTINGS:
        assert setting.option in text, f"{setting.option} missing from docs/settings.md"
        assert setting.env in text, f"{setting.env} missing from docs/settings.md"


def test_every_setting_field_is_in_the_table() -> None:
    """The table and the dataclass name the same options."""
    assert {s.name for s in SETTINGS} == set(Settings.__dataclass_fields__)
