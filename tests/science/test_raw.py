"""Each frame keeps its raw array as published (docs/science.md): dtype, values, lifetime,
weight."""

from __future__ import annotations

import gc
import io
from pathlib import Path

import aiohttp
import numpy as np
import pytest
import simplejpeg
from PIL import Image

from framecast import ImageServer
from framecast.imaging import encode
from framecast.live.history import weight
from framecast.science.answers import ENTRY_BYTES, Answers, size_of
from framecast.science.raw import DECODED, Raw
from tests.conftest import LOCAL, base, gradient, until


def test_an_array_is_kept_read_only_in_its_dtype() -> None:
    """A uint16 array stays uint16 with its values; H×W×1 becomes H×W; nobody can write it."""
    published = np.arange(12, dtype=np.uint16).reshape(3, 4, 1) * 5000
    raw = Raw(published)
    assert (raw.dtype, raw.shape, raw.channels) == ("uint16", (3, 4), 1)
    assert raw.array().tolist() == published[:, :, 0].tolist()
    with pytest.raises(ValueError):
        raw.array()[0, 0] = 1


def test_big_endian_input_becomes_native_with_the_same_values() -> None:
    """A big-endian array (as FITS stores it) is kept native-endian with equal values."""
    published = np.array([[1, 40000], [-3, 7]], dtype=">i4")
    raw = Raw(published)
    assert raw.array().dtype.isnative and raw.dtype == "int32"
    assert raw.array().tolist() == [[1, 40000], [-3, 7]]


def test_jpeg_pixels_are_decoded_on_first_use() -> None:
    """A JPEG frame's raw pixels are its decoded JPEG (uint8), colour or grey."""
    rgb = np.random.default_rng(1).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    jpeg = simplejpeg.encode_jpeg(rgb, quality=90)
    raw = Raw(jpeg=jpeg)
    assert (raw.dtype, raw.shape, raw.held) == ("uint8", (40, 60, 3), None)
    assert np.array_equal(raw.array(), simplejpeg.decode_jpeg(jpeg))
    grey = simplejpeg.encode_jpeg(rgb[:, :, :1].copy(), colorspace="GRAY")
    assert Raw(jpeg=grey).array().shape == (40, 60)


def test_decoded_jpegs_are_kept_in_the_cache_they_are_given() -> None:
    """A JPEG frame's decoded pixels are kept in the cache handed to array(): the same
    array while kept, at most the cache's bound for all frames (least recently used out),
    and gone with their frame; without a cache every call decodes."""
    pixels = np.random.default_rng(3).integers(0, 255, (100, 100, 3), dtype=np.uint8)
    entry = pixels.nbytes + size_of(DECODED) + ENTRY_BYTES
    cache = Answers(max_bytes=3 * entry)
    raws = [Raw(jpeg=simplejpeg.encode_jpeg(pixels)) for _ in range(5)]
    first = raws[0].array(cache)
    assert raws[0].array(cache) is first and cache.bytes == entry
    for raw in raws[1:]:
        raw.array(cache)
    assert (len(cache), cache.bytes) == (3, 3 * entry)
    assert raws[4].array(cache) is raws[4].array(cache)
    assert raws[0].array(cache) is not first  # long evicted: decoded again
    assert raws[1].array() is not raws[1].array()
    del raws, raw, first
    gc.collect()
    assert (len(cache), cache.bytes) == (0, 0)


async def test_the_server_counts_decoded_pixels_within_their_bound(work: Path) -> None:
    """A JPEG frame's pixels, decoded for a raw question, are counted in /api/status as
    frame_cache_bytes, at most max_frame_cache_bytes; they leave with the frame."""
    picture = np.random.default_rng(4).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    jpeg = simplejpeg.encode_jpeg(picture, quality=90)
    bound = 3 * picture.nbytes
    async with (
        ImageServer(
            work_folder=work,
            port=0,
            displayed_address=LOCAL,
            history=1,
            max_frame_cache_bytes=bound,
        ) as srv,
        aiohttp.ClientSession() as http,
    ):
        for seq in range(1, 5):
            srv.publish(jpeg)
            await until(lambda s=seq: getattr(_latest(srv, "default"), "seq", 0) == s)
            async with http.get(f"{base(srv)}/api/stats?seq={seq}") as response:
                assert response.status == 200
            kept = srv.status()["frame_cache_bytes"]
            assert picture.nbytes < kept <= bound

        def only_the_latest() -> bool:
            gc.collect()
            return bool(srv.status()["frame_cache_bytes"] < 2 * picture.nbytes)

        await until(only_the_latest, timeout=10, what="the pixels of frames gone to leave")


def test_uint8_display_and_raw_share_one_buffer_in_the_weight() -> None:
    """An 8-bit RGB frame whose display image is its raw array weighs the pixels once."""
    pixels = gradient(300, 200)
    rgb = np.ascontiguousarray(np.stack([pixels] * 3, axis=2))
    encoded = encode(rgb)
    raw = Raw.of(encoded.published)
    assert raw is not None and raw.held is not None
    from framecast.live.frames import Frame

    frame = Frame(
        seq=1,
        time=1.0,
        jpeg=encoded.jpeg,
        width=encoded.width,
        height=encoded.height,
        metadata={},
        original=encoded.original,
        raw=raw,
    )
    assert rgb.nbytes <= weight(frame) < 2 * rgb.nbytes


def png16(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG")
    return out.getvalue()


async def test_published_arrays_and_files_keep_their_depth(
    server: ImageServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """uint16, int16, float32 arrays and a 16-bit PNG file: the frame keeps the very numbers,
    and data.json and new_image name the dtype and the raw DZI."""
    cases = {
        "u16": np.array([[0, 40000], [65535, 12]], dtype=np.uint16),
        "i16": np.array([[-12, 0], [32767, -32768]], dtype=np.int16),
        "f32": np.array([[3.25e-05, np.nan], [np.inf, -1.5]], dtype=np.float32),
    }
    for name, array in cases.items():
        server.publish(array, stream=name)
    png = tmp_path / "deep.png"
    png.write_bytes(png16(np.array([[1, 2], [50000, 65535]], dtype=np.uint16)))
    server.publish(str(png), stream="png")
    for name in [*cases, "png"]:
        data = await until(lambda n=name: _latest(server, n), what=f"a frame on {name}")
        expected = cases.get(name, np.array([[1, 2], [50000, 65535]], dtype=np.uint16))
        raw = data.raw.array()
        assert raw.dtype == expected.dtype
        assert np.array_equal(raw, expected, equal_nan=True)
        async with http.get(f"{base(server)}/s/{name}/data.json") as response:
            info = (await response.json())["framecast"]
        assert info["dtype"] == str(expected.dtype)
        assert info["raw"] == f"/s/{name}/raw/{data.seq}.dzi"


async def test_keep_raw_false_keeps_none(work: Path, http: aiohttp.ClientSession) -> None:
    """keep_raw=False: frames carry no raw array and data.json says dtype and raw are null."""
    async with ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, keep_raw=False
    ) as srv:
        srv.publish(np.full((4, 4), 40000, np.uint16))
        frame = await until(lambda: _latest(srv, "default"), what="a frame")
        assert frame.raw is None
        async with http.get(f"{base(srv)}/data.json") as response:
            info = (await response.json())["framecast"]
        assert (info["dtype"], info["raw"]) == (None, None)


def _latest(server: ImageServer, name: str):  # type: ignore[no-untyped-def]
    stream = server._streams.get(name) if server._streams is not None else None
    return stream.latest if stream is not None else None


def test_gzip_pays_for_smooth_sparse_and_small_arrays_not_for_noise() -> None:
    """gzip is chosen where it shrinks the bytes: smooth, sparse (a detector) and tiny arrays
    yes; noisy 16-bit pixels (a camera) and random floats no."""
    from framecast.science.rawfiles import gzip_pays

    rng = np.random.default_rng(1)
    smooth = (np.arange(1024 * 1024, dtype=np.uint32).reshape(1024, 1024) % 4000).astype(np.uint16)
    sparse = np.zeros((1024, 1024), np.uint16)
    sparse[rng.integers(0, 1024, 500), rng.integers(0, 1024, 500)] = 7
    assert gzip_pays(smooth) and gzip_pays(sparse)
    assert gzip_pays(rng.integers(0, 65536, (20, 30), dtype=np.uint16))  # tiny: the header pays
    assert not gzip_pays(rng.integers(0, 65536, (1024, 1024), dtype=np.uint16))
    assert not gzip_pays(rng.random((512, 512), dtype=np.float32))


def test_gzip_pays_judges_the_whole_frame_not_its_dark_edges() -> None:
    """A camera frame with a dark, smooth border and a bright, noisy middle: its edges alone
    would compress well, the whole frame by about a tenth; the decision follows the whole
    frame, compressed as the answer would be. A dim frame of low counts does pay."""
    from framecast.science.rawfiles import deflater, gzip_pays

    rng = np.random.default_rng(2)
    y, x = np.mgrid[0:1024, 0:1024].astype(np.float32)
    spot = 30000 * np.exp(-((x - 512) ** 2 + (y - 512) ** 2) / (0.05 * 1024**2))
    camera = rng.poisson(spot + 2000 + 3000 * x / 1024).astype(np.uint16)
    module, level = deflater()
    saving = 1 - len(module.compress(camera.tobytes(), level)) / camera.nbytes
    assert saving < 0.15 and not gzip_pays(camera)
    assert gzip_pays(rng.poisson(100, (1024, 1024)).astype(np.uint16))
