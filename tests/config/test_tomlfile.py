"""`framecast serve --config FILE`: the TOML file, its errors, and flags > environment > file."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from framecast.cli import _serve_settings
from framecast.config.tomlfile import read_config_file
from framecast.errors import ConfigError
from tests.conftest import until
from tests.test_cli import start_serve

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "framecast.toml"
    path.write_text(text)
    return path


def test_settings_and_streams_are_read_typed(tmp_path: Path) -> None:
    """Top-level keys become settings (typed as the flags would make them); [streams.NAME]
    tables the streams' sources; [streams.default] is the top level's."""
    lab = tmp_path / "lab"
    lab.mkdir()
    path = write(
        tmp_path,
        f"""
port = 9000
heartbeat = "off"
max_file_rate = 4
allowed_origins = ["https://a.example", "https://b.example"]
[streams.cam1]
zmq = "tcp://camera-1:9999"
zmq_mode = "sub"
[streams.lab]
watch = "{lab}"
existing = true
[streams.default]
simulate = true
""",
    )
    config = read_config_file(path)
    assert config.settings == {
        "port": 9000,
        "heartbeat": None,
        "max_file_rate": 4.0,
        "allowed_origins": ("https://a.example", "https://b.example"),
        "simulate": True,
    }
    assert config.streams == {
        "cam1": {"zmq": "tcp://camera-1:9999", "zmq_mode": "sub"},
        "lab": {"watch": lab, "existing": True},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prot = 8000", "unknown key 'prot'"),
        ("port = 80", "port 80 is out of range"),
        ('port = "abc"', "invalid value 'abc' for port"),
        ("simulate = 3", "invalid value 3 for simulate"),
        ('stretch = "log"', "for stretch: expected one of auto"),
        ("port = [1, 2]", "invalid value [1, 2] for port"),
        ("[streams.cam1]\nport = 8000", "[streams.cam1]: unknown key 'port'"),
        ('[streams.cam1]\nzmq_mode = "dealer"', "[streams.cam1]: invalid value 'dealer'"),
        ('[streams."bad name"]\nsimulate = true', "stream name 'bad name' is not valid"),
        ('[streams.lab]\nwatch = "/nonexistent/folder"', "[streams.lab]: watch folder"),
        ("streams = 3", "'streams' must be tables"),
        ("port = ", "is not valid TOML"),
    ],
)
def test_a_bad_file_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    """Unknown keys, bad values, invalid stream names and bad TOML are refused in one line
    that names the file (and the key)."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        read_config_file(path)
    assert message in str(info.value)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("prot = 8000", "did you mean port?"),
        ("max_client = 5", "did you mean max_clients"),
        ("jpeg_qualty = 90", "did you mean jpeg_quality?"),
        ("[streams.cam1]\nzmq_mod = 'sub'", "did you mean zmq_mode"),
    ],
)
def test_a_misspelt_key_is_answered_with_the_key_meant(
    tmp_path: Path, text: str, meant: str
) -> None:
    """A typo in a key names the closest known keys, not the list of all 46."""
    with pytest.raises(ConfigError) as info:
        read_config_file(write(tmp_path, text))
    assert meant in str(info.value), info.value
    assert "work_folder" not in str(info.value)


def test_values_are_explained_in_the_files_own_words(tmp_path: Path) -> None:
    """A bad value in a config file names the key and the value to write there (port = 0),
    neither the flag nor the keyword."""
    with pytest.raises(ConfigError) as info:
        read_config_file(write(tmp_path, "port = 80\n"))
    text = str(info.value)
    assert "with port (or port = 0 for any free port)" in text, text
    assert "--port" not in text and "port=" not in text


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    """A file that is not there is named, with the flag to fix."""
    with pytest.raises(ConfigError, match=r"cannot read the config file .*--config"):
        read_config_file(tmp_path / "nope.toml")


def test_flags_win_over_the_environment_which_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """port: flag > FRAMECAST_PORT > file; jpeg_quality from the file alone; a stream's source
    from a NAME= flag replaces the file's for that key only."""
    path = write(
        tmp_path,
        "port = 9000\njpeg_quality = 70\nmax_file_rate = 3\n"
        '[streams.cam1]\nzmq = "tcp://file:1"\nzmq_mode = "sub"\n',
    )
    monkeypatch.setenv("FRAMECAST_PORT", "9001")
    monkeypatch.setenv("FRAMECAST_MAX_FILE_RATE", "5")
    given = {"port": "9002", "zmq": ["cam1=tcp://flag:2", "tcp://default:3"], "simulate": None}
    settings, streams = _serve_settings(given, path)
    assert (settings.port, settings.max_file_rate, settings.jpeg_quality) == (9002, 5.0, 70)
    assert settings.zmq == "tcp://default:3"
    assert streams == {"cam1": {"zmq": "tcp://flag:2", "zmq_mode": "sub"}}
    settings, _ = _serve_settings({"zmq": None, "simulate": ["sim", "default"]}, path)
    assert settings.port == 9001 and settings.simulate is True


def test_repeated_source_flags_name_their_streams() -> None:
    """--watch/--zmq NAME=VALUE and --simulate NAME feed named streams; a path or URL with
    '=' stays the default's; two unnamed ones for the default are refused; a bad name too."""
    settings, streams = _serve_settings(
        {"zmq": ["cam1=tcp://a:1", "cam2=tcp://b:2"], "simulate": ["sim"], "watch": None}, None
    )
    assert settings.zmq is None and settings.simulate is False
    assert streams == {
        "cam1": {"zmq": "tcp://a:1"},
        "cam2": {"zmq": "tcp://b:2"},
        "sim": {"simulate": True},
    }
    settings, streams = _serve_settings({"zmq": ["tcp://host:1?x=y"]}, None)
    assert settings.zmq == "tcp://host:1?x=y" and streams == {}
    with pytest.raises(ConfigError, match="given twice for the default stream"):
        _serve_settings({"zmq": ["tcp://a:1", "tcp://b:2"]}, None)
    with pytest.raises(ConfigError, match="--simulate 'no good'"):
        _serve_settings({"simulate": ["no good"]}, None)


def test_the_documented_file_is_accepted(tmp_path: Path) -> None:
    """The example of docs/settings.md reads as it says (with a folder that exists)."""
    block = re.search(r"```toml\n(.*?)```", DOCS.read_text(), re.S)
    assert block is not None
    lab = tmp_path / "lab"
    lab.mkdir()
    config = read_config_file(write(tmp_path, block.group(1).replace("/data/lab", str(lab))))
    assert config.settings["port"] == 8000
    assert config.streams["cam1"]["zmq_mode"] == "sub"
    assert config.streams["lab"] == {"watch": lab, "existing": True}


async def test_serve_with_a_config_file_and_named_flags(tmp_path: Path) -> None:
    """The real command serves the file's streams and the flags' ones, each publishing to its
    own stream, listed by /api/streams."""
    lab = tmp_path / "lab"
    lab.mkdir()
    path = write(
        tmp_path,
        f'displayed_address = "ip:127.0.0.1"\nport = 0\nmax_file_rate = 20\n'
        f'work_folder = "{tmp_path / "work"}"\n'
        "[streams.guide]\nsimulate = true\nsimulate_rate = 20\n",
    )
    proc, url = await start_serve(
        "--config", str(path), "--no-qr", "--watch", f"lab={lab}", "--simulate", "allsky"
    )
    try:
        async with aiohttp.ClientSession() as http:

            async def names_published() -> dict[str, int]:
                async with http.get(url + "api/streams") as response:
                    body = await response.json()
                return {s["name"]: s["seq"] for s in body["streams"]}

            seen: dict[str, int] = {}
            deadline = asyncio.get_running_loop().time() + 15
            while not (seen.get("guide") and seen.get("allsky")):
                assert asyncio.get_running_loop().time() < deadline, seen
                seen = await names_published()
                await asyncio.sleep(0.05)
            assert list(seen) == ["allsky", "default", "guide", "lab"]
            assert seen["default"] == 0 and seen["lab"] == 0
        await until(lambda: (tmp_path / "work" / "s" / "guide" / "data.json").is_file())
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize(
    ("args", "file", "message"),
    [
        (["--config", "{path}"], "prot = 1", "unknown key 'prot'"),
        (["--config", "{path}"], '[streams."a b"]\nsimulate = true', "'a b' is not valid"),
        (["--watch", "a b=/tmp"], "", "--watch 'a b=/tmp'"),
        (["--config", "{missing}"], "", "cannot read the config file"),
    ],
)
async def test_config_errors_exit_2_with_one_line(
    tmp_path: Path, args: list[str], file: str, message: str
) -> None:
    """A bad file or a bad stream name on the command line: status 2, one line, no traceback."""
    path = write(tmp_path, file)
    argv = [a.format(path=path, missing=tmp_path / "missing.toml") for a in args]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "framecast",
        "serve",
        "--port",
        "0",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    text = err.decode()
    assert proc.returncode == 2, text
    assert message in text and "Traceback" not in text
    assert len(text.strip().splitlines()) == 1, text


def test_serve_help_mentions_the_config_file_and_streams(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`framecast serve --help` shows --config and the NAME= form of the source flags."""
    from framecast.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = capsys.readouterr().out
    assert "--config" in text and "[streams.NAME]" in text
    assert "--watch [NAME=]DIR" in text and "--simulate [NAME]" in text
