"""ImageServer end to end on real loopback sockets: start, publish, notify, stop."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from PIL import Image

from framecast import ImageError, ImageServer, PortInUseError, ServerStateError
from framecast.errors import ConfigError, MetadataError, SourceError
from framecast.live.frames import Incoming
from framecast.sources import SOURCE_REGISTRY
from tests.conftest import LOCAL, base, gradient, next_json, until, wait_until


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"))


async def test_start_writes_the_web_folder_artefacts(server: ImageServer, work: Path) -> None:
    """index.html, favicon, icons, OpenSeadragon, the waiting image and data.json exist."""
    for name in ("index.html", "favicon.ico", "openseadragon.min.js", "web_image.jpg", "data.json"):
        assert (work / name).is_file(), name
    assert list((work / "icons").glob("*.png")), "no OpenSeadragon icons"
    assert json.loads((work / "data.json").read_text()) == {
        "framecast": {"seq": 0, "waiting": True}
    }
    with Image.open(work / "web_image.jpg") as waiting:
        assert waiting.format == "JPEG" and waiting.width > 100


async def test_publish_notifies_and_rewrites_files(
    server: ImageServer, work: Path, http: aiohttp.ClientSession
) -> None:
    """A published image reaches /ws as new_image, and web_image.jpg/data.json follow it."""
    async with http.ws_connect(base(server) + "/ws") as ws:
        await until(lambda: server.status()["clients"] == 1, what="client registered")
        server.publish(gradient(), metadata={"STACK_SIZE": 12, "EXPO": "0:06:00"})
        message = await next_json(ws)
    assert message["type"] == "new_image" and message["seq"] == 1
    assert message["metadata"]["STACK_SIZE"] == 12

    def files_updated() -> bool:
        data = json.loads((work / "data.json").read_text())
        return data.get("framecast", {}).get("seq") == 1

    await until(files_updated, what="data.json rewritten")
    data = json.loads((work / "data.json").read_text())
    assert data["STACK_SIZE"] == 12 and data["EXPO"] == "0:06:00"
    assert data["framecast"]["width"] == 64 and data["framecast"]["height"] == 48
    pixels = decode((work / "web_image.jpg").read_bytes())
    assert pixels.shape == (48, 64)
    assert pixels[:, :5].mean() < 40 and pixels[:, -5:].mean() > 215, "ramp not preserved"
    async with http.get(base(server) + "/web_image.jpg") as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-cache" and "ETag" in response.headers
        assert decode(await response.read()).shape == (48, 64)


async def test_late_client_hears_nothing_until_the_next_image(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """No replay: a client connecting after a publish waits for the next one."""
    server.publish(gradient(), metadata={"n": 1})
    await until(lambda: server.status()["frames_published"] == 1, what="first frame published")
    async with http.ws_connect(base(server) + "/ws") as ws:
        await until(lambda: server.status()["clients"] == 1, what="client registered")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.receive(), 0.3)
        server.publish(gradient(), metadata={"n": 2})
        message = await next_json(ws)
    assert message["metadata"]["n"] == 2 and message["seq"] == 2


async def test_stop_sends_disconnect_and_frees_the_port(work: Path) -> None:
    """Clients get {"type": "disconnect"}; the port can be bound again after stop."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    await srv.astart()
    port = srv.port
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"http://127.0.0.1:{port}/ws") as ws,
    ):
        await until(lambda: srv.status()["clients"] == 1, what="client registered")
        stopping = asyncio.create_task(srv.astop())
        assert await next_json(ws) == {"type": "disconnect"}
        closing = await asyncio.wait_for(ws.receive(), 5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        started = time.monotonic()
        await asyncio.wait_for(stopping, 5)
    assert time.monotonic() - started < 2.0
    # A server started again on the same port (what a user does) gets it. A bare bind()
    # would also fail on the closed connection's TIME_WAIT, whoever closed first.
    again = ImageServer(work_folder=work, port=port, displayed_address=LOCAL)
    await again.astart()
    try:
        assert again.port == port
    finally:
        await again.astop()
    assert (work / "index.html").is_file(), "web files must stay after stop"


async def test_stop_is_quick_even_when_a_client_never_closes(work: Path) -> None:
    """stop() returns within about 2 s even if a client ignores disconnect."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    await srv.astart()
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await writer.drain()
    assert b"101" in await asyncio.wait_for(reader.readline(), 5)
    await until(lambda: srv.status()["clients"] == 1, what="raw client registered")
    started = time.monotonic()
    await asyncio.wait_for(srv.astop(), 5)
    assert time.monotonic() - started < 2.5
    writer.close()


def test_threaded_start_stop_twice_and_publish_from_threads(work: Path) -> None:
    """start()/stop() from a plain thread, twice; publish() from several threads at once."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=100)
    for cycle in range(2):
        url = srv.start()
        assert url == f"http://127.0.0.1:{srv.port}/" and srv.access_limited
        with pytest.raises(ServerStateError):
            srv.start()

        def publisher(offset: int) -> None:
            for i in range(20):
                srv.publish(gradient(), metadata={"thread": offset, "i": i})

        threads = [threading.Thread(target=publisher, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_until(lambda: srv.status()["frames_published"] >= 1, what="a frame published")
        status = srv.status()
        assert status["frames_submitted"] == 80
        assert status["frames_published"] + status["frames_dropped"] + status["frames_failed"] <= 80
        srv.stop()
        srv.stop()  # idempotent
        assert not srv.running, f"cycle {cycle}: still running"
    with pytest.raises(ServerStateError):
        srv.publish(gradient())


def test_context_manager(work: Path) -> None:
    """`with ImageServer(...)` starts and stops."""
    with ImageServer(work_folder=work, port=0, displayed_address=LOCAL) as srv:
        assert srv.running and srv.url
    assert not srv.running


async def test_async_context_manager(work: Path) -> None:
    """`async with ImageServer(...)` starts and stops on the caller's loop."""
    async with ImageServer(work_folder=work, port=0, displayed_address=LOCAL) as srv:
        assert srv.running
    assert not srv.running


async def test_port_in_use_is_reported(work: Path) -> None:
    """A port really bound by another socket raises PortInUseError naming it and the fix."""
    with socket.socket() as other:
        other.bind(("0.0.0.0", 0))
        other.listen()
        port = other.getsockname()[1]
        srv = ImageServer(work_folder=work, port=port, displayed_address=LOCAL)
        with pytest.raises(PortInUseError, match=rf"port {port} is in use.*port=0"):
            await srv.astart()
    assert not srv.running


def test_port_in_use_from_threaded_start(work: Path) -> None:
    """The threaded start() raises the same error and leaves no thread behind."""
    with socket.socket() as other:
        other.bind(("0.0.0.0", 0))
        other.listen()
        srv = ImageServer(work_folder=work, port=other.getsockname()[1], displayed_address=LOCAL)
        with pytest.raises(PortInUseError):
            srv.start()
    srv.stop()


@pytest.mark.parametrize("port", [80, 70000])
def test_port_range_is_checked_at_construction(work: Path, port: int) -> None:
    """Out-of-range ports are refused before anything is bound."""
    with pytest.raises(ConfigError, match="out of range"):
        ImageServer(work_folder=work, port=port)


async def test_loopback_display_sets_access_limited(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """A loopback displayed address is flagged on the object and in /api/status."""
    assert server.access_limited
    async with http.get(base(server) + "/api/status") as response:
        status = await response.json()
    assert status["access_limited"] is True
    for key in ("version", "uptime", "url", "clients", "frames_published", "frames_dropped"):
        assert key in status, key


async def test_explicit_lan_address_is_not_limited(work: Path) -> None:
    """ip:<non-loopback> is used as given and not flagged."""
    async with ImageServer(work_folder=work, port=0, displayed_address="ip:192.0.2.7") as srv:
        assert srv.url == f"http://192.0.2.7:{srv.port}/" and not srv.access_limited


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((0, 5), np.uint8),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((2, 2, 2, 2), np.uint8),
        np.array([["a"]]),
        b"definitely not an image",
        "/nonexistent/image.png",
        12345,
    ],
    ids=["empty", "two-channels", "4d", "strings", "bytes", "missing-path", "int"],
)
async def test_invalid_images_raise_and_change_nothing(
    server: ImageServer, work: Path, bad: object
) -> None:
    """Unusable input raises ImageError at once; what was published stays."""
    server.publish(gradient(), metadata={"keep": True})
    await until(
        lambda: json.loads((work / "data.json").read_text()).get("keep"), what="first image"
    )
    with pytest.raises(ImageError):
        server.publish(bad)
    assert server.status()["frames_published"] == 1
    assert json.loads((work / "data.json").read_text())["keep"] is True


async def test_sixteen_bit_frames_are_stretched(server: ImageServer, work: Path) -> None:
    """A dim 16-bit frame is not shown black: it is stretched to the display range."""
    dim = (gradient(64, 48, np.uint16) // 64).astype(np.uint16)  # values 0..1023 of 65535
    server.publish(dim)
    await until(
        lambda: json.loads((work / "data.json").read_text())["framecast"].get("seq") == 1,
        what="frame written",
    )
    pixels = decode((work / "web_image.jpg").read_bytes())
    assert pixels.max() > 200 and pixels.min() < 50


async def test_metadata_is_copied_at_publish(server: ImageServer, work: Path) -> None:
    """Changing the dict or array after publish() does not change what is shown."""
    meta = {"STACK_SIZE": 1}
    image = gradient()
    server.publish(image, metadata=meta)
    meta["STACK_SIZE"] = 999
    image[:] = 0
    await until(lambda: json.loads((work / "data.json").read_text()).get("STACK_SIZE"), what="data")
    assert json.loads((work / "data.json").read_text())["STACK_SIZE"] == 1
    assert decode((work / "web_image.jpg").read_bytes())[:, -5:].mean() > 200


async def test_images_in_all_accepted_forms(
    server: ImageServer, work: Path, tmp_path: Path
) -> None:
    """Arrays (mono, RGB, RGBA, float), PIL images, PNG/JPEG bytes and paths are all shown."""
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0] = 255
    png = io.BytesIO()
    Image.fromarray(rgb).save(png, "PNG")
    path = tmp_path / "red.png"
    path.write_bytes(png.getvalue())
    jpeg = io.BytesIO()
    Image.fromarray(rgb).save(jpeg, "JPEG")
    inputs = [
        rgb,
        np.dstack([rgb, np.full((20, 30), 255, np.uint8)]),
        rgb.astype(np.float32) / 255,
        Image.fromarray(rgb),
        png.getvalue(),
        jpeg.getvalue(),
        str(path),
        path,
    ]
    for n, image in enumerate(inputs, start=1):
        server.publish(image, metadata={"n": n})

        def written(n: int = n) -> bool:
            return json.loads((work / "data.json").read_text()).get("n") == n

        await until(written, what=f"input {n} written")
        with Image.open(work / "web_image.jpg") as shown_image:
            shown = np.asarray(shown_image.convert("RGB"))
        assert shown.shape == (20, 30, 3), n
        assert shown[..., 0].mean() > 200 and shown[..., 1].mean() < 60, f"input {n} not red"


async def test_too_deep_or_too_large_metadata_raises_and_changes_nothing(
    server: ImageServer, work: Path
) -> None:
    """publish() refuses metadata nested past max_metadata_depth or over max_metadata_bytes
    with MetadataError at once; what was published stays and publishing goes on."""
    server.publish(gradient(), metadata={"keep": True})
    await until(lambda: server.status()["frames_published"] == 1, what="first image")
    deep: dict[str, object] = {}
    node = deep
    for _ in range(500):
        node["a"] = node = {}
    for bad in (deep, {"big": "x" * (2 * 1024 * 1024)}):
        with pytest.raises(MetadataError, match="max_metadata_"):
            server.publish(gradient(), metadata=bad)
    assert server.status()["frames_submitted"] == 1
    server.publish(gradient(), metadata={"next": 2})
    await until(
        lambda: json.loads((work / "data.json").read_text()).get("next") == 2, what="next image"
    )


class FlakySource:
    """A source whose first run fails with an unexpected error, then yields one image."""

    name = "flaky"
    runs = 0

    @classmethod
    def from_settings(cls, settings: object) -> FlakySource:
        return cls()

    async def aclose(self) -> None:
        """Nothing to release."""

    async def frames(self) -> AsyncIterator[Incoming]:
        FlakySource.runs += 1
        if FlakySource.runs == 1:
            raise RuntimeError("the camera driver crashed")
        yield Incoming(load=gradient, metadata={"run": FlakySource.runs})
        await asyncio.Event().wait()


class BrokenSource(FlakySource):
    """A source that fails with a clear SourceError every time."""

    name = "broken"
    runs = 0

    async def frames(self) -> AsyncIterator[Incoming]:
        BrokenSource.runs += 1
        raise SourceError("the stream at tcp://nowhere is gone; check --zmq")
        yield  # pragma: no cover - makes this an async generator


async def test_a_failing_source_is_logged_counted_and_restarted(
    work: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A source whose iterator raises an unexpected error is logged with its traceback and
    restarted, and its images are then published."""
    monkeypatch.setitem(SOURCE_REGISTRY, "simulate", "tests.test_server:FlakySource")
    monkeypatch.setattr(FlakySource, "runs", 0)
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, simulate=True)
    async with srv:
        await until(lambda: srv.status()["frames_published"] == 1, what="restarted source")
        assert FlakySource.runs == 2
        await until(
            lambda: json.loads((work / "data.json").read_text()).get("run") == 2,
            what="data.json of the restarted source's image",
        )
    failures = [r for r in caplog.records if r.exc_info and "flaky" in r.getMessage()]
    assert len(failures) == 1 and "camera driver crashed" in str(failures[0].exc_info)


async def test_a_source_error_ends_the_source_in_one_line(
    work: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A SourceError is the source's final word: one line without traceback, no restart;
    the server keeps serving."""
    monkeypatch.setitem(SOURCE_REGISTRY, "simulate", "tests.test_server:BrokenSource")
    monkeypatch.setattr(BrokenSource, "runs", 0)
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, simulate=True)
    async with srv, aiohttp.ClientSession() as http:
        await until(
            lambda: any("nowhere is gone" in r.getMessage() for r in caplog.records),
            what="the source's error",
        )
        async with http.get(base(srv) + "/api/status") as response:
            assert response.status == 200
        assert BrokenSource.runs == 1
    lines = [r for r in caplog.records if "nowhere is gone" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None


def test_a_full_disk_at_start_is_one_config_error(tmp_path: Path) -> None:
    """Starting with a web folder on a full file system (a 64 KiB tmpfs) raises ConfigError
    with one line naming the folder, and nothing keeps running."""
    disk = tmp_path / "small"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        srv = ImageServer(work_folder=tmp_path / "work", web_folder=disk, port=0)
        with pytest.raises(ConfigError) as info:
            srv.start()
        message = str(info.value)
        assert "\n" not in message and str(disk) in message and "space" in message
        assert not srv.running
    finally:
        subprocess.run(["umount", str(disk)], check=True)


async def test_a_malformed_request_is_one_short_log_line(
    server: ImageServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A request with a garbage header line gets 400 and one short log line without a
    traceback (aiohttp would log a full traceback for each)."""
    caplog.set_level(logging.INFO)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\x01garbage\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await writer.wait_closed()
    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer
    lines = [r for r in caplog.records if "bad request" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


def test_start_raises_the_open_file_soft_limit(tmp_path: Path) -> None:
    """Starting lifts a low soft limit of open files to the hard limit (checked in a child
    process, whose limit the test lowers first)."""
    script = f"""
import resource
from framecast import ImageServer
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
srv = ImageServer(work_folder={str(tmp_path / "work")!r}, port=0)
srv.start()
print(resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard, hard > 256)
srv.stop()
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    raised, room = result.stdout.split()
    if room == "False":
        pytest.skip("the hard limit leaves no room to raise")
    assert raised == "True"


async def test_deeply_nested_metadata_never_stops_publishing(
    work: Path, http: aiohttp.ClientSession
) -> None:
    """With the door opened wide (max_metadata_depth raised), publish() with metadata nested
    5000 levels is shown with the depth cut short; the next image is published too,
    /data.json answers 200 with it, and no task failed."""
    deep: object = 1
    for _ in range(5000):
        deep = {"k": deep}
    server = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, max_metadata_depth=10_000
    )
    async with server:
        async with http.ws_connect(base(server) + "/ws") as ws:
            await until(lambda: server.status()["clients"] == 1, what="client registered")
            server.publish(gradient(), metadata={"deep": deep})
            first = await next_json(ws)
            server.publish(gradient(), metadata={"after": True})
            second = await next_json(ws)
        assert first["seq"] == 1 and isinstance(first["metadata"]["deep"], dict)
        assert second["seq"] == 2 and second["metadata"]["after"] is True
        async with http.get(base(server) + "/data.json") as response:
            assert response.status == 200
            assert (await response.json())["after"] is True
        status = server.status()
        assert status["task_errors"] == 0 and status["task_errors_by_task"] == {}
        assert status["frames_published"] == 2 and status["frames_failed"] == 0


def test_status_is_safe_from_any_thread_while_clients_come_and_go(work: Path) -> None:
    """Threads reading status() while WebSocket clients connect and leave never meet an
    exception, and /api/status answers the same report."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    srv.start()
    failures: list[BaseException] = []
    reads = [0]
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                srv.status()
            except BaseException as exc:  # the failure this test is about
                failures.append(exc)
                return
            reads[0] += 1

    async def churn() -> dict[str, Any]:
        url = f"http://127.0.0.1:{srv.port}"
        async with aiohttp.ClientSession() as http:
            for round_ in range(25):
                path = ("/ws", "/frames")[round_ % 2]
                sockets = await asyncio.gather(*(http.ws_connect(url + path) for _ in range(40)))
                await asyncio.gather(*(ws.close() for ws in sockets))
                if failures:
                    break
            async with http.get(url + "/api/status") as response:
                assert response.status == 200
                answer: dict[str, Any] = await response.json()
                return answer

    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often: a race shows at once
    hammers = [threading.Thread(target=hammer, name=f"status-{n}") for n in range(2)]
    try:
        for thread in hammers:
            thread.start()
        served = asyncio.run(churn())
    finally:
        stop.set()
        for thread in hammers:
            thread.join(timeout=30)
        sys.setswitchinterval(switching)
        here = srv.status()
        srv.stop()
    assert failures == [], f"status() from a thread raised {failures[0]!r}"
    assert reads[0] > 0
    assert set(served) == set(here)
    assert served["clients"] == here["clients"] == 0
    assert served["commands"] == here["commands"] and served["url"] == here["url"] == srv.url
