"""framecast.Client against real hostile HTTP servers on loopback: oversized, endless and
gzip-bomb answers are cut short, and nothing follows a redirect to another origin."""

from __future__ import annotations

import asyncio
import io
import json
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from aiohttp import WSMsgType, web

from framecast import Client, ClientError
from tests.conftest import gradient

#: Seconds the client is given: every refusal below must come long before.
TIMEOUT = 10.0
#: Most a hostile body sends in all (a guard for the machine, should a client read it all).
SAFETY_BYTES = 96 << 20


def _npy_header(shape: tuple[int, ...], dtype: str) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def _stream(
    request: web.Request, status: int, first: bytes, more: bytes, *, gzip: bool = False
) -> web.StreamResponse:
    """Answer ``first``, then ``more`` again and again (every 5 ms) until the client goes
    away or SAFETY_BYTES of it are sent; gzip-encoded when asked."""
    response = web.StreamResponse(status=status)
    response.content_type = "application/octet-stream"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31) if gzip else None
    if packer:
        response.headers["Content-Encoding"] = "gzip"
    await response.prepare(request)
    sent, piece = 0, first
    try:
        while sent < SAFETY_BYTES:
            await response.write(packer.compress(piece) if packer else piece)
            sent += len(piece)
            piece = more
            await asyncio.sleep(0.005)  # a pace, not a wait for readiness
        if packer:
            await response.write(packer.flush())
        await response.write_eof()
    except (ConnectionError, RuntimeError):
        pass  # the client hung up: what a good client does here
    return response


@pytest.fixture
async def hostile() -> AsyncIterator[str]:
    """A server whose answers are too long, endless, gzip bombs or lies about a frame."""

    async def endless_refusal(request: web.Request) -> web.StreamResponse:
        first = b'{"ok": false, "error": "too large: over max_ingest_bytes"}\n'
        return await _stream(request, 413, first, b"x" * 65536)

    async def endless_accepted(request: web.Request) -> web.StreamResponse:
        return await _stream(request, 202, b'{"ok": true, "seq": 5, "pad": "', b"x" * 65536)

    async def small_header_bomb(request: web.Request) -> web.StreamResponse:
        head = _npy_header((4, 4), "|u1") + bytes(16)
        return await _stream(request, 200, head, bytes(1 << 20), gzip=True)

    async def huge_header(request: web.Request) -> web.StreamResponse:
        head = _npy_header((32768, 32768), "<f8")
        return await _stream(request, 200, head, bytes(1 << 20), gzip=True)

    async def json_bomb(request: web.Request) -> web.StreamResponse:
        return await _stream(
            request, 200, b'{"framecast": {"seq": 1}, "x": "', b" " * (1 << 20), gzip=True
        )

    async def lying_data(request: web.Request) -> web.Response:
        own = {"seq": 3, "width": 4, "height": 4, "source_width": 4, "source_height": 4}
        return web.json_response({"framecast": {**own, "dtype": "uint8"}})

    async def lying_raw(request: web.Request) -> web.Response:
        return web.Response(body=_npy_header((2048, 2048), "|u1") + bytes(2048 * 2048))

    async def big_reply(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        message = await ws.receive()
        if message.type == WSMsgType.TEXT:
            await ws.send_str(json.dumps({"ok": True, "pad": "x" * (2 << 20)}))
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_post("/endless413/api/frames", endless_refusal)
    app.router.add_post("/endless202/api/frames", endless_accepted)
    app.router.add_get("/bomb/raw/1.npy", small_header_bomb)
    app.router.add_get("/huge/raw/1.npy", huge_header)
    app.router.add_get("/jsonbomb/data.json", json_bomb)
    app.router.add_get("/lies/data.json", lying_data)
    app.router.add_get("/lies/raw/3.npy", lying_raw)
    app.router.add_get("/chatty/control", big_reply)
    runner, url = await _serve(app)
    try:
        yield url
    finally:
        await runner.cleanup()


async def _refused_quickly(call: Callable[[], Awaitable[Any]]) -> tuple[ClientError, int]:
    """The ClientError ``call`` raises, and the peak bytes Python and numpy held meanwhile;
    it must come long before the client's timeout."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ClientError) as caught:
            await call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < TIMEOUT / 2, "refused only at the deadline"
    assert "\n" not in str(caught.value)
    return caught.value, peak


async def test_endless_refusal_shows_its_first_line_at_once(hostile: str) -> None:
    """A 413 whose body never ends: the error carries the status and the server's reason,
    comes at once, and the client read no more than a few kB of it."""
    client = Client(hostile + "/endless413/", timeout=TIMEOUT)
    error, peak = await _refused_quickly(lambda: client.apublish(gradient()))
    assert error.status == 413
    assert "too large (413): too large: over max_ingest_bytes" in str(error)
    assert peak < 8 << 20, peak


async def test_endless_202_is_refused_as_too_long(hostile: str) -> None:
    """A 202 whose body never ends is not read to the end: the client refuses it past 16 KiB."""
    client = Client(hostile + "/endless202/", timeout=TIMEOUT)
    error, peak = await _refused_quickly(lambda: client.apublish(gradient()))
    assert "answer the client refuses: its body is larger than 16.0 KiB" in str(error)
    assert peak < 8 << 20, peak


async def test_gzip_bomb_behind_a_small_header_is_refused_unread(hostile: str) -> None:
    """A .npy that declares a 4×4 array and inflates on and on: refused after one byte too
    many, without inflating the rest (peak memory far below the 96 MiB it would make)."""
    client = Client(hostile + "/bomb/", timeout=TIMEOUT)
    error, peak = await _refused_quickly(lambda: client.araw(1))
    assert "more bytes than its .npy header declares (16 bytes)" in str(error)
    assert peak < 16 << 20, peak


async def test_array_larger_than_max_bytes_is_refused_from_its_header(hostile: str) -> None:
    """A .npy declaring 8 GiB is refused by the default max_bytes before a pixel is read;
    a smaller max_bytes= refuses a smaller array the same way."""
    client = Client(hostile + "/huge/", timeout=TIMEOUT)
    error, peak = await _refused_quickly(lambda: client.araw(1))
    assert "32768×32768 float64 array, 8.0 GiB, more than max_bytes=1073741824" in str(error)
    assert "pass a larger max_bytes=" in str(error)
    assert peak < 16 << 20, peak
    lies = Client(hostile + "/lies/", timeout=TIMEOUT)
    error, _ = await _refused_quickly(lambda: lies.araw(3, max_bytes=1 << 20))
    assert "2048×2048 uint8 array, 4.0 MiB, more than max_bytes=1048576" in str(error)


async def test_latest_frame_must_match_what_data_json_says(hostile: str) -> None:
    """raw() of the latest frame refuses a .npy bigger than its data.json says (4×4 uint8)."""
    client = Client(hostile + "/lies/", timeout=TIMEOUT)
    error, _ = await _refused_quickly(client.araw)
    assert "2048×2048 uint8 array where the frame is a 4×4 uint8 array" in str(error)


async def test_data_json_gzip_bomb_is_refused_past_its_limit(hostile: str) -> None:
    """A data.json that inflates without end is refused past 4 MiB, never parsed whole."""
    client = Client(hostile + "/jsonbomb/", timeout=TIMEOUT)
    error, peak = await _refused_quickly(client.araw)
    assert "data.json sent an answer the client refuses: its body is larger than 4.0 MiB" in str(
        error
    )
    assert peak < 24 << 20, peak


async def test_command_reply_over_a_mebibyte_is_refused(hostile: str) -> None:
    """A control socket replying 2 MiB: the client refuses it and says how much it reads."""
    client = Client(hostile + "/chatty/", timeout=TIMEOUT)
    error, _ = await _refused_quickly(lambda: client.acommand("status"))
    assert "replied to 'status' with more than 1.0 MiB, the most the client reads" in str(error)


# -- redirects -------------------------------------------------------------------------------


@pytest.fixture
async def elsewhere() -> AsyncIterator[tuple[str, list[str]]]:
    """Another origin that would take anything: it records what reaches it."""
    reached: list[str] = []

    async def take(request: web.Request) -> web.StreamResponse:
        reached.append(f"{request.method} {request.path} {request.headers.get('Authorization')}")
        if request.path.endswith("control"):
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for _ in ws:
                await ws.send_str('{"ok": true}')
            return ws
        if request.path.endswith(".npy"):
            buffer = io.BytesIO()
            np.save(buffer, np.zeros((2, 2), np.uint8))
            return web.Response(body=buffer.getvalue())
        await request.read()
        return web.json_response({"ok": True, "seq": 7}, status=202)

    app = web.Application()
    app.router.add_route("*", "/{rest:.*}", take)
    runner, url = await _serve(app)
    try:
        yield url, reached
    finally:
        await runner.cleanup()


@pytest.fixture
async def redirecting(elsewhere: tuple[str, list[str]]) -> AsyncIterator[str]:
    """A server that sends /away/… to the other origin, /home/… to /final/… on its own
    origin (308) and /seeother/… there with 303."""
    other, _ = elsewhere

    async def away(request: web.Request) -> web.Response:
        rest = request.match_info["rest"]
        raise web.HTTPTemporaryRedirect(f"{other}/cams/{rest}")

    async def home(request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect(f"/final/{request.match_info['rest']}")

    async def see_other(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther(f"/final/{request.match_info['rest']}")

    async def final(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True, "seq": 9}, status=202)

    app = web.Application()
    app.router.add_route("*", "/away/{rest:.*}", away)
    app.router.add_route("*", "/home/{rest:.*}", home)
    app.router.add_route("*", "/seeother/{rest:.*}", see_other)
    app.router.add_post("/final/api/frames", final)
    runner, url = await _serve(app)
    try:
        yield url
    finally:
        await runner.cleanup()


async def test_no_image_token_or_command_goes_to_another_origin(
    redirecting: str, elsewhere: tuple[str, list[str]]
) -> None:
    """A POST, a GET and the control socket redirected to another origin are refused with
    the final URL to use; the other origin receives nothing at all."""
    other, reached = elsewhere
    client = Client(redirecting + "/away/", token="s3cret", timeout=TIMEOUT)
    with pytest.raises(ClientError) as caught:
        await client.apublish(gradient())
    assert str(caught.value) == (
        f"the server at {redirecting}/away/ redirected to {other}/cams/api/frames, another "
        f"origin; refusing to send the image there; use the final URL: Client('{other}/cams/')"
    )
    assert caught.value.status == 307
    with pytest.raises(ClientError, match="another origin; refusing to follow it"):
        await client.araw(1)
    with pytest.raises(ClientError, match="another origin; refusing to send the command there"):
        await client.acommand("reset")
    assert reached == []


async def test_redirects_on_the_same_origin(redirecting: str) -> None:
    """A 308 on the server's own origin is followed with the image (seq 9); a 303, which
    would drop the image, is refused with the URL to use."""
    assert await Client(redirecting + "/home/", timeout=TIMEOUT).apublish(gradient()) == 9
    with pytest.raises(ClientError) as caught:
        await Client(redirecting + "/seeother/", timeout=TIMEOUT).apublish(gradient())
    assert (
        f"redirected POST to {redirecting}/final/api/frames with 303, which would drop the image"
        in str(caught.value)
    )
    assert f"use the final URL: Client('{redirecting}/final/')" in str(caught.value)
