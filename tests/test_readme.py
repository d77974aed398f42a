"""The README is the truth: every Python snippet in it runs as written, and its install lines
are ones that work."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from framecast import ImageServer
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
#: The server address the snippets speak to, replaced by the test server's.
SHOWN = "http://192.168.1.20:8000"
SNIPPETS = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> ImageServer:
    """A real server on a loopback port with a frame on stream cam1, for the client snippets."""
    srv = ImageServer(
        work_folder=tmp_path_factory.mktemp("readme-server"),
        host="127.0.0.1",
        port=0,
        displayed_address="ip:127.0.0.1",
    )
    srv.start()
    srv.publish(np.arange(12, dtype=np.uint16).reshape(3, 4), stream="cam1")
    wait_until(lambda: srv.status()["frames_published"] >= 1, 10, "the cam1 frame")
    yield srv  # type: ignore[misc]
    srv.stop()


def test_the_readme_has_its_snippets() -> None:
    """The Python snippets this test runs are found (embedding, client, streams, raw data)."""
    assert len(SNIPPETS) >= 4
    assert all("import" in snippet for snippet in SNIPPETS), "each snippet is a whole program"


@pytest.mark.slow
@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"snippet{n}" for n in range(len(SNIPPETS))])
def test_each_python_snippet_runs_as_written(
    snippet: str, server: ImageServer, tmp_path: Path
) -> None:
    """Each ```python block of the README runs in a fresh interpreter with only two changes:
    a free port instead of 8000, and the test server's address instead of the example one."""
    assert "port=8000" in snippet or SHOWN in snippet, "a snippet the test cannot aim"
    program = snippet.replace("port=8000", "port=0").replace(
        SHOWN, f"http://127.0.0.1:{server.port}"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{program}\n---\n{done.stderr[-3000:]}"
    made = {path.name for path in tmp_path.iterdir()}
    assert made <= {"framecast-work"}, made  # nothing outside the work folder it names


def test_no_doc_says_to_install_framecast_from_the_index() -> None:
    """framecast is not on PyPI: no page tells users to `pip install framecast` (or pipx) from
    it; they name the git URL or a wheel."""
    bare = re.compile(r"\b(pip|pipx) install ['\"]?framecast(?![\w.\-\[@/]|['\"]?\s*@)")
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    found = [
        f"{page.name}: {line.strip()}"
        for page in pages
        for line in page.read_text().splitlines()
        if bare.search(line) and "not on PyPI" not in line  # saying that it fails is fine
    ]
    assert found == []
    install = README.read_text()
    assert "pip install 'framecast @ git+https://<your repository URL>'" in install
    assert "pip install framecast-0.1.0-py3-none-any.whl" in install
