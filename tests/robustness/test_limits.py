"""Bombs and limits: tiny inputs that claim huge images, deep or big metadata, huge bsread
shapes. Each is refused with its status within 2 s, the server's peak RSS grows by less
than 1 GiB, at most one log line and no traceback, and the server goes on publishing."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import zmq
from PIL import Image

from framecast import ImageServer
from framecast.errors import FramecastError
from framecast.sources.bsread import wire as bsread_wire
from tests.conftest import LOCAL, base
from tests.robustness.conftest import (
    GiB,
    Served,
    check_still_publishing,
    next_new_image,
    post_image,
    serving,
    small_jpeg,
)

REFUSE_WITHIN = 2.0
PEAK_GROWTH = 1 * GiB

# -- tiny files that claim huge images -------------------------------------------------------


def jpeg_claiming(width: int, height: int) -> bytes:
    """A valid 16x16 JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    data = bytearray(small_jpeg(0, 16, 16))
    at = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_of_zeros(width: int, height: int, *, rows: int | None = None) -> bytes:
    """An 8-bit grey PNG of ``width`` x ``height``; its data holds ``rows`` rows of zeros
    (all of them by default: a compression bomb; fewer: a truncated file)."""
    rows = height if rows is None else rows
    compressor = zlib.compressobj(9)
    line = bytes(width + 1)  # filter byte + pixels
    parts = [compressor.compress(line * min(64, rows - done)) for done in range(0, rows, 64)]
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def tiff_of_zeros(width: int, height: int, rows_per_strip: int = 1000) -> bytes:
    """A deflate TIFF of ``width`` x ``height`` zeros, every strip pointing at one shared
    compressed block: a few kilobytes that decode to width*height bytes."""
    strips = -(-height // rows_per_strip)
    block = zlib.compress(bytes(width * rows_per_strip), 9)
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 8),  # deflate
        (262, 3, 1, 1),  # min-is-black
        (273, 4, strips, None),  # strip offsets (array)
        (277, 3, 1, 1),
        (278, 4, 1, rows_per_strip),
        (279, 4, strips, None),  # strip byte counts (array)
    ]
    ifd_at = 8
    ifd_size = 2 + 12 * len(entries) + 4
    offsets_at = ifd_at + ifd_size
    counts_at = offsets_at + 4 * strips
    data_at = counts_at + 4 * strips
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_at))
    out += struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if tag == 273:
            value = offsets_at
        elif tag == 279:
            value = counts_at
        if kind == 3 and count == 1:
            out += struct.pack("<HHIHH", tag, kind, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, kind, count, value)
    out += struct.pack("<I", 0)
    out += struct.pack(f"<{strips}I", *([data_at] * strips))
    out += struct.pack(f"<{strips}I", *([len(block)] * strips))
    out += block
    return bytes(out)


def fits_claiming(width: int, height: int, *, bitpix: int = 16) -> bytes:
    """A FITS file whose header claims ``width`` x ``height`` and whose data is one block."""
    cards = [
        "SIMPLE  =                    T",
        f"BITPIX  = {bitpix:>20}",
        "NAXIS   =                    2",
        f"NAXIS1  = {width:>20}",
        f"NAXIS2  = {height:>20}",
        "END",
    ]
    header = "".join(card.ljust(80) for card in cards).ljust(2880).encode()
    return header + bytes(2880)


def fits_image(width: int, height: int) -> bytes:
    """A complete 16-bit FITS image."""
    from astropy.io import fits

    buffer = io.BytesIO()
    fits.PrimaryHDU(np.zeros((height, width), dtype=np.int16)).writeto(buffer)
    return buffer.getvalue()


def encoded(fmt: str, width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width), 90, dtype=np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_the_bombs_are_what_they_claim() -> None:
    """The crafted files really are small valid files of the claimed size (checked on small
    sizes by Pillow and tifffile), so the refusals below are about size, not corruption."""
    import tifffile

    assert Image.open(io.BytesIO(jpeg_claiming(40, 30))).size == (40, 30)
    with Image.open(io.BytesIO(png_of_zeros(300, 200))) as png:
        png.load()
        assert png.size == (300, 200)
    # whole strips only: each strip points at one block of rows_per_strip rows, and a strict
    # inflater (libdeflate, which tifffile uses when imagecodecs is installed) refuses a
    # last strip whose block holds more rows than the strip
    with tifffile.TiffFile(io.BytesIO(tiff_of_zeros(300, 3000, 1000))) as tif:
        assert tif.pages.first.asarray().shape == (3000, 300)
    assert len(tiff_of_zeros(40000, 40000)) < 200_000
    assert len(jpeg_claiming(40000, 40000)) < 1000


# -- measuring a refusal ---------------------------------------------------------------------


async def refused(
    session: aiohttp.ClientSession,
    served: Served,
    body: bytes,
    status: int,
    *,
    headers: dict[str, str] | None = None,
) -> None:
    """POST ``body``: answered ``status`` within 2 s, peak RSS + < 1 GiB, ≤ 1 log line."""
    log_lines = served.log().count("\n")
    baseline = served.rss()
    served.reset_peak()
    started = time.monotonic()
    got, answer = await post_image(session, served, body, headers=headers, total=30)
    took = time.monotonic() - started
    assert got == status, f"expected {status}, got {got}: {answer}"
    assert took < REFUSE_WITHIN, f"refused after {took:.1f} s"
    growth = served.peak_rss() - baseline
    assert growth < PEAK_GROWTH, f"peak RSS grew by {growth / GiB:.2f} GiB"
    assert isinstance(answer, dict) and answer.get("ok") is False and answer.get("error")
    new_lines = served.log().count("\n") - log_lines
    assert new_lines <= 1, f"{new_lines} log lines for one refusal:\n{served.log()[-2000:]}"
    assert "Traceback" not in served.log()


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server with its default limits for the module's bombs (each refusal is measured
    on its own: the peak RSS is reset before each)."""
    with serving(tmp_path_factory.mktemp("limits"), "--max-file-rate", "50") as server:
        yield server


BOMBS = {
    "jpeg 40000x40000 in 700 bytes": lambda: jpeg_claiming(40000, 40000),
    "jpeg 12000x12000": lambda: jpeg_claiming(12000, 12000),
    "png 12000x12000 (under Pillow's own limit)": lambda: png_of_zeros(12000, 12000),
    "png 40000x40000 truncated": lambda: png_of_zeros(40000, 40000, rows=2),
    "tiff deflate 40000x40000 in 100 kB": lambda: tiff_of_zeros(40000, 40000),
    "fits 40000x40000 header": lambda: fits_claiming(40000, 40000),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
async def test_image_bomb_is_refused_before_decoding(limited: Served, name: str) -> None:
    """A small file whose header claims more than max_image_pixels (100 Mpx) → 413 within
    2 s without the server's memory growing by 1 GiB; the server keeps publishing."""
    async with aiohttp.ClientSession() as session:
        await refused(session, limited, BOMBS[name](), 413)
    await check_still_publishing(limited)


async def test_twelve_bombs_at_once(limited: Served) -> None:
    """Twelve 40000x40000 JPEG and TIFF bombs sent together are all refused with 413 within
    2 s, and together they raise the peak RSS by less than 1 GiB."""
    bombs = [jpeg_claiming(40000, 40000), tiff_of_zeros(40000, 40000)] * 6
    baseline = limited.rss()
    limited.reset_peak()
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(*(post_image(session, limited, b, total=30) for b in bombs))
    assert [status for status, _ in answers] == [413] * 12, answers
    assert time.monotonic() - started < REFUSE_WITHIN
    assert limited.peak_rss() - baseline < PEAK_GROWTH
    await check_still_publishing(limited)


async def test_every_format_checks_max_image_pixels(tmp_path: Path) -> None:
    """With --max-image-pixels 10000, complete 200x200 JPEG, PNG, TIFF and FITS images (the
    formats ingest takes) are refused with 413, and 100x100 ones are accepted (202)."""
    makers = {
        "jpeg": lambda w, h: small_jpeg(0, w, h),
        "png": lambda w, h: encoded("PNG", w, h),
        "tiff": lambda w, h: encoded("TIFF", w, h),
        "fits": fits_image,
    }
    with serving(tmp_path, "--max-image-pixels", "10000", "--max-file-rate", "50") as served:
        async with aiohttp.ClientSession() as session:
            for fmt, make in makers.items():
                status, answer = await post_image(session, served, make(200, 200))
                assert status == 413, f"{fmt} 200x200: {status} {answer}"
                assert "max_image_pixels" in answer["error"] or "pixels" in answer["error"]
                status, answer = await post_image(session, served, make(100, 100))
                assert status == 202, f"{fmt} 100x100: {status} {answer}"


async def test_corrupt_images_are_415_never_500(limited: Served) -> None:
    """Truncated or corrupted images of every format answer 415 with one line, never 500."""
    whole = {
        "jpeg": small_jpeg(0, 64, 64),
        "png": encoded("PNG", 64, 64),
        "tiff": encoded("TIFF", 64, 64),
        "fits": fits_image(64, 64),
    }
    async with aiohttp.ClientSession() as session:
        for data in whole.values():
            for body in (data[: len(data) // 2], data[:40] + b"\x00" * 64):
                await refused(session, limited, body, 415)
    await check_still_publishing(limited)


# -- metadata --------------------------------------------------------------------------------


def deep(levels: int) -> str:
    """A metadata object whose value nests ``levels`` lists."""
    return '{"deep": ' + "[" * levels + "]" * levels + "}"


async def test_deep_metadata_is_refused_and_the_pipeline_lives(limited: Served) -> None:
    """Metadata nested 500 deep (issue 9's one request that killed publishing) and 33 deep are
    refused with 400; 30 deep is accepted; images published afterwards still reach viewers."""
    async with aiohttp.ClientSession() as session:
        for levels in (500, 33):
            await refused(
                session, limited, small_jpeg(1), 400, headers={"X-Framecast-Metadata": deep(levels)}
            )
        status, answer = await post_image(
            session, limited, small_jpeg(2), headers={"X-Framecast-Metadata": deep(30)}
        )
        assert status == 202, answer
    await check_still_publishing(limited)


async def test_big_metadata_is_413(tmp_path: Path) -> None:
    """With --max-metadata-bytes 1000, 2000 bytes of metadata in the header or the query answer
    413; 500 bytes are accepted."""
    big = json.dumps({"note": "x" * 2000})
    with serving(tmp_path, "--max-metadata-bytes", "1000", "--max-file-rate", "50") as served:
        async with aiohttp.ClientSession() as session:
            await refused(
                session, served, small_jpeg(1), 413, headers={"X-Framecast-Metadata": big}
            )
            status, _ = await post_image(
                session, served, small_jpeg(2), params={"metadata": big}, total=10
            )
            assert status == 413
            status, _ = await post_image(
                session,
                served,
                small_jpeg(3),
                headers={"X-Framecast-Metadata": json.dumps({"note": "x" * 500})},
            )
            assert status == 202
        await check_still_publishing(served)


async def test_publish_with_deep_metadata_keeps_the_server_alive(tmp_path: Path) -> None:
    """publish() with metadata nested 500 deep is refused or flattened, never fatal: the next
    image reaches a /ws viewer and no task error is counted."""
    server = ImageServer(
        work_folder=tmp_path / "work", port=0, displayed_address=LOCAL, max_file_rate=50
    )
    await server.astart()
    try:
        nested: Any = []
        for _ in range(500):
            nested = [nested]
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(base(server) + "/ws") as ws,
        ):
            with contextlib.suppress(FramecastError):
                server.publish(small_jpeg(1), metadata={"deep": nested})
            server.publish(small_jpeg(2), metadata={"after": True})
            while (await next_new_image(ws))["metadata"].get("after") is not True:
                pass
            async with session.get(base(server) + "/data.json") as response:
                assert response.status == 200
        status = server.status()
        assert status.get("task_errors") == 0, status.get("task_errors_by_task", status)
    finally:
        await server.astop()


# -- bsread shapes ---------------------------------------------------------------------------


def lz4_zeros(count: int) -> bytes:
    """One LZ4 block that decompresses to ``count`` zero bytes (a few bytes per 255 of output):
    a literal zero, one long match at offset 1, and the five trailing literals LZ4 requires."""
    extra = count - 1 - 5 - 4 - 15
    assert extra >= 0
    out = bytearray([0x1F, 0x00, 0x01, 0x00])
    out += b"\xff" * (extra // 255)
    out.append(extra % 255)
    out += bytes([0x50]) + bytes(5)
    return bytes(out)


def test_lz4_zeros_is_a_real_lz4_block() -> None:
    """The hand-made block decodes to exactly the zeros it claims."""
    import lz4.block

    assert lz4.block.decompress(lz4_zeros(100_000), uncompressed_size=100_000) == bytes(100_000)


def bsread_bomb(width: int, height: int, pulse: int) -> list[bytes]:
    """A bsread message whose uint16 image channel claims ``width`` x ``height`` and whose lz4
    value really decompresses to that many zeros."""
    size = width * height * 2
    header = json.dumps(
        {
            "htype": "bsr_d-1.1",
            "channels": [
                {"name": "image", "type": "uint16", "shape": [width, height], "compression": "lz4"}
            ],
        }
    ).encode()
    main = json.dumps({"htype": "bsr_m-1.1", "pulse_id": pulse, "hash": f"bomb{width}x{height}"})
    value = struct.pack("<I", size) + lz4_zeros(size)
    return [main.encode(), header, value, struct.pack("<qq", 0, 0)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_huge_bsread_shape_is_skipped(tmp_path: Path) -> None:
    """A bsread image of 12000x12000 (1.1 MB on the wire, 288 MB decoded) is never shown and
    costs less than 1 GiB of peak RSS; the valid message after it reaches the viewer within
    2 s, with one log line and no traceback."""
    port = _free_port()
    push = zmq.Context.instance().socket(zmq.PUSH)
    push.setsockopt(zmq.SNDTIMEO, 10_000)
    push.setsockopt(zmq.LINGER, 0)
    push.bind(f"tcp://127.0.0.1:{port}")
    image = np.full((48, 64), 1000, dtype=np.uint16)
    try:
        with serving(tmp_path, "--zmq", f"tcp://127.0.0.1:{port}") as served:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(f"{served.ws_url}/ws") as ws,
            ):
                push.send_multipart(bsread_wire.encode_message({"image": image}, pulse_id=1))
                assert (await next_new_image(ws, 15))["metadata"]["pulse_id"] == 1
                baseline, lines = served.rss(), served.log().count("\n")
                served.reset_peak()
                started = time.monotonic()
                push.send_multipart(bsread_bomb(12000, 12000, 2))
                push.send_multipart(bsread_wire.encode_message({"image": image}, pulse_id=3))
                shown = await next_new_image(ws, 15)
                assert shown["metadata"]["pulse_id"] == 3, "the bomb was shown"
                assert time.monotonic() - started < REFUSE_WITHIN
                assert served.peak_rss() - baseline < PEAK_GROWTH
                # one warning; INFO lines (e.g. the channel list of a new data header) aside
                new = served.log().splitlines()[lines:]
                assert len([line for line in new if " INFO " not in line]) <= 1, new
            await check_still_publishing(served)
    finally:
        push.close(0)
