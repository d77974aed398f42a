"""framecast.Client and `framecast push` / `framecast command` against real servers."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import simplejpeg
from aiohttp import web
from PIL import Image

from framecast import Client, ClientError, ConfigError, ImageError, ImageServer, imaging
from framecast.errors import FramecastError, ShapeError
from framecast.remote import upload
from tests.conftest import LOCAL, base, gradient, until
from tests.test_architecture import SRC, imports_of

PYTHON = sys.executable
TOKEN = "s3cret-token"


@pytest.fixture
def threaded(work: Path) -> Iterator[ImageServer]:
    """A server on its own thread, so blocking client calls from the test can reach it."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=50)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
async def guarded(work: Path) -> AsyncIterator[ImageServer]:
    """A server that needs the operator token and takes small uploads only."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        token=TOKEN,
        max_ingest_bytes=50_000,
        max_file_rate=50,
    )
    await srv.astart()
    try:
        yield srv
    finally:
        await srv.astop()


async def _web_image(url: str) -> np.ndarray:
    async with aiohttp.ClientSession() as http, http.get(url + "/web_image.jpg") as response:
        assert response.status == 200
        return np.asarray(simplejpeg.decode_jpeg(await response.read(), colorspace="GRAY"))[..., 0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


# -- the bytes sent (pure) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.uint16, np.int16, np.int32, np.uint32, np.float32, np.float64]
)
@pytest.mark.parametrize("shape", [(6, 9), (6, 9, 3), (6, 9, 4)])
def test_arrays_are_encoded_without_losing_a_bit(dtype: Any, shape: tuple[int, ...]) -> None:
    """What the server decodes from the uploaded bytes is the published array, same dtype."""
    rng = np.random.default_rng(7)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    else:
        array = (rng.standard_normal(shape) * 1e6).astype(dtype)
    data = upload.encode(array)
    expected = "png" if dtype == np.uint8 or (dtype == np.uint16 and len(shape) == 2) else "tiff"
    assert imaging.sniff(data) == expected
    back = imaging.load(data)
    assert back.dtype == array.dtype and np.array_equal(back, array)


def test_files_in_ingest_formats_are_sent_unchanged_and_others_reencoded(tmp_path: Path) -> None:
    """A PNG file is sent byte for byte; a BMP file and a PIL image become PNG."""
    picture = Image.fromarray(gradient())
    picture.save(tmp_path / "a.png")
    picture.save(tmp_path / "a.bmp")
    assert upload.encode(tmp_path / "a.png") == (tmp_path / "a.png").read_bytes()
    assert imaging.sniff(upload.encode(str(tmp_path / "a.bmp"))) == "png"
    assert np.array_equal(imaging.load(upload.encode(picture)), gradient())
    with pytest.raises(ImageError, match="cannot publish a dict"):
        upload.encode({"not": "an image"})
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ImageError, match=r"notes\.txt is not a known image format"):
        upload.encode(tmp_path / "notes.txt")
    with pytest.raises(ImageError, match="does not exist"):
        upload.encode(tmp_path / "missing.png")


def test_client_stays_out_of_the_server_side() -> None:
    """No module of framecast.remote imports the server, the web layer, the broker, the hub
    or the pipeline."""
    modules = sorted((SRC / "remote").glob("*.py"))
    assert len(modules) >= 7
    for path in modules:
        module = f"framecast.remote.{path.stem}"
        found = imports_of(path, module)
        bad = [
            name
            for name in found
            for layer in (
                "framecast.server",
                "framecast.web",
                "framecast.broker",
                "framecast.live.hub",
                "framecast.live.pipeline",
            )
            if name == layer or name.startswith(layer + ".")
        ]
        assert not bad, f"{module} imports {bad}"


def test_bad_url_stream_and_fields_are_refused_before_sending() -> None:
    """A URL that is not http(s), a bad stream name and a 'cmd' field raise ConfigError."""
    with pytest.raises(ConfigError, match="http://HOST:PORT"):
        Client("ftp://example.org/")
    client = Client("127.0.0.1:9")  # nothing is sent: the checks come first
    assert client.url == "http://127.0.0.1:9/"
    with pytest.raises(ConfigError, match=r"stream name '\.\./x' is not valid"):
        client.publish(gradient(), stream="../x")
    with pytest.raises(ConfigError, match="first argument"):
        client.command("reset", cmd="other")
    assert isinstance(ClientError("x"), FramecastError)


# -- publish ---------------------------------------------------------------------------------


async def test_apublish_returns_the_seq_and_the_server_shows_image_and_metadata(
    server: ImageServer,
) -> None:
    """apublish gets the frame's seq; /api/status and /data.json show the image and metadata."""
    client = Client(base(server))
    seq = await client.apublish(gradient(), metadata={"EXPO": 30, "OBJECT": "M31 ✓"})
    assert seq is not None and seq >= 1
    status = server.status()
    assert status["frames_ingested"] == 1 and status["latest_seq"] == seq
    async with aiohttp.ClientSession() as http, http.get(base(server) + "/data.json") as r:
        data = json.loads(await r.read())
    assert data["EXPO"] == 30 and data["OBJECT"] == "M31 ✓"


async def test_sixteen_bit_mono_keeps_its_depth_through_the_server(server: ImageServer) -> None:
    """Two uint16 levels that share their high byte (0xFF00, 0xFFFF) still show as dark and
    bright halves: the server got all 16 bits (8 bits would make one flat grey)."""
    array = np.full((64, 128), 0xFF00, dtype=np.uint16)
    array[:, 64:] = 0xFFFF
    data = upload.encode(array)
    assert imaging.sniff(data) == "png" and imaging.load(data).dtype == np.uint16
    assert await Client(base(server)).apublish(array) is not None
    shown = await _web_image(base(server))
    left, right = float(shown[:, :56].mean()), float(shown[:, 72:].mean())
    assert left < 40 and right > 215, (left, right)


async def test_float64_array_keeps_its_values_through_the_server(server: ImageServer) -> None:
    """A float64 ramp of tiny values (1e-9 steps) is shown as a ramp, not a flat image."""
    ramp = 1.0 + np.tile(np.linspace(0, 1e-7, 128), (32, 1))
    assert await Client(base(server)).apublish(ramp) is not None
    shown = await _web_image(base(server))
    assert float(shown[:, :16].mean()) < 40 and float(shown[:, -16:].mean()) > 215


def test_blocking_publish_of_path_bytes_and_pil_image(
    threaded: ImageServer, tmp_path: Path
) -> None:
    """publish() without an event loop accepts a path, JPEG bytes and a PIL image; the seqs
    increase and the server counts three ingested frames."""
    Image.fromarray(gradient()).save(tmp_path / "frame.png")
    jpeg = simplejpeg.encode_jpeg(np.ascontiguousarray(gradient()[:, :, None]), colorspace="GRAY")
    client = Client(base(threaded))
    seqs = [
        client.publish(tmp_path / "frame.png"),
        client.publish(jpeg, {"n": 2}),
        client.publish(Image.fromarray(gradient()), {"n": 3}),
    ]
    assert all(isinstance(s, int) for s in seqs), seqs
    assert seqs[0] < seqs[1] < seqs[2]  # type: ignore[operator]
    assert threaded.status()["frames_ingested"] == 3


async def test_blocking_calls_work_inside_a_running_event_loop(threaded: ImageServer) -> None:
    """publish() and command() called from a coroutine (as in a notebook) still answer."""
    client = Client(base(threaded))
    assert client.publish(gradient()) is not None
    assert client.command("reset") == {"ok": True, "counters": "reset"}


# -- command ---------------------------------------------------------------------------------


async def test_acommand_snapshot_writes_the_file_and_custom_fields_arrive(
    server: ImageServer,
) -> None:
    """snapshot_now before an image says so; after one it saves a file on disk; a custom
    command gets the fields and its reply comes back."""
    server.on_command("focus", lambda fields: {"ok": True, "got": fields})
    client = Client(base(server))
    assert await client.acommand("snapshot_now") == {
        "ok": False,
        "error": "no frame yet",
        "reason": "no frame yet",
    }
    await client.apublish(gradient())
    reply = await client.acommand("snapshot_now")
    assert reply["ok"] is True
    assert await asyncio.to_thread(Path(reply["saved"]).is_file)
    assert await client.acommand("focus", steps=20, name="x") == {
        "ok": True,
        "got": {"steps": 20, "name": "x", "stream": "default"},
    }


async def test_unknown_command_is_a_client_error(server: ImageServer) -> None:
    """A command the server does not know raises ClientError naming it."""
    with pytest.raises(ClientError, match="no command 'nope'"):
        await Client(base(server)).acommand("nope")


# -- errors ----------------------------------------------------------------------------------


async def test_unreachable_server_is_one_clear_line() -> None:
    """Nothing listening: ClientError says it cannot reach the server, no status."""
    client = Client(f"http://127.0.0.1:{_free_port()}", timeout=5)
    for call in (lambda: client.apublish(gradient()), lambda: client.acommand("reset")):
        with pytest.raises(ClientError) as caught:
            await call()
        assert caught.value.status is None
        assert "cannot reach framecast" in str(caught.value) and "Connection refused" in str(
            caught.value
        )
        assert "\n" not in str(caught.value)


async def test_token_missing_wrong_and_right(guarded: ImageServer) -> None:
    """Without the token 401 says to give it; a wrong one says to check it; the right one
    publishes and commands."""
    for client, hint in ((Client(base(guarded)), "needs"), (Client(base(guarded), "x"), "refused")):
        with pytest.raises(ClientError, match=f"{hint}.*401") as caught:
            await client.apublish(gradient())
        assert caught.value.status == 401
        with pytest.raises(ClientError, match=f"{hint}.*401"):
            await client.acommand("reset")
    client = Client(base(guarded), TOKEN)
    assert await client.apublish(gradient()) is not None
    assert guarded.status()["ingest_rejected"] == 2
    assert (await client.acommand("reset"))["ok"] is True


async def test_too_large_and_unreadable_images(guarded: ImageServer) -> None:
    """Over max_ingest_bytes is a 413 error, bytes that are no image a 415 error; the
    server's own reason is in the line."""
    client = Client(base(guarded), TOKEN)
    noise = np.random.default_rng(1).integers(0, 255, (300, 300), dtype=np.uint8)
    with pytest.raises(ClientError, match=r"too large \(413\).*max_ingest_bytes") as caught:
        await client.apublish(noise)
    assert caught.value.status == 413
    with pytest.raises(ClientError, match=r"cannot read the image \(415\)") as caught:
        await client.apublish(b"hello, not an image")
    assert caught.value.status == 415


async def test_metadata_too_long_for_a_header_says_so(server: ImageServer) -> None:
    """Metadata longer than the server reads in one header is a 400 that says to send less."""
    with pytest.raises(ClientError, match=r"refused the metadata \(400\).*send less") as caught:
        await Client(base(server)).apublish(gradient(), {"notes": "x" * 9000})
    assert caught.value.status == 400


async def test_wrong_path_is_not_found(server: ImageServer) -> None:
    """A URL with a path the server does not serve: publish and command say 'not found'."""
    client = Client(base(server) + "/nothing/here/")
    with pytest.raises(ClientError, match="not found"):
        await client.apublish(gradient())
    with pytest.raises(ClientError, match=r"not found \(404\)") as caught:
        await client.acommand("reset")
    assert caught.value.status == 404


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on loopback that records each POST and answers the status asked for
    in the path (``/status/409/…``), as a framecast server of another version might."""
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(
            {
                "path": request.path,
                "auth": request.headers.get("Authorization"),
                "metadata": request.headers.get("X-Framecast-Metadata"),
                "body": await request.read(),
            }
        )
        status = int(request.match_info.get("status", 202))
        if status == 202:
            return web.json_response({"ok": True, "seq": 7}, status=202)
        return web.json_response({"ok": False, "error": f"said with {status}"}, status=status)

    app = web.Application()
    app.router.add_post("/status/{status}/{rest:.*}", handle)
    app.router.add_post("/{rest:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_stream_route_bearer_token_and_metadata_header(
    recorder: tuple[str, list[dict[str, Any]]],
) -> None:
    """publish(stream=...) posts to /s/NAME/api/frames with the Bearer token, the metadata as
    JSON in X-Framecast-Metadata (numpy values as numbers) and the PNG bytes as body."""
    url, seen = recorder
    client = Client(url + "/proxy/", TOKEN)
    assert await client.apublish(gradient(), {"gain": np.float32(1.5)}, stream="cam-1") == 7
    assert await client.apublish(gradient()) == 7
    assert [s["path"] for s in seen] == ["/proxy/s/cam-1/api/frames", "/proxy/api/frames"]
    assert seen[0]["auth"] == f"Bearer {TOKEN}"
    assert json.loads(seen[0]["metadata"]) == {"gain": 1.5}
    assert seen[1]["metadata"] is None
    assert np.array_equal(imaging.load(seen[0]["body"]), gradient())


@pytest.mark.parametrize(
    ("status", "words"),
    [(403, "refused (403): said with 403"), (404, "not found (404)"), (409, "(409): said with")],
)
async def test_refusals_carry_the_status_and_the_servers_reason(
    recorder: tuple[str, list[dict[str, Any]]], status: int, words: str
) -> None:
    """403, 404 and 409 answers become one-line ClientErrors with the server's reason."""
    url, _ = recorder
    with pytest.raises(ClientError) as caught:
        await Client(f"{url}/status/{status}/").apublish(gradient())
    assert caught.value.status == status
    assert words in str(caught.value) and "\n" not in str(caught.value)


# -- the command line ------------------------------------------------------------------------


async def _framecast(*args: str, stdin: bytes = b"", **env: str) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRAMECAST_")}
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "framecast",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**clean, **env},
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_push_sends_files_in_natural_order_with_metadata(
    server: ImageServer, tmp_path: Path
) -> None:
    """`framecast push a10.png a2.png` pushes a2 first; both get seqs; the metadata arrives."""
    for name, level in (("a10.png", 200), ("a2.png", 100)):
        Image.fromarray(np.full((16, 16), level, np.uint8)).save(tmp_path / name)
    code, out, err = await _framecast(
        "push",
        str(tmp_path / "a10.png"),
        str(tmp_path / "a2.png"),
        "--metadata",
        '{"EXPO": 30}',
        "--url",
        base(server),
    )
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        str(tmp_path / "a2.png"),
        str(tmp_path / "a10.png"),
    ]
    assert all(": seq " in line for line in lines)
    assert server.status()["frames_ingested"] == 2
    async with aiohttp.ClientSession() as http, http.get(base(server) + "/data.json") as r:
        assert json.loads(await r.read())["EXPO"] == 30
    shown = await _web_image(base(server))
    assert abs(float(shown.mean()) - 200) < 8, "the last one shown is a10"


async def test_push_reads_stdin_with_the_token_from_the_environment(guarded: ImageServer) -> None:
    """`framecast push -` sends standard input; FRAMECAST_TOKEN and FRAMECAST_URL are used."""
    buffer = io.BytesIO()
    Image.fromarray(gradient()).save(buffer, "PNG")
    code, out, err = await _framecast(
        "push", "-", stdin=buffer.getvalue(), FRAMECAST_TOKEN=TOKEN, FRAMECAST_URL=base(guarded)
    )
    assert code == 0, err
    assert out.startswith("stdin: seq ")
    assert guarded.status()["frames_ingested"] == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["push", "missing.png", "--url", "http://127.0.0.1:9"], "missing.png does not exist"),
        (["push", "-", "--metadata", "[1]", "--url", "http://127.0.0.1:9"], "JSON object"),
        (["push", "-"], "--url"),
        (
            ["push", "-", "--timeout", "soon", "--url", "http://127.0.0.1:9"],
            "invalid value 'soon' for --timeout: expected a number",
        ),
        (["command", "reset", "--field", "novalue", "--url", "http://127.0.0.1:9"], "KEY=VALUE"),
    ],
)
async def test_cli_mistakes_exit_2_with_one_line(args: list[str], words: str) -> None:
    """Missing file, bad --metadata, no --url, a --timeout that is no number, bad --field:
    exit 2, one line saying what to give, no traceback."""
    code, out, err = await _framecast(*args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and words in err, err


async def test_cli_server_refusals_exit_2_with_one_line(guarded: ImageServer) -> None:
    """Unreachable and 401 from `push` and `command`: exit 2 and one line each."""
    url = f"http://127.0.0.1:{_free_port()}"
    for args, words in (
        (["command", "reset", "--url", url], "cannot reach framecast"),
        (["command", "reset", "--url", base(guarded)], "401"),
        (["push", "-", "--url", base(guarded), "--token", "wrong"], "refused the token"),
    ):
        code, _, err = await _framecast(*args, stdin=upload.encode(gradient()))
        assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err


async def test_command_prints_the_reply_with_typed_fields(server: ImageServer) -> None:
    """`framecast command focus --field steps=20 --field label=007` sends 20 as a number and
    007 as text, prints the JSON reply; an ok:false reply exits 1; unknown exits 2."""
    server.on_command("focus", lambda fields: {"ok": True, "got": fields})
    code, out, err = await _framecast(
        "command", "focus", "--field", "steps=20", "--field", "label=007", "--url", base(server)
    )
    assert code == 0, err
    got = {"steps": 20, "label": "007", "stream": "default"}
    assert json.loads(out) == {"ok": True, "got": got}
    code, out, _ = await _framecast("command", "snapshot_now", "--url", base(server))
    assert code == 1 and json.loads(out)["reason"] == "no frame yet"
    code, _, err = await _framecast("command", "nope", "--url", base(server))
    assert code == 2 and "no command 'nope'" in err
    await until(lambda: server.status()["commands_run"] >= 3, what="three commands run")


async def test_publish_to_a_named_stream_of_a_real_server(server: ImageServer) -> None:
    """Client.apublish(stream="cam1") creates the stream on the real server: it is listed in
    /api/streams, /s/cam1/data.json carries the metadata, and the default stream is untouched."""
    client = Client(base(server))
    seq = await client.apublish(gradient(), metadata={"camera": "one"}, stream="cam1")
    assert seq == 1
    async with aiohttp.ClientSession() as http:
        async with http.get(base(server) + "/api/streams") as response:
            listed = {s["name"]: s for s in (await response.json())["streams"]}
        async with http.get(base(server) + "/s/cam1/data.json") as response:
            data = json.loads(await response.read())
        async with http.get(base(server) + "/data.json") as response:
            root = json.loads(await response.read())
    assert listed["cam1"]["seq"] == 1
    assert data["camera"] == "one" and data["framecast"]["seq"] == 1
    assert "camera" not in root


# -- messages name the caller's options ------------------------------------------------------


@pytest.fixture
async def silent() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never answers."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    listener = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    finally:
        listener.close()
        await listener.wait_closed()


async def test_python_errors_name_keywords(guarded: ImageServer, silent: str) -> None:
    """The Python API's messages say timeout= and token=, never the CLI's --flags."""
    with pytest.raises(ConfigError, match=r"^timeout= must be more than 0 seconds, not 0$"):
        Client(base(guarded), timeout=0)
    with pytest.raises(ClientError) as caught:
        await Client(silent, timeout=0.5).apublish(gradient())
    assert str(caught.value).endswith("allow more time with timeout=")
    with pytest.raises(ClientError) as caught:
        await Client(base(guarded), "wrong").apublish(gradient())
    assert str(caught.value).endswith("refused the token (401); check the one given with token=")
    with pytest.raises(ClientError) as caught:
        await Client(base(guarded)).acommand("reset")
    assert str(caught.value).endswith("(401); give it with token=")
    with pytest.raises(ConfigError, match=r"^the client url 'ftp://x/' is not"):
        Client("ftp://x/")


async def test_cli_errors_name_flags(guarded: ImageServer, silent: str) -> None:
    """`framecast push`'s messages say --timeout, --token and --url, never keywords."""
    image = upload.encode(gradient())
    for args, words in (
        (["--url", base(guarded), "--timeout", "0"], "--timeout must be more than 0 seconds"),
        (["--url", silent, "--timeout", "0.5"], "allow more time with --timeout"),
        (["--url", base(guarded), "--token", "wrong"], "check the one given with --token or"),
        (["--url", base(guarded)], "give it with --token or FRAMECAST_TOKEN"),
        (["--url", "ftp://x/"], "--url 'ftp://x/' is not"),
    ):
        code, _, err = await _framecast("push", "-", *args, stdin=image)
        assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err
        assert not [k for k in ("timeout=", "token=", "client url") if k in err], err


async def test_client_and_push_send_overlays_with_their_image(
    server: ImageServer, tmp_path: Path
) -> None:
    """Client.apublish(overlays=…) and `framecast push --overlays FILE.json` publish each
    image with its shapes (in its history data.json); a shape that cannot be drawn is a
    ShapeError in the client (push: one line, exit 2) and nothing reaches the server."""
    circle = {"shape": "circle", "x": 8, "y": 8, "r": 4, "text": "beam"}
    seq = await Client(base(server)).apublish(gradient(), overlays=[circle])
    Image.fromarray(gradient(16, 16)).save(tmp_path / "a.png")
    shapes = tmp_path / "shapes.json"
    shapes.write_text(json.dumps([{"shape": "point", "x": 2, "y": 3, "colour": "red"}]))
    code, out, err = await _framecast(
        "push", str(tmp_path / "a.png"), "--overlays", str(shapes), "--url", base(server)
    )
    assert code == 0, err
    pushed = int(out.split("seq ")[1])
    async with aiohttp.ClientSession() as http:
        for number, expected in ((seq, [circle]), (pushed, json.loads(shapes.read_text()))):
            async with http.get(f"{base(server)}/history/{number}.json") as r:
                assert json.loads(await r.read())["framecast"]["overlays"] == expected
    with pytest.raises(ShapeError, match=r"overlay 0 \(point\): y is missing"):
        await Client(base(server)).apublish(gradient(), overlays=[{"shape": "point", "x": 1}])
    shapes.write_text(json.dumps([{"shape": "blob"}]))
    code, _out, err = await _framecast(
        "push", str(tmp_path / "a.png"), "--overlays", str(shapes), "--url", base(server)
    )
    assert code == 2 and 'shape is "blob"' in err and len(err.strip().splitlines()) == 1
    assert server.status()["frames_ingested"] == 2
