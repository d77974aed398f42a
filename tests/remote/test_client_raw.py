"""Client.raw and Client.araw (docs/science.md): the published array, exact, from a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from framecast import Client, ClientError, ConfigError, ImageServer
from tests.conftest import LOCAL, base, gradient, wait_until


@pytest.fixture
def threaded(work: Path) -> Iterator[ImageServer]:
    """A server on its own thread, so blocking client calls from the test can reach it."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_file_rate=50)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def published(srv: ImageServer, stream: str, count: int) -> bool:
    return srv.status()["streams"].get(stream, {}).get("frames_published", 0) >= count


def test_raw_returns_the_latest_and_earlier_frames_exactly(threaded: ImageServer) -> None:
    """raw() with no seq is the latest frame; raw(seq) an earlier one still kept; both with
    the published dtype, shape and values (uint16 to 65535)."""
    client = Client(base(threaded))
    first = np.array([[0, 65535], [40000, 1]], dtype=np.uint16)
    second = np.random.default_rng(12).integers(0, 65536, (30, 50), dtype=np.uint16)
    seq1 = client.publish(first)
    wait_until(lambda: published(threaded, "default", 1), what="the first frame")
    client.publish(second)
    wait_until(lambda: published(threaded, "default", 2), what="the second frame")
    latest = client.raw()
    assert latest.dtype == np.uint16 and np.array_equal(latest, second)
    assert seq1 is not None
    earlier = client.raw(seq1)
    assert earlier.dtype == np.uint16 and np.array_equal(earlier, first)


async def test_araw_on_a_named_stream(server: ImageServer) -> None:
    """araw(stream=...) gets that stream's float32 frame, NaN and inf included, then its
    latest colour frame, received gzip-compressed."""
    array = np.array([[np.nan, np.inf], [-np.inf, -2.5]], dtype=np.float32)
    client = Client(base(server))
    seq = await client.apublish(array, stream="cam1")
    assert seq is not None
    got = await client.araw(stream="cam1")
    assert got.dtype == np.float32 and np.array_equal(got, array, equal_nan=True)
    assert np.array_equal(await client.araw(seq, stream="cam1"), array, equal_nan=True)
    colour = np.repeat(gradient(512, 384)[:, :, None], 3, axis=2)  # gzip pays: sent gzipped
    assert await client.apublish(colour, stream="cam1") is not None
    got = await client.araw(stream="cam1")  # H×W×3 matches data.json's W×H and dtype
    assert got.shape == (384, 512, 3) and np.array_equal(got, colour)


async def test_frames_not_kept_raise_a_client_error(server: ImageServer) -> None:
    """A seq not kept, a stream that does not exist, and a bad seq or stream name are clear
    errors, not a traceback from numpy."""
    client = Client(base(server))
    seq = await client.apublish(np.zeros((2, 2), np.uint8))
    assert seq is not None
    with pytest.raises(ClientError, match=r"not found \(404\).*not published yet") as caught:
        await client.araw(seq + 100)
    assert caught.value.status == 404
    with pytest.raises(ClientError, match="404"):
        await client.araw(stream="nosuch")
    with pytest.raises(ConfigError, match="seq"):
        await client.araw(-1)
    with pytest.raises(ConfigError, match="stream name"):
        await client.araw(stream="../x")


async def test_raw_before_any_image_says_so(server: ImageServer) -> None:
    """raw() of a stream with no image yet raises ClientError saying to publish first."""
    with pytest.raises(ClientError, match="publish"):
        await Client(base(server)).araw()
