"""The package as users install it: built with `python -m build`, installed in a fresh venv."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import aiohttp
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
OSD = "framecast/viewer/vendor/openseadragon.min.js"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


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


@pytest.fixture
def dist(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> tuple[Path, Path]:
    """The sdist and the wheel `python -m build` makes of this checkout, built once for the
    whole run: the first test to ask builds them under a lock, the others wait for it
    (builds of one tree at once collide). Not a module fixture: that would put the two venv
    tests (a minute or more each) on one worker, one after the other (tests/workers.py)."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # every worker's common folder
    out = shared / "dist"
    with open(shared / "dist.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not list(out.glob("framecast-*.whl")):
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            _run(PYTHON, "-m", "build", "--outdir", out, ROOT, cwd=out, timeout=300)
    (sdist,) = out.glob("framecast-*.tar.gz")
    (wheel,) = out.glob("framecast-*.whl")
    return sdist, wheel


def _venv(where: Path) -> Path:
    """A fresh venv (no system packages, and no pip of its own: :func:`_pip_install` fills
    it from outside, which saves installing pip itself); returns its python."""
    _run(PYTHON, "-m", "venv", "--without-pip", where, cwd=where.parent, timeout=120)
    return where / "bin" / "python"


def _pip_install(python: Path, *args: str | Path, cwd: Path, timeout: float) -> None:
    """``pip install args`` into the venv of ``python``, run by this environment's pip.
    Nothing is compiled ahead (Python compiles each module on first import, as for a user
    whose install skipped it): compiling every module of numpy and astropy is most of an
    install's time."""
    _run(
        PYTHON, "-m", "pip", "--python", python, "install", "-q", "--no-compile", *args,
        cwd=cwd, timeout=timeout,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(600)  # two isolated builds and a venv with every dependency
async def test_wheel_from_sdist_installs_and_serves_the_viewer(
    dist: tuple[Path, Path], tmp_path: Path
) -> None:
    """`python -m build` makes an sdist with the npm lock file and, from it, a wheel with
    OpenSeadragon; installed alone in a fresh venv, `framecast serve` serves the page and
    /openseadragon.min.js."""
    sdist, wheel = dist
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
    python = await asyncio.to_thread(_venv, tmp_path / "venv")
    await asyncio.to_thread(_pip_install, python, wheel, cwd=home, timeout=400)
    where = await asyncio.to_thread(
        _run, python, "-c", "import framecast; print(framecast.__file__)", cwd=home, timeout=60
    )
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv"), where.stdout
    await _serve_installed(tmp_path / "venv", home)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_wheel_and_sdist_carry_the_license_and_the_project_metadata(
    dist: tuple[Path, Path],
) -> None:
    """The wheel and the sdist both contain LICENSE (BSD-3-Clause, "the framecast authors"),
    and the wheel's metadata names the license, the authors, the project URLs and the
    classifiers, as pyproject.toml declares them."""
    sdist, wheel = dist
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("BSD 3-Clause License")
    assert "Copyright (c) 2026, the framecast authors" in license_text
    with tarfile.open(sdist) as tar:
        (member,) = [m for m in tar.getmembers() if m.name.split("/", 1)[-1] == "LICENSE"]
        packed = tar.extractfile(member)
        assert packed is not None and packed.read().decode() == license_text
        names = {name.split("/", 1)[-1] for name in tar.getnames()}
    assert "constraints.txt" in names, "the sdist carries the exact versions for its tests"
    with zipfile.ZipFile(wheel) as whl:
        (licensed,) = [n for n in whl.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert whl.read(licensed).decode() == license_text
        (meta,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(whl.read(meta).decode())
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Author"] == "the framecast authors"
    urls = metadata.get_all("Project-URL") or []
    assert any(url.startswith("Repository, https://") for url in urls), urls
    classifiers = metadata.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers), "the expression says it"


def _lowest(requirements: list[str]) -> dict[str, str]:
    """Each requirement's lower bound (``name>=X,<Y`` → ``{name: X}``); every dependency
    must have one, so that an install next to older packages is a decision, not luck."""
    lowest: dict[str, str] = {}
    for text in requirements:
        requirement = Requirement(text)
        floors = [s.version for s in requirement.specifier if s.operator == ">="]
        assert len(floors) == 1, f"{text}: give the oldest version tested as >="
        assert not any(s.operator == "==" for s in requirement.specifier), f"{text} is pinned"
        lowest[requirement.name] = floors[0]
    return lowest


#: Run by the venv holding the oldest versions: they are the ones installed, and a server
#: started from the wheel serves a published 16-bit frame as a JPEG and as its exact array.
_SMOKE = """
import importlib.metadata, io, json, sys, time, urllib.request
import numpy as np
from PIL import Image
from framecast import ImageServer

wanted = json.loads(sys.argv[1])
installed = {name: importlib.metadata.version(name) for name in wanted}
assert all(installed[n].startswith(v) for n, v in wanted.items()), installed
server = ImageServer(work_folder=sys.argv[2], port=0, displayed_address="ip:127.0.0.1")
url = server.start()
try:
    frame = (np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) * 20).astype(np.uint16)
    server.publish(frame, metadata={"EXPO": 30})
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(url + "data.json", timeout=10) as answer:
            data = json.load(answer)
        if data["framecast"].get("seq") == 1:
            break
        assert time.monotonic() < deadline, data
        time.sleep(0.05)
    with urllib.request.urlopen(url + "web_image.jpg", timeout=10) as answer:
        jpeg = Image.open(io.BytesIO(answer.read()))
        assert (jpeg.format, jpeg.size) == ("JPEG", (64, 48)), (jpeg.format, jpeg.size)
    with urllib.request.urlopen(url + "raw/1.npy", timeout=10) as answer:
        raw = np.load(io.BytesIO(answer.read()))
    assert raw.dtype == np.uint16 and np.array_equal(raw, frame)
    assert data["EXPO"] == 30
finally:
    server.stop()
print("served", url)
"""


@pytest.mark.slow
@pytest.mark.timeout(900)  # a venv of wheels from the package index
def test_the_wheel_works_with_the_oldest_versions_it_allows(
    dist: tuple[Path, Path], tmp_path: Path
) -> None:
    """With every dependency (and the fits and codecs extras) at the lowest version
    pyproject.toml allows, installed from wheels into a fresh venv, the built wheel serves a
    published frame: web image and exact raw array. A raised floor or a newer API used
    without raising it fails here."""
    _, wheel = dist
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    lowest = _lowest([*project["dependencies"], *extras["fits"], *extras["codecs"]])
    for name in ("bsread", "broker", "speed"):
        _lowest(extras[name])  # the other extras have a lower bound too
    home = tmp_path / "home"
    home.mkdir()
    python = _venv(tmp_path / "venv")
    pins = [f"{name}=={version}" for name, version in lowest.items()]
    _pip_install(
        python, "--only-binary", ":all:", f"{wheel}[fits,codecs]", *pins, cwd=home, timeout=600
    )
    done = _run(python, "-c", _SMOKE, json.dumps(lowest), home / "work", cwd=home, timeout=120)
    assert "served http://127.0.0.1:" in done.stdout
