"""The stream registry without a server: names, the max_streams cap, one shared encoder pool."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from framecast.config.settings import Settings
from framecast.errors import ConfigError, StreamLimitError
from framecast.live.streams import Streams, check_name


@pytest.mark.parametrize("name", ["default", "cam1", "A", "guide.camera", "all-sky_2", "9" * 64])
def test_valid_names(name: str) -> None:
    """Letters, digits, '.', '_' and '-', starting with a letter or digit, up to 64."""
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name", ["", ".hidden", "-x", "_x", "a b", "a/b", "é", "x" * 65, "cam1\n", None, 5]
)
def test_invalid_names_are_refused(name: object) -> None:
    """Anything else is a ConfigError that says the rule."""
    with pytest.raises(ConfigError, match="1 to 64 letters"):
        check_name(name)


def test_names_are_case_sensitive_and_capped(tmp_path: Path) -> None:
    """'Cam' and 'cam' are two streams; the stream after max_streams is refused with a
    StreamLimitError naming the limit; an existing stream is found, not made again; every
    stream's files and snapshots have their own folder, the default one's at the roots."""
    settings = Settings(work_folder=tmp_path, max_streams=3)
    with ThreadPoolExecutor(1) as pool:
        streams = Streams(settings, web_root=tmp_path / "web", executor=pool)
        default = streams.create("default")
        cam = streams.create("Cam")
        assert streams.create("cam") is not cam
        assert streams.create("Cam") is cam
        with pytest.raises(StreamLimitError, match="max_streams"):
            streams.create("fourth")
        with pytest.raises(StreamLimitError):
            streams.room("fourth")
        streams.room("cam")  # an existing stream always has room
    assert [s.name for s in streams] == ["Cam", "cam", "default"]
    assert default.web_folder == tmp_path / "web"
    assert cam.web_folder == tmp_path / "web" / "s" / "Cam"
    assert default.snapshot_folder == tmp_path / "snapshots"
    assert cam.snapshot_folder == tmp_path / "snapshots" / "Cam"
    assert streams.get("nope") is None and len(streams) == 3
