"""The web folder: atomic replacement, the viewer's files, leftovers of a crashed writer."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from framecast.errors import ConfigError
from framecast.live import webfolder


def test_atomic_write_never_shows_a_torn_file(tmp_path: Path) -> None:
    """A reader polling the file while it is rewritten sees one whole version or another."""
    target = tmp_path / "web_image.jpg"
    versions = [bytes([n]) * 200_000 for n in range(20)]
    webfolder.atomic_write(target, versions[0])
    seen: set[bytes] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.add(target.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for data in versions[1:]:
            webfolder.atomic_write(target, data)
    finally:
        stop.set()
        reader.join()
    assert seen <= set(versions)
    assert target.read_bytes() == versions[-1]
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in tmp_path.iterdir()] == ["web_image.jpg"]  # no temporaries left


def test_temporary_names_are_private_and_stale_ones_are_removed(tmp_path: Path) -> None:
    """Temporaries are hidden names never served, and a crashed writer's leftovers go at start."""
    stale = tmp_path / ".web_image.jpg.abc123.tmp"
    stale.write_bytes(b"half")
    kept = tmp_path / "notes.tmp.txt"
    kept.write_text("mine")
    assert webfolder.is_private_name(stale.name)
    assert webfolder.is_private_name(".hidden")
    assert not webfolder.is_private_name("web_image.jpg")
    webfolder.remove_stale_temporaries(tmp_path)
    assert not stale.exists()
    assert kept.read_text() == "mine"


def test_assets_are_installed_and_refreshed(tmp_path: Path) -> None:
    """The viewer page, its scripts and OpenSeadragon land in the folder; at the next start
    an edited copy is put back, a file that is already right is not rewritten, and the
    publisher's own files are left alone."""
    count = webfolder.install_assets(tmp_path)
    assert count > 5
    assert b"<html" in (tmp_path / "index.html").read_bytes().lower()
    assert (tmp_path / "openseadragon.min.js").stat().st_size > 10_000
    assert list((tmp_path / "icons").glob("*.png"))
    (tmp_path / "index.html").write_text("broken")
    (tmp_path / "mine.txt").write_text("kept")
    untouched = (tmp_path / "openseadragon.min.js").stat().st_ino
    assert webfolder.install_assets(tmp_path) == 1  # only index.html
    assert b"<html" in (tmp_path / "index.html").read_bytes().lower()
    assert (tmp_path / "openseadragon.min.js").stat().st_ino == untouched
    assert (tmp_path / "mine.txt").read_text() == "kept"


def test_prepare_folder_creates_missing_folders(tmp_path: Path) -> None:
    """A missing work or web folder is created, parents included."""
    folder = webfolder.prepare_folder(tmp_path / "a" / "b", "work folder")
    assert folder.is_dir()


def test_prepare_folder_refuses_a_file(tmp_path: Path) -> None:
    """A path that is a file gives one clear error naming it."""
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ConfigError, match="file"):
        webfolder.prepare_folder(path, "web folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_prepare_folder_refuses_a_read_only_folder(tmp_path: Path) -> None:
    """A folder framecast cannot write to is refused at start, not at the first image."""
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(ConfigError, match="not writable"):
            webfolder.prepare_folder(tmp_path, "web folder")
    finally:
        tmp_path.chmod(0o755)
