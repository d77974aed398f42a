"""The folder source on real folders: completeness, order, skipping, existing files."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import shutil
import threading
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simplejpeg
from PIL import Image

from framecast import imaging
from framecast.config.settings import Settings
from framecast.errors import SourceError
from framecast.live.frames import Incoming
from framecast.sources import create_sources
from framecast.sources.completeness import Verdict, examine
from framecast.sources.folder import FolderSource, is_ignored, natural_key
from tests.imaging.samples import fits_claiming, jpeg_claiming, png_claiming, tiff_claiming
from tests.sources.conftest import next_frame, until


def beam16(height: int = 120, width: int = 160) -> np.ndarray[Any, Any]:
    """A 16-bit frame with a bright spot on a dim noisy background."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:height, 0:width]
    spot = 30000 * np.exp(-((x - 60) ** 2 + (y - 50) ** 2) / (2 * 12.0**2))
    return (2000 + spot + rng.normal(0, 40, (height, width))).astype(np.uint16)


def encoded(kind: str, frame: np.ndarray[Any, Any] | None = None) -> bytes:
    """The bytes of an image file of ``kind`` (png16, png, jpeg, tiff, fits)."""
    frame = beam16() if frame is None else frame
    buffer = io.BytesIO()
    if kind == "png16":
        Image.fromarray(frame).save(buffer, format="PNG")
    elif kind == "png":
        Image.fromarray((frame >> 8).astype(np.uint8)).save(buffer, format="PNG")
    elif kind == "jpeg":
        return bytes(
            simplejpeg.encode_jpeg((frame >> 8).astype(np.uint8)[:, :, None], colorspace="GRAY")
        )
    elif kind == "tiff":
        import tifffile

        tifffile.imwrite(buffer, frame)
    elif kind == "fits":
        from astropy.io import fits

        hdu = fits.PrimaryHDU(frame)
        hdu.header["EXPTIME"] = 30.0
        hdu.header["OBJECT"] = "M 42"
        hdu.writeto(buffer)
    else:
        raise ValueError(kind)
    return buffer.getvalue()


def assert_visible_contrast(jpeg: bytes) -> None:
    """Dark background, bright spot, real spread: the browser shows a picture."""
    shown = simplejpeg.decode_jpeg(jpeg, colorspace="GRAY")[:, :, 0]
    assert shown.min() < 40 and shown.max() > 200 and shown.std() > 5


@contextlib.asynccontextmanager
async def watching(folder: Path, **options: Any) -> AsyncIterator[tuple[FolderSource, Any]]:
    """A running folder source whose watcher is ready, and its generator; closed afterwards."""
    source = FolderSource(folder, **options)
    frames = source.frames()
    wrapper = _Frames(frames, asyncio.ensure_future(next_frame(frames, timeout=30)))
    try:
        await asyncio.wait_for(source.ready.wait(), 10)
        yield source, wrapper
    finally:
        if wrapper._first is not None:
            wrapper._first.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await wrapper._first
        await frames.aclose()


class _Frames:
    """The generator's frames, the first of which was already requested."""

    def __init__(self, frames: AsyncIterator[Incoming], first: asyncio.Future[Incoming]) -> None:
        self._frames = frames
        self._first: asyncio.Future[Incoming] | None = first

    async def next(self, timeout: float = 10.0) -> Incoming:
        if self._first is not None:
            first, self._first = self._first, None
            return await asyncio.wait_for(first, timeout)
        return await next_frame(self._frames, timeout)

    async def none_within(self, seconds: float) -> None:
        """Nothing more is published within ``seconds``."""
        pending = self._first or asyncio.ensure_future(next_frame(self._frames, 60))
        self._first = pending
        done, _ = await asyncio.wait({pending}, timeout=seconds)
        assert not done, f"unexpected frame {pending.result().name if done else ''}"


def slow_write(path: Path, data: bytes, pause: float) -> None:
    """Write half of ``data``, flush, pause, then write the rest (a writer stalling mid-file)."""
    with path.open("wb") as handle:
        handle.write(data[: len(data) // 2])
        handle.flush()
        os.fsync(handle.fileno())
        threading.Event().wait(pause)
        handle.write(data[len(data) // 2 :])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "name"),
    [("png16", "slow.png"), ("jpeg", "slow.jpg"), ("fits", "slow.fits"), ("tiff", "slow.tif")],
)
async def test_slow_writer_is_never_published_truncated(
    tmp_path: Path, kind: str, name: str
) -> None:
    """A writer that pauses 1.2 s mid-file: the file is published once, whole."""
    data = encoded(kind)
    async with watching(tmp_path) as (source, frames):
        writer = asyncio.ensure_future(asyncio.to_thread(slow_write, tmp_path / name, data, 1.2))
        incoming = await frames.next(timeout=15)
        await asyncio.wait_for(writer, 5)
        assert incoming.name == name
        assert incoming.load() == data
        await frames.none_within(0.8)
        assert source.skipped == 0


async def test_files_arriving_together_come_in_natural_order(tmp_path: Path) -> None:
    """a1 … a12 written together (in reverse) are published a1, a2, …, a12."""
    data = encoded("png")
    async with watching(tmp_path) as (_source, frames):
        for number in range(12, 0, -1):
            (tmp_path / f"a{number}.png").write_bytes(data)
        names = [(await frames.next()).name for _ in range(12)]
    assert names == [f"a{n}.png" for n in range(1, 13)]


async def test_existing_files_are_published_in_natural_order_with_existing(
    tmp_path: Path,
) -> None:
    """With existing=True the files already there are published first, a2 before a10."""
    for name in ("a10.png", "a2.png", "b1.png", ".hidden.png"):
        (tmp_path / name).write_bytes(encoded("png"))
    async with watching(tmp_path, existing=True) as (_source, frames):
        names = [(await frames.next()).name for _ in range(3)]
        await frames.none_within(0.5)
    assert names == ["a2.png", "a10.png", "b1.png"]


async def test_existing_files_are_ignored_by_default_but_rewrites_count(tmp_path: Path) -> None:
    """Files present at start are not published; rewriting one later publishes it once."""
    (tmp_path / "old.png").write_bytes(encoded("png"))
    async with watching(tmp_path) as (_source, frames):
        await frames.none_within(0.6)
        new = encoded("png", beam16() // 2)
        (tmp_path / "old.png").write_bytes(new)
        incoming = await frames.next()
        assert incoming.name == "old.png" and incoming.load() == new
        await frames.none_within(0.6)


async def test_files_written_after_the_server_started_are_new_before_the_watcher_runs(
    tmp_path: Path,
) -> None:
    """A file written after the source was made (the server started) but before its
    watcher task first ran is published, not taken for one that was already there; an
    older file is still ignored."""
    old = tmp_path / "old.png"
    old.write_bytes(encoded("png"))
    os.utime(old, ns=(1_000_000_000, 1_000_000_000))  # written long before the start
    source = FolderSource(tmp_path)
    (tmp_path / "early.png").write_bytes(encoded("png", beam16() // 3))
    frames = source.frames()
    try:
        incoming = await next_frame(frames, timeout=10)
        assert incoming.name == "early.png"
    finally:
        await frames.aclose()


async def test_bad_files_are_skipped_and_named_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A corrupt PNG, a text file and an empty file are logged by name; good files still come."""
    png = encoded("png")
    corrupt = png[:40] + bytes(b ^ 0x55 for b in png[40:])
    with caplog.at_level(logging.WARNING, "framecast.sources.watch"):
        async with watching(tmp_path, max_wait=1.0) as (source, frames):
            (tmp_path / "broken.png").write_bytes(corrupt)
            (tmp_path / "notes.png").write_text("these are not pixels\n")
            (tmp_path / "empty.png").write_bytes(b"")
            await until(lambda: source.skipped == 3, timeout=10, what="three skips")
            (tmp_path / "good.png").write_bytes(png)
            assert (await frames.next()).name == "good.png"
    for name in ("broken.png", "notes.png", "empty.png"):
        assert name in caplog.text


async def test_hidden_and_temporary_names_are_ignored(tmp_path: Path) -> None:
    """.x, *.tmp, *.part and x~ files are never published, and a rename to the real name is."""
    data = encoded("png")
    async with watching(tmp_path) as (source, frames):
        for name in (".x.png", "y.png.tmp", "z.png.part", "w.png~"):
            (tmp_path / name).write_bytes(data)
        (tmp_path / "y.png.tmp").rename(tmp_path / "y.png")
        assert (await frames.next()).name == "y.png"
        await frames.none_within(0.6)
        assert source.skipped == 0


@pytest.mark.parametrize("kind", ["png16", "tiff", "fits"])
async def test_scientific_files_display_with_contrast(tmp_path: Path, kind: str) -> None:
    """16-bit PNG, 16-bit TIFF and FITS files from the folder show a visible picture."""
    async with watching(tmp_path) as (_source, frames):
        (tmp_path / f"frame.{kind}").write_bytes(encoded(kind))
        incoming = await frames.next()
    assert_visible_contrast(imaging.encode(incoming.load()).jpeg)


async def test_fits_cards_become_metadata(tmp_path: Path) -> None:
    """OBJECT and EXPTIME of a FITS header are in the frame's metadata, beside the file name."""
    async with watching(tmp_path) as (_source, frames):
        (tmp_path / "m42.fits").write_bytes(encoded("fits"))
        incoming = await frames.next()
    assert incoming.metadata["file"] == "m42.fits"
    assert incoming.metadata["OBJECT"] == "M 42"
    assert incoming.metadata["EXPTIME"] == 30.0


async def test_folder_disappearing_is_a_source_error(tmp_path: Path) -> None:
    """Deleting the watched folder ends the source with a SourceError naming it."""
    folder = tmp_path / "watched"
    folder.mkdir()
    source = FolderSource(folder, rescan=0.1)
    frames = source.frames()
    task = asyncio.ensure_future(next_frame(frames, timeout=30))
    await asyncio.wait_for(source.ready.wait(), 10)
    shutil.rmtree(folder)
    with pytest.raises(SourceError, match="disappeared"):
        await asyncio.wait_for(task, 10)


async def test_missing_folder_at_start_is_a_source_error(tmp_path: Path) -> None:
    """A folder that does not exist when the source starts is a clear SourceError."""
    frames = FolderSource(tmp_path / "nope").frames()
    with pytest.raises(SourceError, match="nope"):
        await next_frame(frames)


def test_created_from_settings(tmp_path: Path) -> None:
    """--watch and --existing build a folder source."""
    (source,) = create_sources(Settings(watch=tmp_path, existing=True))
    assert isinstance(source, FolderSource)
    assert source.folder == tmp_path and source.existing


def test_natural_key_orders_numbers_by_value() -> None:
    """a2 < a10 < b1, case-insensitively."""
    names = ["b1.png", "A10.png", "a2.png", "a1.png", "a02b.png"]
    assert sorted(names, key=natural_key) == ["a1.png", "a2.png", "a02b.png", "A10.png", "b1.png"]


@pytest.mark.parametrize("name", [".x.png", "a.tmp", "a.png.part", "a.png~", "~$a.png", "a.TMP"])
def test_temporary_names(name: str) -> None:
    """Hidden and temporary names are ignored."""
    assert is_ignored(name)
    assert not is_ignored("a.png")


# -- completeness checks --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["png16", "png", "jpeg", "tiff", "fits"])
def test_every_prefix_of_an_image_is_incomplete(tmp_path: Path, kind: str) -> None:
    """Cut anywhere, a file is never judged complete; whole, it is."""
    data = encoded(kind)
    path = tmp_path / "f"
    for cut in sorted({1, 8, 100, len(data) // 3, len(data) // 2, len(data) - 2, len(data) - 1}):
        path.write_bytes(data[:cut])
        verdict, reason = examine(path)
        assert verdict is not Verdict.COMPLETE, (cut, reason)
    path.write_bytes(data)
    assert examine(path)[0] is Verdict.COMPLETE


def test_verdicts_for_bad_files(tmp_path: Path) -> None:
    """Text is not an image, a bad PNG CRC is corrupt, an empty file may still grow."""
    path = tmp_path / "f"
    path.write_text("hello, world")
    assert examine(path)[0] is Verdict.NOT_IMAGE
    png = bytearray(encoded("png"))
    png[20] ^= 0xFF  # inside IHDR
    path.write_bytes(bytes(png))
    assert examine(path)[0] is Verdict.CORRUPT
    path.write_bytes(b"")
    assert examine(path)[0] is Verdict.INCOMPLETE


def test_png_crc_check_matches_zlib() -> None:
    """The PNG check uses the standard CRC (a sanity check of the test data itself)."""
    png = encoded("png")
    length = int.from_bytes(png[8:12], "big")
    crc = int.from_bytes(png[16 + length : 20 + length], "big")
    assert zlib.crc32(png[12 : 16 + length]) == crc


async def test_images_over_the_pixel_limit_are_skipped_with_one_line_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Files whose header claims 40000x40000 are logged once by name, never decoded; the next
    good file is published."""
    bombs = {
        "huge.jpg": jpeg_claiming(40000, 40000),
        "huge.png": png_claiming(40000, 40000),
        "huge.tif": tiff_claiming(40000, 40000),
        "huge.fits": fits_claiming(40000, 40000),  # header only: refused without waiting
    }
    with caplog.at_level(logging.WARNING, "framecast.sources.watch"):
        async with watching(tmp_path, max_wait=30.0) as (source, frames):
            for name, data in bombs.items():
                (tmp_path / name).write_bytes(data)
            await until(lambda: source.skipped == len(bombs), timeout=10, what="four skips")
            (tmp_path / "good.png").write_bytes(encoded("png16"))
            incoming = await frames.next()
            assert incoming.name == "good.png"
            assert_visible_contrast(imaging.encode(incoming.load()).jpeg)
    for name in bombs:
        lines = [r.getMessage() for r in caplog.records if name in r.getMessage()]
        assert len(lines) == 1, lines
        assert "40000x40000" in lines[0] and "max_image_pixels" in lines[0]


@pytest.mark.parametrize("kind", ["png16", "png", "jpeg", "tiff", "fits"])
def test_verdict_too_large_from_the_header(tmp_path: Path, kind: str) -> None:
    """examine() says TOO_LARGE above max_pixels and COMPLETE at the limit (160x120 here)."""
    path = tmp_path / "f"
    path.write_bytes(encoded(kind))
    assert examine(path, max_pixels=160 * 120)[0] is Verdict.COMPLETE
    verdict, reason = examine(path, max_pixels=160 * 120 - 1)
    assert verdict is Verdict.TOO_LARGE and "160x120" in reason


def test_limit_comes_from_settings(tmp_path: Path) -> None:
    """--max-image-pixels reaches the folder source."""
    (source,) = create_sources(Settings(watch=tmp_path, max_image_pixels=4321))
    assert isinstance(source, FolderSource) and source.max_pixels == 4321
