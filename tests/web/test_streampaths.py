"""Streams (docs/streams.md) on real sockets: per-stream routes, isolation, overview, ingest,
limits."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer
from framecast.errors import ConfigError, StreamLimitError
from tests.conftest import LOCAL, base, gradient, next_json, until


def png(array: np.ndarray | None = None) -> bytes:
    out = io.BytesIO()
    Image.fromarray(gradient(40, 30) if array is None else array).save(out, format="PNG")
    return out.getvalue()


def published(srv: ImageServer, *names: str) -> bool:
    """Each stream in ``names`` has published an image (viewers that connect now hear only
    of later ones)."""
    streams = srv.status()["streams"]
    return all(streams.get(name, {}).get("frames_published") for name in names)


@pytest.fixture
async def streams_server(work: Path) -> AsyncIterator[ImageServer]:
    """A running server with a small max_streams, on any free port."""
    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=50, max_streams=4
    )
    await srv.astart()
    try:
        yield srv
    finally:
        await srv.astop()


async def listed(http: aiohttp.ClientSession, srv: ImageServer) -> list[dict[str, Any]]:
    async with http.get(base(srv) + "/api/streams") as response:
        assert response.status == 200
        body = await response.json()
    streams = body["streams"]
    assert isinstance(streams, list)
    return streams


async def test_publish_to_a_named_stream_creates_it_and_lists_it(
    streams_server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """publish(stream=) makes the stream; /api/streams lists every stream sorted by name with
    seq 0 and time null before the first image, and the image's seq, time and size after."""
    srv = streams_server
    assert [s["name"] for s in await listed(http, srv)] == ["default"]
    srv.publish(gradient(64, 48), stream="cam2")
    srv.publish(gradient(32, 16), stream="cam1")

    async def both_published() -> list[dict[str, Any]]:
        streams = await listed(http, srv)
        return streams if all(s["seq"] for s in streams if s["name"] != "default") else []

    deadline = time.monotonic() + 5
    while not (streams := await both_published()):
        assert time.monotonic() < deadline, "streams not published"
        await asyncio.sleep(0.02)
    assert [s["name"] for s in streams] == ["cam1", "cam2", "default"]
    cam1, cam2, default = streams
    assert cam1 == {
        "name": "cam1",
        "url": "/s/cam1/",
        "seq": 1,
        "time": cam1["time"],
        "width": 32,
        "height": 16,
        "clients": 0,
    }
    assert abs(cam1["time"] - time.time()) < 30
    assert cam2["width"] == 64 and cam2["seq"] == 1
    assert default["seq"] == 0 and default["time"] is None and default["url"] == "/s/default/"


async def test_a_viewer_of_one_stream_hears_only_its_stream(
    streams_server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """A /ws viewer of cam1 never receives cam2's or the default stream's notifications;
    /s/cam1/events and /s/cam1/frames carry cam1's images only; the root /ws hears only the
    default stream; every message names its stream."""
    srv = streams_server
    srv.publish(gradient(), stream="cam1")
    srv.publish(gradient(), stream="cam2")
    await until(lambda: published(srv, "cam1", "cam2"))
    url = base(srv)
    async with (
        http.ws_connect(url + "/s/cam1/ws") as cam1,
        http.ws_connect(url + "/s/cam1/frames") as cam1_frames,
        http.ws_connect(url + "/ws") as root,
        http.get(url + "/s/cam1/events") as events,
    ):
        await until(lambda: srv.status()["clients"] == 4, what="four viewers")
        srv.publish(gradient(20, 20), {"who": "two"}, stream="cam2")
        srv.publish(gradient(20, 20), {"who": "default"})
        srv.publish(gradient(30, 10), {"who": "one"}, stream="cam1")
        message = await next_json(cam1)
        assert message["metadata"]["who"] == "one" and message["seq"] == 2
        assert message["metadata"]["framecast"]["stream"] == "cam1"
        binary = await asyncio.wait_for(cam1_frames.receive(), 5)
        assert binary.type == aiohttp.WSMsgType.BINARY
        with Image.open(io.BytesIO(binary.data)) as shown:
            assert shown.size == (30, 10)
        root_message = await next_json(root)
        assert root_message["metadata"]["who"] == "default"
        assert root_message["metadata"]["framecast"]["stream"] == "default"
        text = b""
        while b"event: new_image" not in text:
            text += await asyncio.wait_for(events.content.readany(), 5)
        assert b'"who":"one"' in text and b'"who":"two"' not in text
        # Nothing else is on its way to the cam1 viewer.
        srv.publish(gradient(), {"who": "two again"}, stream="cam2")
        cam2 = lambda: srv.status()["streams"]["cam2"]  # noqa: E731
        # Nobody watches cam2: an image is published or superseded, never both.
        await until(lambda: cam2()["frames_published"] + cam2()["frames_dropped"] == 3)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(cam1.receive(), 0.3)


async def test_unknown_streams_answer_404_and_create_nothing(
    streams_server: ImageServer, http: aiohttp.ClientSession, work: Path
) -> None:
    """Every route of a stream that does not exist answers 404 naming it and /streams,
    quickly, and nothing is created (no stream, no folder); invalid names answer 400."""
    url = base(streams_server)
    for route in (
        "",
        "ws",
        "events",
        "frames",
        "control",
        "web_image.jpg",
        "data.json",
        "api/status",
        "qr.svg",
        "index.html",
        "openseadragon.min.js",
    ):
        began = time.monotonic()
        async with http.get(f"{url}/s/nope/{route}") as response:
            assert response.status == 404, route
            text = await response.text()
        assert time.monotonic() - began < 1.0
        assert "'nope'" in text and "/streams" in text, text
    async with http.get(f"{url}/s/bad!name/ws") as response:
        assert response.status == 400
        assert "not valid" in await response.text()
    assert [s["name"] for s in await listed(http, streams_server)] == ["default"]
    assert not (work / "s").exists()
    assert streams_server.status()["streams"].keys() == {"default"}


async def test_a_stream_serves_the_viewer_and_its_own_files(
    streams_server: ImageServer, http: aiohttp.ClientSession, work: Path
) -> None:
    """/s/cam1/ is the same viewer page and assets as the root; its web_image.jpg and data.json
    are a waiting picture before the first image, then cam1's, also written under s/cam1/;
    /s/cam1 redirects to /s/cam1/ keeping the query."""
    srv = streams_server
    url = base(srv)
    async with http.get(url + "/") as root, http.get(url + "/s/default/") as default:
        index = await root.read()
        assert await default.read() == index
    async with http.get(url + "/s/cam1", allow_redirects=False) as response:
        assert response.status == 404  # not made yet
    srv.publish(np.zeros((1, 1), np.uint8), stream="cam1")
    await until(lambda: srv.status()["streams"].get("cam1", {}).get("frames_published"))
    async with http.get(url + "/s/cam1?token=x", allow_redirects=False) as response:
        assert response.status == 308 and response.headers["Location"] == "/s/cam1/?token=x"
    async with http.get(url + "/s/cam1/") as page:
        assert page.status == 200 and await page.read() == index
    async with http.get(url + "/s/cam1/openseadragon.min.js") as script:
        assert script.status == 200 and script.content_type == "text/javascript"
    srv.publish(gradient(80, 60), {"EXPO": "30s"}, stream="cam1")
    await until(lambda: srv.status()["streams"]["cam1"]["frames_published"] == 2)
    async with http.get(url + "/s/cam1/data.json") as response:
        data = await response.json()
    assert data["EXPO"] == "30s" and data["framecast"]["stream"] == "cam1"
    async with http.get(url + "/s/cam1/web_image.jpg") as response:
        with Image.open(io.BytesIO(await response.read())) as image:
            assert image.size == (80, 60)
    async with http.get(url + "/data.json") as response:
        assert (await response.json())["framecast"]["seq"] == 0, "the default stream is untouched"

    def on_disk() -> bool:
        path = work / "s" / "cam1" / "data.json"
        return path.is_file() and json.loads(path.read_text()).get("EXPO") == "30s"

    await until(on_disk, what="s/cam1/data.json written")
    with Image.open(work / "s" / "cam1" / "web_image.jpg") as image:
        assert image.size == (80, 60)


async def test_a_stream_without_an_image_shows_a_waiting_picture(tmp_path: Path) -> None:
    """A stream whose source has sent nothing yet answers a waiting picture and a data.json
    that says so, named after the stream; nothing of it is written to disk yet."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    work = tmp_path / "work"
    srv = ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, streams={"idle": {"watch": folder}}
    )
    await srv.astart()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(base(srv) + "/s/idle/data.json") as response:
                assert response.status == 200
                data = await response.json()
            async with http.get(base(srv) + "/s/idle/web_image.jpg") as response:
                assert response.content_type == "image/jpeg"
                waiting = await response.read()
        assert data == {"framecast": {"seq": 0, "waiting": True, "stream": "idle"}}
        assert waiting == (work / "web_image.jpg").read_bytes()
        assert not (work / "s" / "idle").exists()
    finally:
        await srv.astop()


async def test_ingest_creates_a_stream_with_the_token_and_within_max_streams(work: Path) -> None:
    """POST /s/<name>/api/frames makes the stream (202, then on disk); without the operator
    token it is 401 and nothing is made; beyond max_streams it is 409 with a clear message
    and publish() raises StreamLimitError; a bad name is 400."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, token="op", max_streams=2)
    await srv.astart()
    try:
        url = base(srv)
        async with aiohttp.ClientSession() as http:
            async with http.post(url + "/s/cam1/api/frames", data=png()) as response:
                assert response.status == 401
            assert srv.status()["streams"].keys() == {"default"}
            auth = {"Authorization": "Bearer op"}
            async with http.post(url + "/s/cam1/api/frames", data=png(), headers=auth) as r:
                assert r.status == 202 and (await r.json()) == {"ok": True, "seq": 1}
            async with http.post(url + "/s/cam2/api/frames", data=png(), headers=auth) as r:
                assert r.status == 409
                body = await r.json()
            assert "max_streams" in body["error"] and "'cam2'" in body["error"]
            async with http.post(url + "/s/c@m/api/frames", data=png(), headers=auth) as r:
                assert r.status == 400
            async with http.post(url + "/s/cam1/api/frames", data=png(), headers=auth) as r:
                assert r.status == 202 and (await r.json())["seq"] == 2
        with pytest.raises(StreamLimitError, match="max_streams"):
            srv.publish(gradient(), stream="cam3")
        with pytest.raises(ConfigError, match="not valid"):
            srv.publish(gradient(), stream="no/slash")
        status = srv.status()
        assert status["streams"]["cam1"]["frames_published"] == 2
        assert status["frames_ingested"] == 2
        await until(lambda: (work / "s" / "cam1" / "web_image.jpg").is_file())
    finally:
        await srv.astop()


async def test_control_per_stream(
    streams_server: ImageServer, http: aiohttp.ClientSession, work: Path
) -> None:
    """/s/cam1/control saves snapshots under snapshots/cam1/, resets only cam1's counters,
    and custom handlers (registered once, for every stream) get "stream": "cam1"."""
    srv = streams_server
    seen: list[dict[str, Any]] = []
    srv.on_command("focus", lambda fields: seen.append(fields))
    srv.publish(gradient(), stream="cam1")
    srv.publish(gradient(), stream="cam2")
    await until(lambda: published(srv, "cam1", "cam2"))
    async with http.ws_connect(base(srv) + "/s/cam1/control") as control:
        await control.send_json({"cmd": "snapshot_now"})
        reply = await next_json(control)
        assert reply["ok"] is True
        assert Path(reply["saved"]).parent == (work / "snapshots" / "cam1").resolve()
        await control.send_json({"cmd": "focus", "steps": 2})
        assert await next_json(control) == {"ok": True}
        await control.send_json({"cmd": "reset"})
        assert await next_json(control) == {"ok": True, "counters": "reset"}
    assert seen == [{"steps": 2, "stream": "cam1"}]
    streams = srv.status()["streams"]
    assert streams["cam1"]["frames_published"] == 0
    assert streams["cam2"]["frames_published"] == 1


async def test_status_names_every_stream_and_keeps_totals(
    streams_server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """/api/status's totals add up the streams, and streams{} has each one's counters;
    under /s/cam1/ it gives cam1's viewer URL (for the share dialog and QR code)."""
    srv = streams_server
    srv.publish(gradient(), stream="cam1")
    srv.publish(gradient())
    await until(lambda: srv.status()["frames_published"] == 2)
    async with http.ws_connect(base(srv) + "/s/cam1/ws"):
        await until(lambda: srv.status()["clients"] == 1)
        async with http.get(base(srv) + "/api/status") as response:
            status = await response.json()
        async with http.get(base(srv) + "/s/cam1/api/status") as response:
            cam1_status = await response.json()
        async with http.get(base(srv) + "/s/cam1/qr.svg") as response:
            qr_url = response.headers["X-Framecast-Url"]
    published_once = {
        "frames_published": 1,
        "frames_superseded": 0,
        "frames_dropped": 0,  # the old name of frames_superseded, kept for scripts
        "history_frames": 1,
    }
    assert status["streams"] == {
        "cam1": {**published_once, "clients": 1},
        "default": {**published_once, "clients": 0},
    }
    assert status["clients"] == 1 and status["frames_published"] == 2
    assert cam1_status["stream"] == "cam1" and cam1_status["url"] == srv.url + "s/cam1/"
    assert qr_url == srv.url + "s/cam1/"


async def test_overview_routes(streams_server: ImageServer, http: aiohttp.ClientSession) -> None:
    """GET /streams is an HTML page; GET / is the viewer until the default stream is empty
    while another stream exists, then the overview; once the default stream has an image, the
    viewer again."""
    srv = streams_server
    url = base(srv)
    async with http.get(url + "/") as response:
        index = await response.read()
    srv.publish(gradient(), stream="cam1")
    async with http.get(url + "/streams") as response:
        assert response.status == 200 and response.content_type == "text/html"
        overview = await response.read()
    assert overview != index
    async with http.get(url + "/") as response:
        assert response.status == 200 and await response.read() == overview
    srv.publish(gradient())
    await until(lambda: srv.status()["streams"]["default"]["frames_published"] == 1)
    async with http.get(url + "/") as response:
        assert await response.read() == index


async def test_stop_says_disconnect_to_every_stream(work: Path) -> None:
    """stop() sends disconnect to the viewers of every stream, the default one included."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    await srv.astart()
    srv.publish(gradient(), stream="cam1")
    await until(lambda: srv.status()["streams"]["cam1"]["frames_published"] == 1)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(base(srv) + "/s/cam1/ws") as cam1,
        http.ws_connect(base(srv) + "/ws") as root,
    ):
        await until(lambda: srv.status()["clients"] == 2)
        stopping = asyncio.create_task(srv.astop())
        assert await next_json(cam1) == {"type": "disconnect"}
        assert await next_json(root) == {"type": "disconnect"}
        await asyncio.wait_for(stopping, 5)


async def test_a_stalled_viewer_of_one_stream_does_not_delay_another(work: Path) -> None:
    """A cam1 viewer that never reads costs a cam2 viewer nothing: each cam2 image arrives
    promptly while cam1's buffers are full."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, send_timeout=30.0)
    await srv.astart()
    try:
        srv.publish(gradient(), stream="cam1")
        srv.publish(gradient(), stream="cam2")
        await until(lambda: published(srv, "cam1", "cam2"))
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        writer.write(
            b"GET /s/cam1/frames HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await writer.drain()
        assert b"101" in await asyncio.wait_for(reader.readline(), 5)
        noise = np.random.default_rng(1).integers(0, 255, (1024, 1024), dtype=np.uint8)
        async with aiohttp.ClientSession() as http, http.ws_connect(base(srv) + "/s/cam2/ws") as ws:
            await until(lambda: srv.status()["clients"] == 2, what="two viewers")
            for i in range(30):
                srv.publish(noise, stream="cam1")  # ~1 MB JPEGs the stalled viewer never takes
                await until(
                    lambda i=i: srv.status()["streams"]["cam1"]["frames_published"] == i + 2,
                    what="cam1's image",
                )
                began = time.monotonic()
                srv.publish(gradient(16, 16), {"i": i}, stream="cam2")
                message = await next_json(ws, timeout=5)
                assert message["metadata"]["i"] == i
                assert time.monotonic() - began < 1.0, f"cam2 image {i} was delayed"
            assert srv.status()["client_skips"] > 0, "the stalled viewer was never behind"
        writer.close()
    finally:
        await srv.astop()


async def test_a_failing_source_affects_only_its_stream(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """When the folder watched for stream 'lab' disappears, its source stops with one line
    naming it, and the simulator of stream 'sim' keeps publishing."""
    lab = tmp_path / "lab"
    lab.mkdir()
    srv = ImageServer(
        work_folder=tmp_path / "work",
        port=0,
        displayed_address=LOCAL,
        streams={"lab": {"watch": lab}, "sim": {"simulate": True, "simulate_rate": 50}},
    )
    await srv.astart()
    try:
        assert srv.status()["streams"].keys() == {"default", "lab", "sim"}
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(base(srv) + "/s/sim/ws") as ws,
        ):
            await next_json(ws)
            with caplog.at_level(logging.ERROR, logger="framecast.server"):
                shutil.rmtree(lab)
                await until(
                    lambda: any("disappeared" in r.getMessage() for r in caplog.records),
                    timeout=10,
                    what="the lab source's error",
                )
            lines = [r.getMessage() for r in caplog.records if "disappeared" in r.getMessage()]
            assert len(lines) == 1 and "lab" in lines[0]
            before = srv.status()["streams"]["sim"]["frames_published"]
            await until(
                lambda: srv.status()["streams"]["sim"]["frames_published"] >= before + 5,
                what="the simulator going on",
            )
            assert (await next_json(ws))["metadata"]["framecast"]["stream"] == "sim"
        assert srv.status()["task_errors"] == 0
    finally:
        await srv.astop()


def test_stream_options_are_checked_before_start(tmp_path: Path) -> None:
    """streams= refuses a bad name, an unknown key, a missing folder and 'default'."""
    with pytest.raises(ConfigError, match="not valid"):
        ImageServer(work_folder=tmp_path, streams={"a b": {"simulate": True}})
    with pytest.raises(ConfigError, match="unknown stream option 'port'"):
        ImageServer(work_folder=tmp_path, streams={"cam": {"port": 1}})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(ConfigError, match="does not exist"):
        ImageServer(work_folder=tmp_path, streams={"cam": {"watch": tmp_path / "missing"}})
    with pytest.raises(ConfigError, match="top-level"):
        ImageServer(work_folder=tmp_path, streams={"default": {"simulate": True}})


async def test_an_unwatched_stream_only_encodes_for_its_web_files(work: Path) -> None:
    """A stream nobody watches, fed 100 images in about a second, encodes only when its web
    files are due (max_file_rate 2/s), while a watched stream shows every image."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=2)
    await srv.astart()
    try:
        srv.publish(gradient(), stream="seen")
        await until(lambda: srv.status()["streams"]["seen"]["frames_published"] == 1)
        async with aiohttp.ClientSession() as http, http.ws_connect(base(srv) + "/s/seen/ws") as ws:
            await until(lambda: srv.status()["streams"]["seen"]["clients"] == 1)
            began = asyncio.get_running_loop().time()
            for i in range(100):
                srv.publish(gradient(), {"i": i}, stream="unseen")
                srv.publish(gradient(), {"i": i}, stream="seen")
                assert (await next_json(ws))["metadata"]["i"] == i
                await asyncio.sleep(0.01)  # a producer at ~100 images/s
        elapsed = asyncio.get_running_loop().time() - began  # ~1 s; longer on a busy machine
        streams = srv.status()["streams"]
        assert streams["seen"]["frames_published"] == 101
        most = 2 * elapsed + 3  # one web-file refresh per 1/max_file_rate s, plus the first
        assert 1 <= streams["unseen"]["frames_published"] <= most, (streams["unseen"], elapsed)
        assert streams["unseen"]["frames_dropped"] >= 100 - most
    finally:
        await srv.astop()


async def test_a_private_session_tells_stream_names_only_to_viewers(work: Path) -> None:
    """With a viewer token, an unknown stream is 401 without the token (nothing is told of
    which streams exist) and 404 with it."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, viewer_token="v")
    await srv.astart()
    try:
        async with aiohttp.ClientSession() as http:
            for route in ("ws", "data.json", "api/status"):
                async with http.get(f"{base(srv)}/s/nope/{route}") as response:
                    assert response.status == 401, route
                async with http.get(f"{base(srv)}/s/nope/{route}?token=v") as response:
                    assert response.status == 404, route
    finally:
        await srv.astop()


async def test_superseded_frames_are_counted_under_both_names(
    streams_server: ImageServer,
) -> None:
    """Images superseded before being encoded are counted as frames_superseded, and under
    its old name frames_dropped with the same number, in the totals and per stream."""
    srv = streams_server
    for i in range(40):  # nobody watches: only the images due for the web folder are made
        srv.publish(gradient(), stream="cam1", metadata={"i": i})
    await until(lambda: srv.status()["frames_submitted"] >= 40, what="every image received")
    await until(lambda: srv.status()["frames_superseded"] > 0, what="some superseded")
    status = srv.status()
    assert status["frames_superseded"] == status["frames_dropped"]
    assert status["client_frames_skipped"] == status["client_skips"]
    cam1 = status["streams"]["cam1"]
    assert cam1["frames_superseded"] == cam1["frames_dropped"] > 0
