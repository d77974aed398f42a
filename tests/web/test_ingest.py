"""POST /api/frames on real sockets: published like publish(), and every refusal."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer
from tests.conftest import LOCAL, base, gradient, next_json, until


def encoded(fmt: str, array: np.ndarray | None = None) -> bytes:
    out = io.BytesIO()
    Image.fromarray(gradient(80, 60) if array is None else array).save(out, format=fmt)
    return out.getvalue()


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    data = io.BytesIO(body) if len(body) > 1_000_000 else body  # aiohttp warns on big bytes
    async with http.post(url, data=data, **kwargs) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
async def test_ingest_reaches_ws_clients(
    fmt: str, server: ImageServer, http: aiohttp.ClientSession, work: Path
) -> None:
    """A posted image is answered 202 with its seq and reaches /ws as new_image with that
    seq and the metadata from the query and the header (the header's keys win)."""
    async with http.ws_connect(base(server) + "/ws") as ws:
        await until(lambda: server.status()["clients"] == 1, what="ws client")
        query = quote(json.dumps({"EXPO": "0:06:00", "STACK_SIZE": 1}))
        status, reply = await post(
            http,
            f"{base(server)}/api/frames?metadata={query}",
            encoded(fmt),
            headers={"X-Framecast-Metadata": '{"STACK_SIZE": 12}'},
        )
        assert status == 202 and reply == {"ok": True, "seq": 1}
        message = await next_json(ws)
    assert message["type"] == "new_image" and message["seq"] == 1
    assert message["metadata"]["STACK_SIZE"] == 12 and message["metadata"]["EXPO"] == "0:06:00"
    assert message["width"] == 80 and message["height"] == 60

    def written() -> bool:
        return json.loads((work / "data.json").read_text())["framecast"]["seq"] == 1

    await until(written, what="data.json rewritten")
    with Image.open(work / "web_image.jpg") as image:
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert np.abs(pixels - gradient(80, 60).astype(float)).mean() < 3


async def test_seq_is_right_without_viewers_and_in_sequence(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """With nobody watching, consecutive posts are answered with consecutive seqs that
    match what /api/status reports."""
    seqs = []
    for _ in range(3):
        status, reply = await post(http, base(server) + "/api/frames", encoded("JPEG"))
        assert status == 202
        seqs.append(reply["seq"])
        await until(lambda s=reply["seq"]: server.status()["latest_seq"] == s, what="published")
    assert seqs == [1, 2, 3]
    assert server.status()["frames_ingested"] == 3


async def test_a_producer_is_never_paced_by_the_file_rate(
    work: Path, http: aiohttp.ClientSession
) -> None:
    """20 pushes of a 1 MP PNG to a server nobody watches (web files due twice a second)
    are each answered as soon as the image is in, with consecutive numbers: all 20 in
    under 5 s (about 1 s on an idle machine), where waiting for the web files' turn took
    0.5 s each, 10 s in all."""
    rng = np.random.default_rng(1)
    sky = (np.linspace(0, 200, 1000)[None, :] + rng.normal(0, 8, (1000, 1000))).clip(0, 255)
    body = encoded("PNG", sky.astype(np.uint8))
    server = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=2)
    await server.astart()
    try:
        status, reply = await post(http, base(server) + "/api/frames", body)  # warm-up
        assert status == 202 and reply["seq"] == 1
        loop = asyncio.get_running_loop()
        started, seqs = loop.time(), []
        for _ in range(20):
            status, reply = await post(http, base(server) + "/api/frames", body)
            assert status == 202, reply
            seqs.append(reply["seq"])
        took = loop.time() - started
        assert server.status()["clients"] == 0
    finally:
        await server.astop()
    assert seqs == list(range(2, 22))
    assert took < 5.0, f"20 pushes took {took:.2f} s"


async def test_refusals(work: Path) -> None:
    """413 over max_ingest_bytes (naming max_ingest_bytes=, as the server was made from
    Python), 415 for text and for a corrupt PNG, 400 for bad metadata JSON, non-object
    metadata and an empty body — each a one-line JSON error; nothing is published."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_ingest_bytes=20_000)
    url_of = base
    async with srv, aiohttp.ClientSession() as http:
        url = url_of(srv) + "/api/frames"
        noise = np.random.default_rng(2).integers(0, 255, (200, 200), np.uint8)
        cases: list[tuple[int, bytes, dict[str, Any], str]] = [
            (413, encoded("PNG", noise), {}, "send a smaller image or raise max_ingest_bytes="),
            (415, b"hello, I am not an image", {}, "JPEG, PNG, TIFF or FITS"),
            (415, encoded("PNG")[:60], {}, "cannot be decoded"),
            (400, encoded("PNG"), {"params": {"metadata": "{not json"}}, "not valid JSON"),
            (400, encoded("PNG"), {"headers": {"X-Framecast-Metadata": "[1, 2]"}}, "object"),
            (400, encoded("PNG"), {"params": {"metadata": '{"x": NaN}'}}, "not valid JSON"),
            (400, b"", {}, "empty"),
        ]
        for expected, body, kwargs, words in cases:
            status, reply = await post(http, url, body, **kwargs)
            assert status == expected, (expected, reply)
            assert reply["ok"] is False and words in reply["error"], reply
            assert "\n" not in reply["error"]
        assert srv.status()["frames_submitted"] == 0
        assert srv.status()["ingest_rejected"] == len(cases)


async def test_operator_token_is_required(work: Path) -> None:
    """With a token: 401 (with a Bearer challenge) without it or with a wrong one; 202 with
    ?token= or Authorization: Bearer."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, token="s3cret")
    async with srv, aiohttp.ClientSession() as http:
        url = base(srv) + "/api/frames"
        for kwargs in ({}, {"params": {"token": "nope"}}):
            async with http.post(url, data=encoded("PNG"), **kwargs) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                assert "token" in (await response.json())["error"]
        status, reply = await post(http, url, encoded("PNG"), params={"token": "s3cret"})
        assert status == 202 and reply["ok"] is True
        status, reply = await post(
            http, url, encoded("PNG"), headers={"Authorization": "Bearer s3cret"}
        )
        assert status == 202 and reply["ok"] is True
        assert srv.status()["frames_submitted"] == 2


def deep_json(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


async def test_deep_or_large_metadata_is_refused_and_publishing_goes_on(
    work: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Metadata nested past max_metadata_depth (500 levels in the header, 33 in the query) is
    a 400, metadata over max_metadata_bytes a 413, each logged in one line; the next image
    is still published and served."""
    caplog.set_level(logging.INFO, "framecast")
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_metadata_bytes=6000)
    async with srv, aiohttp.ClientSession() as http:
        url = base(srv) + "/api/frames"
        cases: list[tuple[int, dict[str, Any], str]] = [
            (400, {"headers": {"X-Framecast-Metadata": deep_json(500)}}, "max_metadata_depth"),
            (400, {"params": {"metadata": deep_json(33)}}, "max_metadata_depth"),
            (413, {"params": {"metadata": json.dumps({"k": "x" * 7000})}}, "max_metadata_bytes"),
            (413, {"headers": {"X-Framecast-Metadata": json.dumps({"k": "x" * 7000})}}, "bytes"),
        ]
        for expected, kwargs, words in cases:
            status, reply = await post(http, url, encoded("PNG"), **kwargs)
            assert status == expected and words in reply["error"], reply
        status, reply = await post(
            http, url, encoded("PNG"), headers={"X-Framecast-Metadata": deep_json(32)}
        )
        assert status == 202 and reply["seq"] == 1
        async with http.get(base(srv) + "/data.json") as response:
            assert response.status == 200
            assert (await response.json())["framecast"]["seq"] == 1
        assert srv.status()["ingest_rejected"] == len(cases)
    refusals = [r for r in caplog.records if r.name == "framecast.ingest" and "refused" in r.msg]
    assert len(refusals) == len(cases) and not any(r.exc_info for r in caplog.records)


def truncated_fits() -> bytes:
    cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                   16",
        "NAXIS   =                    2",
        "NAXIS1  =                  100",
        "NAXIS2  =                  100",
        "END",
    ]
    return "".join(card.ljust(80) for card in cards).ljust(2880).encode()  # no data block


async def test_undecodable_fits_is_415_without_traceback(
    server: ImageServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A FITS whose header promises data that is missing is a 415 with one log line, not a
    500 with a traceback."""
    status, reply = await post(http, base(server) + "/api/frames", truncated_fits())
    assert status == 415 and "FITS image cannot be decoded" in reply["error"], reply
    assert not any(r.exc_info for r in caplog.records)
    assert server.status()["ingest_rejected"] == 1


async def _send_head(
    port: int, length: int, extra: str = ""
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw upload that sends its head and 10 bytes of a ``length``-byte body, then stalls."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"POST /api/frames HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Length: {length}\r\n{extra}\r\n"
        ).encode()
        + encoded("PNG")[:10]
    )
    await writer.drain()
    return reader, writer


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def test_a_slow_body_is_timed_out_and_closed(
    work: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A body that does not arrive within body_timeout gets 408, one log line, and the
    connection is closed."""
    caplog.set_level(logging.INFO, "framecast")
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, body_timeout=0.5)
    async with srv:
        reader, writer = await _send_head(srv.port, 100_000)
        answer = await asyncio.wait_for(reader.read(), 10)  # read() returns at EOF
        await _close(writer)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"body_timeout" in answer
        assert srv.status()["ingest_rejected"] == 1
    lines = [r for r in caplog.records if r.name == "framecast.ingest" and "408" in r.getMessage()]
    assert len(lines) == 1 and not any(r.exc_info for r in caplog.records)


async def test_uploads_beyond_max_uploads_get_503(work: Path) -> None:
    """While max_uploads bodies are being received, another upload is refused with 503 and
    Retry-After and counted; once the slot is free uploads are accepted again."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_uploads=1)
    async with srv, aiohttp.ClientSession() as http:
        # The server answers 100 Continue just before the handler takes the upload slot.
        slow, writer = await _send_head(srv.port, 100_000, "Expect: 100-continue\r\n")
        assert (await asyncio.wait_for(slow.readline(), 5)).startswith(b"HTTP/1.1 100")
        async with http.post(base(srv) + "/api/frames", data=encoded("PNG")) as response:
            assert response.status == 503
            assert response.headers["Retry-After"] == "1"
            assert "max_uploads" in (await response.json())["error"]
        assert srv.status()["ingest_rejected"] == 1
        await _close(writer)

        async def accepted() -> bool:
            async with http.post(base(srv) + "/api/frames", data=encoded("PNG")) as response:
                return response.status == 202

        deadline = asyncio.get_running_loop().time() + 5
        while not await accepted():
            assert asyncio.get_running_loop().time() < deadline, "upload slot never freed"


@pytest.mark.parametrize("kind", ["jpeg", "png", "tiff", "fits"])
async def test_images_over_max_image_pixels_get_413(work: Path, kind: str) -> None:
    """A tiny file whose header claims 40000x40000 is refused with 413 naming the setting,
    a small limit refuses a real image one pixel too big, and a good image still goes on."""
    from tests.imaging.samples import fits_claiming, jpeg_claiming, png_claiming, tiff_claiming

    bombs = {
        "jpeg": jpeg_claiming,
        "png": png_claiming,
        "tiff": tiff_claiming,
        "fits": fits_claiming,
    }
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_image_pixels=80 * 60)
    async with srv, aiohttp.ClientSession() as http:
        url = base(srv) + "/api/frames"
        status, reply = await post(http, url, bombs[kind](40000, 40000))
        assert status == 413, reply
        assert "max_image_pixels" in reply["error"] and "\n" not in reply["error"]
        status, reply = await post(http, url, encoded("PNG", gradient(81, 60)))
        assert status == 413, reply
        status, reply = await post(http, url, encoded("PNG", gradient(80, 60)))
        assert status == 202 and reply["seq"] == 1, reply


async def test_publish_honours_the_configured_pixel_limit(work: Path) -> None:
    """publish() refuses an array over max_image_pixels at once; nothing already shown changes."""
    from framecast.errors import ImageTooLargeError

    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_image_pixels=100)
    async with srv:
        with pytest.raises(ImageTooLargeError, match="max_image_pixels"):
            srv.publish(np.zeros((11, 10), np.uint8))
        srv.publish(np.zeros((10, 10), np.uint8))
        await until(lambda: srv.status()["frames_published"] == 1, what="the small image")


async def test_a_client_gone_mid_body_is_one_line_not_a_traceback(
    work: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An upload whose client disconnects halfway is counted as refused and logged in one
    line without a traceback; its slot is freed and the next upload is published."""
    caplog.set_level(logging.INFO)
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL)
    async with srv, aiohttp.ClientSession() as http:
        _, writer = await _send_head(srv.port, 100_000)
        await until(lambda: srv.status()["uploads_in_progress"] == 1, what="upload begun")
        writer.transport.abort()
        await until(lambda: srv.status()["ingest_rejected"] == 1, what="upload counted")
        assert srv.status()["uploads_in_progress"] == 0
        status, reply = await post(http, base(srv) + "/api/frames", encoded("PNG"))
        assert status == 202 and reply["seq"] == 1
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
