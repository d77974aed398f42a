"""The web folder: viewer assets, and atomic writes of ``web_image.jpg`` / ``data.json``.

Everything here is blocking file I/O; the server calls it from a worker thread.
A reader of the folder (our own HTTP server, or another web server pointed at it) never
sees a torn or missing file: each file is written to a hidden temporary name in the same
folder and renamed over the old one. The files are not forced to disk (no fsync): the
folder is rewritten at every start and at every image, so a power cut loses nothing that
would be read again, while an fsync per image costs latency and, on a Raspberry Pi's SD
card, its life.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from framecast.errors import ConfigError

__all__ = [
    "DATA_NAME",
    "IMAGE_NAME",
    "atomic_write",
    "install_assets",
    "is_private_name",
    "prepare_folder",
    "write_frame_bytes",
    "write_frame_files",
]

log = logging.getLogger("framecast.webfolder")

IMAGE_NAME = "web_image.jpg"
DATA_NAME = "data.json"
_TMP_SUFFIX = ".tmp"
VENDOR = "vendor"
REQUIRED_VENDOR_FILE = "openseadragon.min.js"


def is_private_name(name: str) -> bool:
    """Names never served: hidden files and our temporary files."""
    return name.startswith(".") or name.endswith(_TMP_SUFFIX)


def prepare_folder(folder: Path, what: str) -> Path:
    """Create ``folder`` if missing; a clear error if it cannot be used."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the {what} {str(folder)!r}: {exc.strerror or exc}; "
            f"choose another with --{what.replace(' ', '-')}"
        ) from None
    if not folder.is_dir():
        raise ConfigError(f"the {what} {str(folder)!r} is not a folder; choose another")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"the {what} {str(folder)!r} is not writable; choose another")
    return folder


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a mix."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_frame_files(folder: Path, jpeg: bytes, data: dict[str, Any]) -> None:
    """Write the image first, then its metadata (encoded here), each atomically."""
    write_frame_bytes(folder, jpeg, json.dumps(data, indent=1, allow_nan=False).encode())


def write_frame_bytes(folder: Path, jpeg: bytes, data_json: bytes) -> None:
    """Write the image first, then its ``data.json`` bytes, each atomically."""
    atomic_write(folder / IMAGE_NAME, jpeg)
    atomic_write(folder / DATA_NAME, data_json)


def _copy_tree(source: Any, target: Path, *, skip: str | None = None) -> int:
    copied = 0
    for item in source.iterdir():
        if item.name == skip or item.name.startswith((".", "__")):
            continue
        destination = target / item.name
        if item.is_dir():
            destination.mkdir(exist_ok=True)
            copied += _copy_tree(item, destination)
        else:
            data = item.read_bytes()
            if not _holds(destination, data):
                atomic_write(destination, data)
                copied += 1
    return copied


def _holds(path: Path, data: bytes) -> bool:
    """Whether the file at ``path`` already holds exactly ``data``."""
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def install_assets(folder: Path) -> int:
    """Copy the viewer (index.html, scripts, icons, OpenSeadragon) into ``folder``.

    Files are refreshed at every start (one that already holds the same bytes is left as it
    is) and left in place at stop, so another web server can keep serving the folder.
    Returns the number of files written.
    """
    viewer = resources.files("framecast") / "viewer"
    vendor = viewer / VENDOR
    if not (vendor / REQUIRED_VENDOR_FILE).is_file():
        raise ConfigError(
            "the viewer's OpenSeadragon files are missing from the framecast package; "
            "build them with scripts/build-viewer (needs npm) and start again"
        )
    count = _copy_tree(viewer, folder, skip=VENDOR)
    count += _copy_tree(vendor, folder)
    return count


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files a crashed writer may have left behind."""
    for path in folder.glob(".*" + _TMP_SUFFIX):
        with contextlib.suppress(OSError):
            path.unlink()
