"""Resource exhaustion: slow headers, slow bodies, too many uploads, clients that never read,
one address hogging the slots, connect/drop storms. Afterwards the server's file
descriptors and memory are back to their baseline, and while it lasts a real viewer keeps
receiving every image with a 99th-percentile delay under 1 s."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import numpy as np
import pytest
import simplejpeg

from tests.robustness.conftest import (
    MiB,
    Served,
    check_still_publishing,
    post_image,
    serving,
    small_jpeg,
    status_of,
    until,
)
from tests.robustness.peers import Publisher, Viewer, drop, raw_ws

#: File descriptors a quiet server may hold beyond its baseline (e.g. a keep-alive client).
FD_SLACK = 4
#: Memory a server may keep after an attack (allocator caches, not a leak).
RSS_SLACK = 64 * MiB
P99 = 1.0


async def baseline(served: Served, viewer: Viewer) -> tuple[int, int]:
    """fds and RSS once the viewer has seen a few images (everything warmed up)."""
    await until(lambda: len(viewer.delays) >= 3, 10, "the viewer's first images")
    return served.fds(), served.rss()


async def back_to(served: Served, fds: int, rss: int, within: float = 20.0) -> None:
    """Wait until the fds are back at ``fds`` (+ slack), then check the RSS."""
    await until(lambda: served.fds() <= fds + FD_SLACK, within, f"fds back to {fds}")
    assert served.rss() <= rss + RSS_SLACK, f"RSS {served.rss() / MiB:.0f} MiB vs {rss / MiB:.0f}"


async def slow_request(
    served: Served, head: bytes, drip: bytes, limit: float
) -> tuple[float, bytes]:
    """Send ``head``, then one ``drip`` every 0.5 s until the server answers or closes.
    Returns the seconds it took and what the server sent (b"" for a bare close)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    started = time.monotonic()
    answer = b""
    try:
        writer.write(head)
        while time.monotonic() - started < limit:
            try:
                answer = await asyncio.wait_for(reader.read(4096), 0.5)
                break  # an answer, or b"" for a close
            except TimeoutError:
                pass
            try:
                writer.write(drip)
                await writer.drain()
            except ConnectionError:
                break
        return time.monotonic() - started, answer
    finally:
        writer.transport.abort()
        writer.close()


async def test_slow_headers_are_closed(tmp_path: Path) -> None:
    """40 clients sending one header line every 0.5 s (slowloris) are all disconnected within
    keepalive_timeout (2 s) + 5 s; the viewer never waits; fds and RSS come back."""
    with serving(tmp_path, "--keepalive-timeout", "2", "--max-file-rate", "50") as served:
        async with Viewer(served) as viewer, Publisher(served):
            fds, rss = await baseline(served, viewer)
            head = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n".encode()
            results = await asyncio.gather(
                *(slow_request(served, head, b"X-Slow: 1\r\n", 30) for _ in range(40))
            )
            await back_to(served, fds + 1, rss)  # + the publisher's keep-alive connection
        assert max(took for took, _ in results) < 2 + 5, sorted(t for t, _ in results)[-5:]
        assert viewer.p99() < P99


async def test_slow_bodies_time_out_with_408(tmp_path: Path) -> None:
    """20 uploads sending their body one byte every 0.5 s get 408 within body_timeout (2 s)
    + 3 s and are closed; fds and RSS come back; the viewer never waits."""
    options = ("--body-timeout", "2", "--max-uploads", "64", "--max-file-rate", "50")
    with serving(tmp_path, *options) as served:
        async with Viewer(served) as viewer, Publisher(served):
            fds, rss = await baseline(served, viewer)
            head = (
                f"POST /api/frames HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
                "Content-Length: 100000\r\n\r\n"
            ).encode()
            results = await asyncio.gather(
                *(slow_request(served, head, b"x", 30) for _ in range(20))
            )
            await back_to(served, fds + 1, rss)
        for took, answer in results:
            assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
            assert took < 2 + 3
        assert viewer.p99() < P99
        await check_still_publishing(served)


async def test_uploads_beyond_max_uploads_get_503(tmp_path: Path) -> None:
    """With --max-uploads 2 and two uploads in progress, a third is refused with 503 at once;
    once they time out, uploads are accepted again."""
    options = ("--max-uploads", "2", "--body-timeout", "4", "--max-file-rate", "50")
    with serving(tmp_path, *options) as served:
        head = (
            f"POST /api/frames HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
            "Content-Length: 100000\r\n\r\n"
        ).encode()
        slow = [asyncio.create_task(slow_request(served, head, b"x", 20)) for _ in range(2)]
        try:
            async with aiohttp.ClientSession() as session:
                while (await status_of(session, served))["uploads_in_progress"] < 2:
                    assert not any(task.done() for task in slow), "a slow upload ended early"
                    await asyncio.sleep(0.05)
                deadline = time.monotonic() + 3
                while True:
                    status, _ = await post_image(session, served, small_jpeg(1))
                    if status == 503:
                        break
                    assert time.monotonic() < deadline, f"third upload answered {status}"
                    await asyncio.sleep(0.05)
                await asyncio.gather(*slow)
                assert (await post_image(session, served, small_jpeg(2)))[0] == 202
        finally:
            for task in slow:
                task.cancel()
            await asyncio.gather(*slow, return_exceptions=True)


def noise_jpeg(seed: int, size: int = 600) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    data: bytes = simplejpeg.encode_jpeg(pixels, quality=95)
    return data


async def test_clients_that_never_read_are_cut_off(tmp_path: Path) -> None:
    """30 /frames and 10 /ws clients that stop reading while large images stream: the server
    aborts them (its fds and RSS come back while the clients still hold their sockets) and a
    real viewer keeps its p99 under 1 s."""
    # --history 0: the kept frames would count in RSS; this test is about client buffers
    options = ("--heartbeat", "1", "--send-timeout", "1", "--max-file-rate", "50", "--history", "0")
    with serving(tmp_path, *options) as served:
        async with Viewer(served) as viewer, aiohttp.ClientSession() as session:
            for n in range(3):
                await post_image(session, served, noise_jpeg(n))
            fds, rss = await baseline(served, viewer)
            stalled: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
            try:
                stalled += [await raw_ws(served, "/frames", rcvbuf=4096) for _ in range(30)]
                stalled += [await raw_ws(served, "/ws", rcvbuf=4096) for _ in range(10)]
                # 6 kB of metadata makes each /ws message big enough to fill a stalled socket.
                metadata = {"X-Framecast-Metadata": json.dumps({"note": "x" * 6000})}
                for n in range(20):
                    await post_image(session, served, noise_jpeg(n), headers=metadata)
                    await asyncio.sleep(0.2)
                await back_to(served, fds + 1, rss)
                assert served.status()["clients"] == 1
            finally:
                for _, writer in stalled:
                    drop(writer)
        assert viewer.p99() < P99
        await check_still_publishing(served)


async def test_one_address_cannot_take_every_slot(tmp_path: Path) -> None:
    """With --max-clients-per-address 5, a sixth live socket from 127.0.0.1 gets 503, a viewer
    from 127.0.0.2 still gets in and sees images, and a freed slot can be taken again."""
    options = ("--max-clients-per-address", "5", "--max-file-rate", "50")
    with serving(tmp_path, *options) as served:
        hogs: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        try:
            hogs += [await raw_ws(served, "/ws") for _ in range(5)]
            try:
                hogs.append(await raw_ws(served, "/ws"))
            except AssertionError as exc:
                assert "503" in str(exc), exc
            else:
                raise AssertionError("a sixth live socket from one address was accepted")
            async with Viewer(served, source="127.0.0.2") as viewer, Publisher(served):
                await until(lambda: len(viewer.seqs) >= 2, 10, "images for the other address")
            drop(hogs.pop()[1])
            deadline = time.monotonic() + 10
            while True:
                try:
                    hogs.append(await raw_ws(served, "/ws"))
                    break
                except AssertionError:
                    assert time.monotonic() < deadline, "the freed slot was never given back"
                    await asyncio.sleep(0.1)
        finally:
            for _, writer in hogs:
                drop(writer)


async def storm(tmp_path: Path, clients: int) -> None:
    """``clients`` /ws connections opened 50 at a time and dropped (half with RST, half with a
    clean FIN) while a viewer watches 5 images/s."""
    options = ("--max-file-rate", "50", "--max-clients-per-address", "2000")
    with serving(tmp_path, *options) as served:
        async with Viewer(served) as viewer, Publisher(served):
            fds, rss = await baseline(served, viewer)

            async def one(n: int) -> None:
                _, writer = await raw_ws(served, "/ws")
                if n % 2:
                    drop(writer)
                else:
                    writer.close()
                    await writer.wait_closed()

            for start in range(0, clients, 50):
                await asyncio.gather(*(one(n) for n in range(start, min(clients, start + 50))))
            await back_to(served, fds + 1, rss)
            await until(lambda: served.status()["clients"] == 1, 10, "only the viewer left")
        assert viewer.p99() < P99, f"p99 {viewer.p99():.3f} s"


async def test_connect_drop_storm(tmp_path: Path) -> None:
    """200 viewers connect and vanish: fds and RSS back to baseline, the viewer's p99 < 1 s."""
    await storm(tmp_path, 200)


@pytest.mark.long
@pytest.mark.timeout(600)
async def test_connect_drop_storm_1000(tmp_path: Path) -> None:
    """1000 viewers connect and vanish: fds and RSS back to baseline, the viewer's p99 < 1 s."""
    await storm(tmp_path, 1000)
