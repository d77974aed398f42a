"""The package as users install it: built with `python -m build`, installed in a fresh venv."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
OSD = "framecast/viewer/vendor/openseadragon.min.js"


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without this checkout on the path: only the installed package counts."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def _run(*args: str | Path, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{args[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_build_without_npm_fails_with_one_clear_line(tmp_path: Path) -> None:
    """Building the viewer files without npm stops with one line saying to install npm."""
    (tmp_path / "viewer-build").mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / "viewer-build" / name, tmp_path / "viewer-build" / name)
    code = (
        "import sys, viewer_assets\n"
        "try:\n    viewer_assets.build(sys.argv[1])\n"
        "except viewer_assets.BuildError as exc:\n    print(exc, file=sys.stderr); sys.exit(3)\n"
    )
    done = subprocess.run(
        [PYTHON, "-c", code, str(tmp_path)],
        env=_clean_env(PATH=str(Path(PYTHON).parent), PYTHONPATH=str(ROOT / "build_backend")),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "npm is not installed" in lines[0] and "apt-get install npm" in lines[0]
    assert not (tmp_path / "src").exists(), "nothing copied without npm"


async def _serve_installed(venv: Path, home: Path) -> None:
    """Start the installed `framecast serve` away from any source tree; fetch the page and
    OpenSeadragon; stop it with Ctrl-C."""
    proc = await asyncio.create_subprocess_exec(
        str(venv / "bin" / "framecast"),
        "serve",
        "--port",
        "0",
        "--work-folder",
        str(home / "work"),
        "--displayed-address",
        "ip:127.0.0.1",
        "--no-qr",
        cwd=home,
        env=_clean_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            if not line:
                err = (await proc.stderr.read()).decode()
                raise AssertionError(f"the installed framecast exited early: {err}")
            match = re.search(r"serving at (\S+)", line)
            if match:
                url = match.group(1)
                break
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.get(url) as page:
                assert page.status == 200
                assert "openseadragon.min.js" in await page.text()
            async with http.get(url + "openseadragon.min.js") as script:
                assert script.status == 200
                body = await script.read()
        assert len(body) > 100_000 and b"OpenSeadragon" in body
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 15) == 0


@pytest.mark.slow
@pytest.mark.timeout(600)  # two isolated builds and a venv with every dependency
async def test_wheel_from_sdist_installs_and_serves_the_viewer(tmp_path: Path) -> None:
    """`python -m build` makes an sdist with the npm lock file and, from it, a wheel with
    OpenSeadragon; installed alone in a fresh venv, `framecast serve` serves the page and
    /openseadragon.min.js."""
    dist = tmp_path / "dist"
    await asyncio.to_thread(
        _run, PYTHON, "-m", "build", "--outdir", dist, ROOT, cwd=tmp_path, timeout=300
    )
    (sdist,) = dist.glob("framecast-*.tar.gz")
    (wheel,) = dist.glob("framecast-*.whl")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {"viewer-build/package.json", "viewer-build/package-lock.json"} <= names
    assert "build_backend/framecast_build.py" in names
    assert not any("viewer/vendor" in name for name in names), "the sdist builds the vendor files"
    with zipfile.ZipFile(wheel) as whl:
        assert whl.getinfo(OSD).file_size > 100_000
        assert any(n.startswith("framecast/viewer/vendor/icons/") for n in whl.namelist())

    home = tmp_path / "elsewhere"  # no source tree next to the installed package
    home.mkdir()
    venv = tmp_path / "venv"
    await asyncio.to_thread(_run, PYTHON, "-m", "venv", venv, cwd=home, timeout=120)
    python = venv / "bin" / "python"
    await asyncio.to_thread(
        _run, python, "-m", "pip", "install", "-q", wheel, cwd=home, timeout=400
    )
    where = await asyncio.to_thread(
        _run, python, "-c", "import framecast; print(framecast.__file__)", cwd=home, timeout=60
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    await _serve_installed(venv, home)
