"""/control on real sockets: the exact replies of docs/control.md, custom commands, tokens,
origins, limits, and fuzzing that proves every message gets exactly one reply."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from framecast import ImageServer
from framecast.errors import ConfigError
from tests.conftest import LOCAL, base, gradient, next_json, until

pytestmark = pytest.mark.timeout(120)


async def ask(ws: aiohttp.ClientWebSocketResponse, message: str | bytes) -> dict[str, Any]:
    if isinstance(message, bytes):
        await ws.send_bytes(message)
    else:
        await ws.send_str(message)
    return await next_json(ws)


async def published(srv: ImageServer, count: int) -> None:
    await until(lambda: srv.status()["latest_seq"] >= count, what=f"frame {count} published")


async def test_each_reply_of_the_spec(server: ImageServer, http: aiohttp.ClientSession) -> None:
    """no frame yet / saved / counters reset / bad json / unknown command, exactly, on one
    socket that stays open after every error."""
    async with http.ws_connect(base(server) + "/control") as ws:
        assert await ask(ws, '{"cmd": "snapshot_now"}') == {
            "ok": False,
            "error": "no frame yet",
            "reason": "no frame yet",
        }
        assert await ask(ws, "this is not json") == {"error": "bad json"}
        assert await ask(ws, '{"cmd": "self_destruct"}') == {"error": "unknown command"}
        server.publish(gradient())
        await published(server, 1)
        reply = await ask(ws, json.dumps({"cmd": "snapshot_now"}))
        assert set(reply) == {"ok", "saved"} and reply["ok"] is True
        assert await ask(ws, '{"cmd": "reset"}') == {"ok": True, "counters": "reset"}
        assert not ws.closed


async def test_snapshots_decode_and_never_collide(
    server: ImageServer, work: Path, http: aiohttp.ClientSession
) -> None:
    """Snapshots of five frames within one second are five different absolute paths under
    <work>/snapshots, each a JPEG with its frame's full-size pixels."""
    paths = []
    async with http.ws_connect(base(server) + "/control") as ws:
        for n in range(1, 6):
            server.publish(gradient(640, 480), metadata={"n": n})
            await published(server, n)
            reply = await ask(ws, '{"cmd": "snapshot_now"}')
            paths.append(Path(reply["saved"]))
            assert f"-{n:06d}-" in paths[-1].name
    assert len(set(paths)) == 5
    for path in paths:
        assert path.is_absolute() and path.parent == (work / "snapshots").resolve()
        with Image.open(io.BytesIO(path.read_bytes())) as image:
            assert image.format == "JPEG" and image.size == (640, 480)
            pixels = np.asarray(image.convert("L"), dtype=float)
        expected = gradient(640, 480).astype(float)
        assert np.abs(pixels - expected).mean() < 3, "snapshot differs from the published image"
    assert sorted(p.name for p in (work / "snapshots").iterdir()) == sorted(p.name for p in paths)


async def test_a_snapshot_flood_writes_one_file_per_frame(
    server: ImageServer, work: Path, http: aiohttp.ClientSession
) -> None:
    """Ten snapshot_now for a frame that does not change, from two sockets, all answer the
    same path and leave one file; the next frame gets its own file."""
    server.publish(gradient(640, 480))
    await published(server, 1)
    folder = work / "snapshots"
    async with (
        http.ws_connect(base(server) + "/control") as one,
        http.ws_connect(base(server) + "/control") as two,
    ):
        replies = [await ask((one, two)[n % 2], '{"cmd": "snapshot_now"}') for n in range(10)]
        assert replies[0]["ok"] is True and replies == [replies[0]] * 10
        files = list(folder.iterdir())
        assert [p.name for p in files] == [Path(replies[0]["saved"]).name]
        written = files[0].stat().st_size
        server.publish(gradient(640, 480))
        await published(server, 2)
        again = await ask(one, '{"cmd": "snapshot_now"}')
        assert again["ok"] is True and again["saved"] != replies[0]["saved"]
    assert len(list(folder.iterdir())) == 2
    assert sum(p.stat().st_size for p in folder.iterdir()) < 3 * written


async def test_a_full_snapshots_folder_refuses_snapshot_now(work: Path) -> None:
    """With files of an earlier run filling max_snapshots_bytes, snapshot_now is refused
    with a reason saying how to make room, and nothing is written; other commands work."""
    folder = work / "snapshots"
    folder.mkdir(parents=True)
    (folder / "20250101-000000-000001-0001aaaa.jpg").write_bytes(b"x" * 5000)
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_snapshots_bytes=5000)
    async with (
        srv,
        aiohttp.ClientSession() as http,
        http.ws_connect(base(srv) + "/control") as ws,
    ):
        srv.publish(gradient())
        await published(srv, 1)
        reply = await ask(ws, '{"cmd": "snapshot_now"}')
        full = (
            f"the snapshots folder {folder.resolve()} is full: it holds 4.9 KiB of "
            "max_snapshots_bytes 4.9 KiB; delete or move snapshots from it, or raise "
            "max_snapshots_bytes="  # as the Python API that started this server names it
        )
        assert reply == {"ok": False, "error": full, "reason": full}
        assert [p.name for p in folder.iterdir()] == ["20250101-000000-000001-0001aaaa.jpg"]
        assert await ask(ws, '{"cmd": "reset"}') == {"ok": True, "counters": "reset"}


async def test_a_command_flood_is_refused_per_socket_and_not_run(work: Path) -> None:
    """Past max_command_burst, a socket's commands (custom and built-in) are answered
    ok:false with the reason and not run; another socket is not affected; /api/status
    counts the refusals under commands_limited."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        max_command_burst=5,
        max_command_rate=0.01,
    )
    ran: list[dict[str, Any]] = []
    srv.on_command("focus", lambda fields: ran.append(fields))
    limit = (
        "too many commands: at most 0.01 per second on this connection "
        "(max_command_rate, after a burst of 5); wait and retry"
    )
    refused = {"ok": False, "error": limit, "reason": limit}
    async with srv, aiohttp.ClientSession() as http:
        async with http.ws_connect(base(srv) + "/control") as ws:
            for message in [b'{"cmd": "focus"}'] * 5:  # sent at once, answered in order
                await ws.send_bytes(message)
            replies = [await next_json(ws) for _ in range(5)]
            assert replies == [{"ok": True}] * 5
            assert await ask(ws, '{"cmd": "focus"}') == refused
            assert await ask(ws, '{"cmd": "reset"}') == refused
            assert await ask(ws, '{"cmd": "snapshot_now"}') == refused
        async with http.ws_connect(base(srv) + "/control") as other:
            assert await ask(other, '{"cmd": "focus"}') == {"ok": True}
        async with http.get(base(srv) + "/api/status") as response:
            status = await response.json()
    assert len(ran) == 6 and status["commands_limited"] == 3 and status["commands_run"] == 6


async def test_a_stream_limit_spans_its_sockets(work: Path) -> None:
    """Three sockets of stream cam1 share max_stream_command_burst: past it, commands are
    refused naming the stream and not run, while the root's stream still takes commands."""
    srv = ImageServer(
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        max_stream_command_burst=4,
        max_stream_command_rate=0.01,
    )
    ran: list[str] = []
    srv.on_command("focus", lambda fields: ran.append(fields["stream"]))
    async with srv, aiohttp.ClientSession() as http:
        srv.publish(gradient(), stream="cam1")
        replies = []
        for _ in range(3):
            async with http.ws_connect(base(srv) + "/s/cam1/control") as ws:
                replies += [await ask(ws, '{"cmd": "focus"}') for _ in range(2)]
        async with http.ws_connect(base(srv) + "/control") as root:
            assert await ask(root, '{"cmd": "focus"}') == {"ok": True}
    assert replies[:4] == [{"ok": True}] * 4
    reason = (
        "too many commands: at most 0.01 per second for stream 'cam1' from all its clients "
        "(max_stream_command_rate, after a burst of 4); wait and retry"
    )
    assert replies[4:] == [{"ok": False, "error": reason, "reason": reason}] * 2
    assert ran == ["cam1"] * 4 + ["default"]


async def test_the_root_control_names_the_default_stream(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """A custom handler reached through /control (no /s/<name>/) gets "stream": "default"."""
    server.on_command("where", lambda fields: {"ok": True, "fields": fields})
    async with http.ws_connect(base(server) + "/control") as ws:
        assert await ask(ws, '{"cmd": "where", "x": 1}') == {
            "ok": True,
            "fields": {"x": 1, "stream": "default"},
        }


async def test_reset_sets_session_counters_to_zero(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """After reset, /api/status shows frames_published 0; the next frame keeps numbering."""
    for i in range(3):
        server.publish(gradient(), metadata={"i": i})
        await until(lambda i=i: server.status()["frames_submitted"] == i + 1, what="submitted")
    await until(lambda: server.status()["frames_published"] >= 1, what="published")
    last_seq = server.status()["latest_seq"]
    async with http.ws_connect(base(server) + "/control") as ws:
        assert await ask(ws, '{"cmd": "reset"}') == {"ok": True, "counters": "reset"}
    async with http.get(base(server) + "/api/status") as response:
        status = await response.json()
    names = ("frames_published", "frames_superseded", "frames_dropped", "client_frames_skipped")
    for key in (*names, "client_skips", "frames_submitted", "clients_evicted"):
        assert status[key] == 0, key
    server.publish(gradient())
    await until(lambda: server.status()["latest_seq"] == last_seq + 1, what="numbering goes on")


async def test_custom_commands_round_trip(work: Path) -> None:
    """Handlers registered before and after start, sync and async, get the fields; their
    dict is the reply, None is {"ok": true}, an exception is an error reply and a log line,
    and the socket keeps working."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    calls: list[dict[str, Any]] = []

    def focus(fields: dict[str, Any]) -> dict[str, Any]:
        calls.append(fields)
        return {"ok": True, "position": fields["steps"] * 10}

    async def park(fields: dict[str, Any]) -> None:
        calls.append(fields)

    def jam(fields: dict[str, Any]) -> None:
        raise RuntimeError("motor stalled at 42")

    srv.on_command("focus", focus)
    async with srv, aiohttp.ClientSession() as http:
        srv.on_command("park", park)
        srv.on_command("jam", jam)
        async with http.ws_connect(base(srv) + "/control") as ws:
            assert await ask(ws, '{"cmd": "focus", "steps": 3}') == {"ok": True, "position": 30}
            assert await ask(ws, '{"cmd": "park", "where": "home"}') == {"ok": True}
            assert await ask(ws, '{"cmd": "jam"}') == {"ok": False, "error": "motor stalled at 42"}
            assert await ask(ws, '{"cmd": "focus", "steps": 1}') == {"ok": True, "position": 10}
        async with http.get(base(srv) + "/api/status") as response:
            assert (await response.json())["commands"] == [
                "snapshot_now",
                "reset",
                "focus",
                "jam",
                "park",
            ]
    root = {"stream": "default"}
    assert calls == [{"steps": 3, **root}, {"where": "home", **root}, {"steps": 1, **root}]
    with pytest.raises(ConfigError):
        srv.on_command("reset", focus)


async def test_handler_exception_is_logged(work: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The failing handler's message reaches the log under framecast.live.commands."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)

    async def explode(fields: dict[str, Any]) -> None:
        raise ValueError("lens cap on")

    srv.on_command("explode", explode)
    with caplog.at_level(logging.ERROR, logger="framecast.control"):
        async with (
            srv,
            aiohttp.ClientSession() as http,
            http.ws_connect(base(srv) + "/control") as ws,
        ):
            reply = await ask(ws, '{"cmd": "explode"}')
    assert reply == {"ok": False, "error": "lens cap on"}
    assert any("lens cap on" in r.getMessage() for r in caplog.records)


async def test_foreign_origin_is_refused(server: ImageServer, http: aiohttp.ClientSession) -> None:
    """A page from another origin cannot open /control (403); the same origin can."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await http.ws_connect(base(server) + "/control", origin="http://evil.example")
    assert info.value.status == 403
    async with http.ws_connect(
        base(server) + "/control", origin=f"http://127.0.0.1:{server.port}"
    ) as ws:
        assert await ask(ws, '{"cmd": "reset"}') == {"ok": True, "counters": "reset"}


async def test_operator_token(work: Path) -> None:
    """With a token, /control refuses the upgrade with 401 without it or with a wrong one,
    and works with ?token= or a Bearer header; /ws stays open to viewers."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, token="s3cret")
    async with srv, aiohttp.ClientSession() as http:
        url = base(srv) + "/control"
        for params in ({}, {"token": "wrong"}):
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await http.ws_connect(url, params=params)
            assert info.value.status == 401
        async with http.ws_connect(url, params={"token": "s3cret"}) as ws:
            assert await ask(ws, '{"cmd": "reset"}') == {"ok": True, "counters": "reset"}
        headers = {"Authorization": "Bearer s3cret"}
        async with http.ws_connect(url, headers=headers) as ws:
            assert await ask(ws, '{"cmd": "nope"}') == {"error": "unknown command"}
        async with http.ws_connect(base(srv) + "/ws"):
            pass
        async with http.get(base(srv) + "/api/status") as response:
            assert (await response.json())["token_required"] is True


async def test_oversize_message_closes_with_1009(work: Path) -> None:
    """A message over max_message_bytes closes that socket with 1009; others carry on."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_message_bytes=1000)
    async with srv, aiohttp.ClientSession() as http:
        async with http.ws_connect(base(srv) + "/control") as ws:
            assert await ask(ws, '{"cmd": "reset", "pad": "' + "x" * 900 + '"}') == {
                "ok": True,
                "counters": "reset",
            }
            await ws.send_str('{"cmd": "reset", "pad": "' + "x" * 5000 + '"}')
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 1009
        async with http.ws_connect(base(srv) + "/control") as ws:
            assert await ask(ws, b'{"cmd": "reset"}') == {"ok": True, "counters": "reset"}


async def test_replies_do_not_wait_behind_image_traffic(work: Path) -> None:
    """While images stream at full speed to a /frames client, commands are answered fast."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    async with srv, aiohttp.ClientSession() as http:
        frames = await http.ws_connect(base(srv) + "/frames")
        await until(lambda: srv.status()["clients"] == 1, what="frames client")
        stop = asyncio.Event()

        async def flood() -> None:
            noise = np.random.default_rng(1).integers(0, 255, (1024, 1024), np.uint8)
            while not stop.is_set():
                srv.publish(noise)
                await asyncio.sleep(0.001)

        flooding = asyncio.create_task(flood())
        try:
            async with http.ws_connect(base(srv) + "/control") as ws:
                worst = 0.0
                for _ in range(20):
                    started = time.monotonic()
                    assert (await ask(ws, '{"cmd": "reset"}'))["ok"] is True
                    worst = max(worst, time.monotonic() - started)
            assert worst < 1.0, f"a reply took {worst:.2f} s"
        finally:
            stop.set()
            await asyncio.wait_for(flooding, 5)
            await frames.close()


async def test_stop_closes_control_sockets_quickly(work: Path) -> None:
    """A connected /control client is closed with 1001 and stop() returns within 2 s."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    await srv.astart()
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(base(srv) + "/control")
        await until(lambda: srv.status()["connections"] == 1, what="control connected")
        receiving = asyncio.create_task(ws.receive())
        started = time.monotonic()
        await asyncio.wait_for(srv.astop(), 5)
        assert time.monotonic() - started < 2.0
        msg = await asyncio.wait_for(receiving, 5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == 1001
        await ws.close()


# -- fuzzing ---------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_commands = st.builds(
    lambda name, fields: json.dumps({**fields, "cmd": name}),
    st.sampled_from(["reset", "snapshot_now", "echo", "nope", "", "RESET"]),
    st.dictionaries(st.text(max_size=8).filter(lambda k: k != "cmd"), _json_values, max_size=4),
)
_nasty = st.sampled_from(
    [
        "",
        "NaN",
        '{"cmd": NaN}',
        '{"cmd": Infinity}',
        "[" * 5000 + "]" * 5000,
        '{"a":' * 3000 + "1" + "}" * 3000,
        "null",
        "[]",
        '"reset"',
        "42",
        '{"cmd": 5}',
        '{"cmd": null}',
        '{"cmd": ["reset"]}',
        '{"cmd": "reset"',
        "\ud800",
    ]
)
_messages = st.lists(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        _commands,
        _commands.map(str.encode),
        _json_values.map(json.dumps),
        _nasty,
        st.sampled_from([b"\xff\xfe\xfd", b"\xc3\x28", b'{"cmd": "reset"}\xff']),
    ),
    min_size=1,
    max_size=12,
)


async def _exchange(port: int, messages: list[str | bytes]) -> list[dict[str, Any]]:
    replies: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"http://127.0.0.1:{port}/control") as ws,
    ):
        for message in messages:
            if isinstance(message, bytes):
                await ws.send_bytes(message)
            else:
                text = message.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
                await ws.send_str(text)
        await ws.send_str('{"cmd": "sentinel"}')
        while True:
            reply = await next_json(ws, timeout=10)
            if reply == {"sentinel": True}:
                return replies
            replies.append(reply)


def test_fuzzed_messages_get_exactly_one_reply_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Arbitrary text, binary, JSON, deep nesting, NaN and invalid UTF-8: every message gets
    exactly one JSON object reply, in order, and nothing is logged as an error."""
    srv = ImageServer(  # every example's commands go to one stream: no rate limit here
        work_folder=tmp_path / "work",
        port=0,
        displayed_address=LOCAL,
        max_stream_command_rate=1e6,
        max_stream_command_burst=1_000_000,
    )
    srv.on_command("sentinel", lambda fields: {"sentinel": True})
    srv.on_command("echo", lambda fields: {"ok": True, "fields": fields})
    srv.start()
    try:
        srv.publish(gradient(32, 32))

        @settings(
            max_examples=60,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(messages=_messages)
        def run(messages: list[str | bytes]) -> None:
            replies = asyncio.run(asyncio.wait_for(_exchange(srv.port, messages), 30))
            assert len(replies) == len(messages)
            for reply in replies:
                assert isinstance(reply, dict) and reply
                assert "error" in reply or "ok" in reply, reply

        with caplog.at_level(logging.ERROR):
            run()
        bad = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not bad, [r.getMessage() for r in bad]
    finally:
        srv.stop()


async def test_client_that_never_reads_replies_is_evicted(work: Path) -> None:
    """A client that floods commands and never reads the replies is disconnected after
    send_timeout (counted in clients_evicted); the server stays responsive."""
    srv = ImageServer(  # every command runs: its big reply is what fills the socket
        work_folder=work,
        port=0,
        displayed_address=LOCAL,
        send_timeout=1.0,
        max_command_rate=1e6,
        max_command_burst=1_000_000,
        max_stream_command_rate=1e6,
        max_stream_command_burst=1_000_000,
    )
    srv.on_command("echo", lambda fields: {"ok": True, "fields": fields})
    async with srv, aiohttp.ClientSession() as http:
        ws = await http.ws_connect(base(srv) + "/control")
        pad = "x" * 60_000
        for _ in range(400):
            try:
                await asyncio.wait_for(ws.send_str(json.dumps({"cmd": "echo", "pad": pad})), 5)
            except ConnectionError:
                break  # the server gave up on us: that is the point
        await until(lambda: srv.status()["clients_evicted"] == 1, timeout=20, what="eviction")
        await until(lambda: srv.status()["connections"] == 0, what="stalled socket gone")
        async with http.ws_connect(base(srv) + "/control") as healthy:
            assert await ask(healthy, '{"cmd": "reset"}') == {"ok": True, "counters": "reset"}
        await ws.close()


async def test_qr_operator_link_needs_the_token(work: Path) -> None:
    """/qr.svg encodes the viewer URL; ?operator=1 with the token encodes the URL carrying
    the token, and without the token it is refused (401)."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, token="op")
    async with srv, aiohttp.ClientSession() as http:
        async with http.get(base(srv) + "/qr.svg") as response:
            assert response.status == 200
            assert response.headers["X-Framecast-Url"] == srv.url
        async with http.get(base(srv) + "/qr.svg", params={"operator": "1"}) as response:
            assert response.status == 401
        params = {"operator": "1", "token": "op"}
        async with http.get(base(srv) + "/qr.svg", params=params) as response:
            assert response.status == 200
            assert response.headers["X-Framecast-Url"] == srv.url + "?token=op"
            assert response.content_type == "image/svg+xml"


async def test_invalid_utf8_text_gets_bad_json_and_the_socket_stays(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """A text message that is not UTF-8 is answered {"error": "bad json"} (not closed with
    1007), and the next command on the same socket works."""
    async with http.ws_connect(base(server) + "/control") as ws:
        await ws.send_frame(b'{"cmd": "reset"}\xff\xfe', aiohttp.WSMsgType.TEXT)
        assert await next_json(ws) == {"error": "bad json"}
        assert await ask(ws, '{"cmd": "reset"}') == {"ok": True, "counters": "reset"}
        assert not ws.closed


async def test_a_message_of_exactly_the_limit_is_accepted(work: Path) -> None:
    """max_message_bytes is the largest message read: exactly that many bytes get a reply,
    one byte more closes the socket with 1009."""
    limit = 1000
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_message_bytes=limit)

    def padded(size: int) -> str:
        head = '{"cmd": "reset", "pad": "'
        return head + "x" * (size - len(head) - 2) + '"}'

    async with (
        srv,
        aiohttp.ClientSession() as http,
        http.ws_connect(base(srv) + "/control") as ws,
    ):
        assert len(padded(limit)) == limit
        assert await ask(ws, padded(limit)) == {"ok": True, "counters": "reset"}
        await ws.send_str(padded(limit + 1))
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == 1009
