"""The source registry: lazy imports, settings → sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from framecast.config.settings import Settings
from framecast.errors import ConfigError
from framecast.sources import SOURCE_REGISTRY, Source, create_sources, source_class


def test_no_source_enabled_means_no_sources() -> None:
    """Default settings start no source."""
    assert create_sources(Settings()) == []


def test_every_registered_source_is_a_source(tmp_path: Path) -> None:
    """Each registry entry imports and satisfies the Source protocol."""
    sources = create_sources(Settings(watch=tmp_path, zmq="tcp://127.0.0.1:9999", simulate=True))
    assert [source.name for source in sources] == ["watch", "zmq", "simulate"]
    for source in sources:
        assert isinstance(source, Source)
    assert set(SOURCE_REGISTRY) == {"watch", "zmq", "simulate"}


def test_unknown_source_is_a_config_error() -> None:
    """Asking for a source that is not registered names the known ones."""
    with pytest.raises(ConfigError, match="watch, zmq, simulate"):
        source_class("camera")


def test_sources_import_only_what_they_need() -> None:
    """The folder source and the simulator load neither pyzmq nor astropy."""
    code = (
        "import sys, framecast.sources.folder, framecast.sources.simulator; "
        "bad = [m for m in ('zmq', 'astropy', 'bitshuffle') if m in sys.modules]; "
        "print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
