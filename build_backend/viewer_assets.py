"""The viewer's third-party browser files (OpenSeadragon), from npm into the package.

``viewer-build/package-lock.json`` pins them. :func:`build` runs ``npm ci`` when the lock
file changed since the last install, then copies into ``src/framecast/viewer/vendor/``:

- ``openseadragon.min.js`` and ``openseadragon.LICENSE.txt``
- ``icons/*.png`` (OpenSeadragon's button images)

Used by the package build (:mod:`framecast_build`, so ``pip install .`` and ``python -m
build`` ship a working viewer) and by ``scripts/build-viewer`` (``--force`` reinstalls).
Standard library only: it runs inside the isolated build environment.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["BuildError", "build", "main"]

BUILD = Path("viewer-build")
VENDOR = Path("src", "framecast", "viewer", "vendor")
_OSD = Path("node_modules", "openseadragon")
_STAMP = Path("node_modules", ".framecast-lock.sha256")


class BuildError(Exception):
    """The viewer's files cannot be built; the message says what to do."""


def _say(message: str) -> None:
    print(f"build-viewer: {message}", file=sys.stderr, flush=True)


def _npm_ci(build: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm is not installed; it is needed to build framecast's viewer: install Node.js "
            "and npm (Debian: apt-get install npm) and build again"
        )
    _say(f"npm ci --prefix {build}")
    done = subprocess.run(
        [npm, "ci", "--prefix", str(build), "--no-audit", "--no-fund", "--loglevel=error"],
        check=False,
    )
    if done.returncode != 0:
        raise BuildError(
            f"npm ci --prefix {build} failed (exit {done.returncode}); see npm's message above"
        )


def build(root: Path | str = ".", *, force: bool = False) -> Path:
    """Install (when needed) and copy the viewer's npm files under ``root``; returns the
    vendor folder. :class:`BuildError` when npm is missing or fails."""
    root = Path(root)
    build_dir, vendor = root / BUILD, root / VENDOR
    lock = build_dir / "package-lock.json"
    if not lock.is_file():
        raise BuildError(f"{lock} is missing; the source tree or sdist is incomplete")
    lock_sum = hashlib.sha256(lock.read_bytes()).hexdigest()
    stamp = build_dir / _STAMP
    osd = build_dir / _OSD / "build" / "openseadragon"
    installed = stamp.is_file() and stamp.read_text().strip() == lock_sum
    copied = vendor / "openseadragon.min.js"
    if (
        not force
        and installed
        and copied.is_file()
        and (vendor / "icons").is_dir()
        and (osd / "openseadragon.min.js").stat().st_mtime <= copied.stat().st_mtime
    ):
        return vendor  # lock file unchanged since the last install, files already copied
    if force or not installed:
        _npm_ci(build_dir)
        stamp.write_text(lock_sum + "\n")
    if not (osd / "openseadragon.min.js").is_file():
        raise BuildError(
            f"{osd / 'openseadragon.min.js'} is missing after npm ci; "
            "run scripts/build-viewer --force"
        )
    (vendor / "icons").mkdir(parents=True, exist_ok=True)
    shutil.copy2(osd / "openseadragon.min.js", copied)
    shutil.copy2(build_dir / _OSD / "LICENSE.txt", vendor / "openseadragon.LICENSE.txt")
    for icon in sorted((osd / "images").glob("*.png")):
        shutil.copy2(icon, vendor / "icons" / icon.name)
    version = json.loads((build_dir / _OSD / "package.json").read_text()).get("version", "?")
    _say(f"copied openseadragon {version} into {VENDOR}/")
    return vendor


def main(argv: list[str]) -> int:
    """``scripts/build-viewer [--force]``: one line on stderr and exit 1 on failure."""
    try:
        build(Path(__file__).resolve().parent.parent, force="--force" in argv)
    except BuildError as exc:
        _say(str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
