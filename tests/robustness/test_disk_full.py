"""A full disk: a small tmpfs as the web folder. At start the command exits with status 2
and one line; while running the server keeps serving the latest image from memory, logs
the failure at most once per interval, and writes the files again once there is room."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.robustness.conftest import (
    FRAMECAST,
    check_still_publishing,
    next_new_image,
    post_image,
    serving,
    small_jpeg,
    timeout,
    until,
)


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (skips the test where mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Write into ``folder`` until the file system is full; the filler file."""
    filler = folder / "filler.bin"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(bytes(64 * 1024))
    return filler


def test_full_disk_at_start_exits_2_with_one_line(tmp_path: Path) -> None:
    """With a 64 kB web folder (the viewer files need more), framecast serve exits with status 2
    and one line on stderr that names the problem, no traceback."""
    with tmpfs(tmp_path / "web", "64k") as web:
        result = subprocess.run(
            [
                *FRAMECAST,
                "serve",
                "--port",
                "0",
                "--host",
                "127.0.0.1",
                "--no-qr",
                "--work-folder",
                str(tmp_path / "work"),
                "--web-folder",
                str(web),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert len([line for line in errors if "error" in line.lower()]) == 1, errors
    assert "space" in errors[-1].lower() or "full" in errors[-1].lower(), errors[-1]


async def test_full_disk_while_running_serves_from_memory(tmp_path: Path) -> None:
    """When the web folder fills up, 20 images in 2 s still reach a /ws viewer, /data.json and
    /web_image.jpg answer 200 with the newest one, the failure is logged at most a few times
    (not once per image), and the files on disk catch up once there is room again."""
    with (
        tmpfs(tmp_path / "web", "4m") as web,
        serving(tmp_path, "--web-folder", str(web), "--max-file-rate", "10") as served,
    ):
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{served.ws_url}/ws") as ws:
                filler = fill(web)
                lines = served.log().count("\n")
                for n in range(20):
                    status, answer = await post_image(session, served, small_jpeg(n))
                    assert status == 202, answer
                    await asyncio.sleep(0.1)
                last = answer["seq"]
                while (await next_new_image(ws))["seq"] < last:
                    pass
            async with session.get(f"{served.url}/data.json", timeout=timeout()) as response:
                assert response.status == 200
                assert json.loads(await response.read())["framecast"]["seq"] == last
            async with session.get(f"{served.url}/web_image.jpg", timeout=timeout()) as response:
                assert response.status == 200
                assert (await response.read())[:2] == b"\xff\xd8"
            logged = served.log().splitlines()[lines:]
            assert 1 <= len(logged) <= 4, logged
            assert "Traceback" not in served.log()
            filler.unlink()
            status, answer = await post_image(session, served, small_jpeg(99))
            on_disk = web / "data.json"

            def caught_up() -> bool:
                with contextlib.suppress(OSError, ValueError):
                    return bool(
                        json.loads(on_disk.read_text())["framecast"]["seq"] == answer["seq"]
                    )
                return False

            await until(caught_up, 10, "data.json on disk with the newest image")
        await check_still_publishing(served)
