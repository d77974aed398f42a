"""The publishing pipeline: newest wins, and every submitter learns what became of its image."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from framecast import imaging
from framecast.live import pipeline as pipeline_module
from framecast.live.frames import Frame, Incoming
from framecast.live.hub import Hub, Subscription
from framecast.live.pipeline import Pipeline
from framecast.runtime.supervisor import Supervisor
from tests.conftest import until


async def test_replaced_and_published_images_are_reported(tmp_path: Path) -> None:
    """A replaced image is reported as None at once, the newest with its sequence number,
    an undecodable one as None."""
    hub = Hub()
    hub.subscribe()  # somebody watches: encode at once
    pipeline = Pipeline(hub, tmp_path, imaging.DisplayOptions(), max_file_rate=100)
    loop = asyncio.get_running_loop()
    fates: dict[str, asyncio.Future[int | None]] = {k: loop.create_future() for k in "abc"}

    def incoming(key: str, image: object) -> Incoming:
        return Incoming(load=lambda: image, name=key, on_published=fates[key].set_result)

    frame = np.zeros((8, 8), np.uint8)
    pipeline.submit(incoming("a", frame))  # not started yet: stays pending …
    pipeline.submit(incoming("b", frame))  # … and is replaced by b
    supervisor = Supervisor()
    pipeline.start(supervisor)
    try:
        assert await asyncio.wait_for(fates["a"], 5) is None
        assert await asyncio.wait_for(fates["b"], 5) == 1
        pipeline.submit(incoming("c", b"\x89PNG\r\n\x1a\n broken"))
        assert await asyncio.wait_for(fates["c"], 5) is None
        assert pipeline.counters.frames_superseded == 1 and pipeline.counters.frames_failed == 1
    finally:
        await pipeline.stop()
        await supervisor.stop()


def nested(levels: int) -> dict[str, object]:
    value: object = 1
    for _ in range(levels):
        value = {"k": value}
    assert isinstance(value, dict)
    return value


class Unprintable:
    """A metadata value whose text cannot be made."""

    def __str__(self) -> str:
        raise ValueError("no text for you")


async def test_bad_metadata_fails_one_frame_and_the_pipeline_goes_on(tmp_path: Path) -> None:
    """Metadata nested 5000 levels is published (flattened), a value that cannot be rendered
    fails only its own frame (counted, submitter told None), and the next image is
    published and written to the web folder."""
    hub = Hub()
    hub.subscribe()
    pipeline = Pipeline(hub, tmp_path, imaging.DisplayOptions(), max_file_rate=100)
    supervisor = Supervisor()
    pipeline.start(supervisor)
    loop = asyncio.get_running_loop()
    image = np.zeros((8, 8), np.uint8)

    async def publish(metadata: dict[str, object]) -> int | None:
        fate: asyncio.Future[int | None] = loop.create_future()
        pipeline.submit(
            Incoming(load=lambda: image, metadata=metadata, on_published=fate.set_result)
        )
        return await asyncio.wait_for(fate, 5)

    try:
        assert await publish({"deep": nested(5000)}) == 1
        assert await publish({"odd": Unprintable()}) is None
        assert await publish({"n": 3}) == 2
        assert pipeline.counters.frames_failed == 1 and supervisor.total_errors == 0
    finally:
        await pipeline.stop()
        await supervisor.stop()
    assert json.loads((tmp_path / "data.json").read_bytes())["n"] == 3


async def test_a_failing_task_is_logged_counted_and_restarted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """When fan-out fails inside the encoder task (here a client's writer raises), the
    supervisor logs the traceback, counts one error for "encoder" and restarts it: the
    frame was published and the next one is too."""
    hub = Hub()
    sub = hub.subscribe()
    calls: list[int] = []

    def broken_writer(frame: Frame) -> bool:
        calls.append(frame.seq)
        if len(calls) == 1:
            raise RuntimeError("writer exploded")
        return True

    sub.direct = broken_writer
    waiting = asyncio.create_task(sub.next())  # the client idles: the direct path is used
    await asyncio.sleep(0)
    pipeline = Pipeline(hub, tmp_path, imaging.DisplayOptions(), max_file_rate=100)
    supervisor = Supervisor()
    pipeline.start(supervisor)
    loop = asyncio.get_running_loop()
    image = np.zeros((8, 8), np.uint8)
    try:
        with caplog.at_level(logging.ERROR, logger="framecast.supervisor"):
            for expected in (1, 2):
                fate: asyncio.Future[int | None] = loop.create_future()
                pipeline.submit(Incoming(load=lambda: image, on_published=fate.set_result))
                assert await asyncio.wait_for(fate, 5) == expected
        assert calls == [1, 2] and supervisor.errors == {"encoder": 1}
        assert any("writer exploded" in (r.exc_text or "") for r in caplog.records)
    finally:
        waiting.cancel()
        await pipeline.stop()
        await supervisor.stop()


def _counting_encoder() -> tuple[
    list[int], Callable[[Any, imaging.DisplayOptions], imaging.Encoded]
]:
    calls: list[int] = []

    def encode(image: Any, options: imaging.DisplayOptions) -> imaging.Encoded:
        calls.append(1)
        return imaging.encode(image, options)

    return calls, encode


async def _submit_for(pipeline: Pipeline, seconds: float, rate: float) -> int:
    """Submit small images at ``rate``/s for ``seconds``; returns how many were submitted."""
    loop = asyncio.get_running_loop()
    end, count = loop.time() + seconds, 0
    image = np.zeros((8, 8), np.uint8)
    while loop.time() < end:
        pipeline.submit(Incoming(load=lambda: image, metadata={"n": count}))
        count += 1
        await asyncio.sleep(1 / rate)
    return count


async def test_nobody_watching_means_only_the_web_file_refresh_is_encoded(tmp_path: Path) -> None:
    """With no client, 100 images/s for 1.5 s are encoded only as often as the web files
    are due (max_file_rate 2/s), the rest dropped; a client arriving gets the next at once."""
    calls, encode = _counting_encoder()
    hub = Hub()
    pipeline = Pipeline(
        hub,
        tmp_path,
        imaging.DisplayOptions(),
        max_file_rate=2,
        encode=encode,
    )
    supervisor = Supervisor()
    pipeline.start(supervisor)
    try:
        submitted = await _submit_for(pipeline, 1.5, 100)
        assert submitted > 30  # many more than the encodes allowed, even on a loaded machine
        assert 1 <= len(calls) <= 5, len(calls)
        assert pipeline.counters.frames_superseded >= submitted - 6
        sub = hub.subscribe()
        await _submit_for(pipeline, 0.3, 20)
        frame = await asyncio.wait_for(sub.next(), 2)
        assert frame is not None and frame.seq > 1
    finally:
        await pipeline.stop()
        await supervisor.stop()


async def test_a_sender_waiting_for_its_number_is_never_paced_by_the_file_rate(
    tmp_path: Path,
) -> None:
    """With nobody watching and the web files due every 5 s (max_file_rate 0.2), an image
    held for the web files' turn is replaced by one whose sender waits, which is published
    at once, and so are the nine after it, each answered with the next number."""
    hub = Hub()
    pipeline = Pipeline(hub, tmp_path, imaging.DisplayOptions(), max_file_rate=0.2)
    supervisor = Supervisor()
    pipeline.start(supervisor)
    loop = asyncio.get_running_loop()
    image = np.zeros((8, 8), np.uint8)
    try:
        pipeline.submit(Incoming(load=lambda: image))  # the web files are due: made at once
        await until(lambda: hub.latest, 4, "the first frame")
        pipeline.submit(Incoming(load=lambda: image))  # held until the files are due (5 s)
        started, seqs = loop.time(), []
        for n in range(10):
            fate: asyncio.Future[int | None] = loop.create_future()
            pipeline.submit(
                Incoming(load=lambda: image, metadata={"n": n}, on_published=fate.set_result)
            )
            seqs.append(await asyncio.wait_for(fate, 4))
        assert seqs == list(range(2, 12))
        assert loop.time() - started < 4, "answers paced by the file rate"
        assert pipeline.counters.frames_superseded == 1  # the held image, replaced unencoded
    finally:
        await pipeline.stop()
        await supervisor.stop()


async def test_with_a_broker_every_image_is_made_though_nobody_watches_here(
    tmp_path: Path,
) -> None:
    """A pipeline whose frames go to other nodes (a broker's ``on_frame``) makes every one
    of ten images submitted in turn at once, though nobody watches here and the web files
    are due only every 5 s: the other nodes' viewers get the source's rate."""
    sent: list[int] = []
    pipeline = Pipeline(
        Hub(),
        tmp_path,
        imaging.DisplayOptions(),
        max_file_rate=0.2,
        on_frame=lambda frame: sent.append(frame.seq),
    )
    supervisor = Supervisor()
    pipeline.start(supervisor)
    image = np.zeros((8, 8), np.uint8)
    try:
        for n in range(10):
            pipeline.submit(Incoming(load=lambda: image, metadata={"n": n}))
            await until(lambda n=n: len(sent) > n, 4, f"image {n} sent to the other nodes")
        assert sent == list(range(1, 11))
    finally:
        await pipeline.stop()
        await supervisor.stop()


async def test_web_files_are_rewritten_at_most_max_file_rate_per_second(tmp_path: Path) -> None:
    """While a client watches 50 images/s, data.json on disk is replaced about 4 times a
    second (max_file_rate 4), never once per image; and it holds a recent image."""
    hub = Hub()
    hub.subscribe()
    pipeline = Pipeline(hub, tmp_path, imaging.DisplayOptions(), max_file_rate=4)
    supervisor = Supervisor()
    pipeline.start(supervisor)
    replaced = 0
    seen: int | None = None
    stop = asyncio.Event()

    async def watch() -> None:
        nonlocal replaced, seen
        while not stop.is_set():
            try:
                inode = (tmp_path / "data.json").stat().st_ino
            except FileNotFoundError:
                inode = None
            if inode is not None and inode != seen:
                replaced, seen = replaced + 1, inode
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(watch())
    try:
        submitted = await _submit_for(pipeline, 2.0, 50)
    finally:
        stop.set()
        await watcher
        await pipeline.stop()
        await supervisor.stop()
    assert submitted > 30  # far more than the writes allowed, even on a loaded machine
    assert 4 <= replaced <= 2.0 * 4 + 3, replaced  # once per period (+ the write at stop)
    assert json.loads((tmp_path / "data.json").read_text())["n"] >= submitted - 30


def watched(
    tmp_path: Path, *, max_file_rate: float = 50, **options: Any
) -> tuple[Hub, Subscription, Pipeline, Supervisor]:
    """A started pipeline whose hub has one viewer (``sub``)."""
    hub = Hub()
    sub = hub.subscribe()
    pipeline = Pipeline(
        hub, tmp_path, imaging.DisplayOptions(), max_file_rate=max_file_rate, **options
    )
    supervisor = Supervisor()
    pipeline.start(supervisor)
    return hub, sub, pipeline, supervisor


async def publish_three(pipeline: Pipeline, sub: Subscription) -> None:
    """Submit frames with metadata n = 0, 1, 2; each is published (seq 1, 2, 3) in turn."""
    for n in range(3):
        pipeline.submit(Incoming(load=lambda: np.full((8, 8), 200, np.uint8), metadata={"n": n}))
        frame = await asyncio.wait_for(sub.next(), 5)
        assert frame is not None and frame.seq == n + 1


async def test_the_newest_frame_is_on_disk_after_stop(tmp_path: Path) -> None:
    """Images published just before stop (within the file throttle's period) are not lost:
    when stop() returns, web_image.jpg and data.json hold the newest published one."""
    _, sub, pipeline, supervisor = watched(tmp_path, max_file_rate=0.2)
    try:
        await publish_three(pipeline, sub)
    finally:
        await pipeline.stop()
        await supervisor.stop()
    data = json.loads((tmp_path / "data.json").read_text())
    assert data["n"] == 2 and data["framecast"]["seq"] == 3
    assert (tmp_path / "web_image.jpg").read_bytes()[:2] == b"\xff\xd8"


async def test_a_write_still_running_at_stop_does_not_overwrite_the_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stop() cancels the web-file task while its write runs in a thread, which goes on: the
    newest frame's write waits for it, so the older frame cannot land on top of it."""
    entered, release = threading.Event(), threading.Event()
    real_write = pipeline_module._write_frame_bytes

    def write(folder: Path, jpeg: bytes, data_json: bytes) -> None:
        if not entered.is_set():  # the first frame's write stays in its thread until released
            entered.set()
            release.wait(10)
        real_write(folder, jpeg, data_json)

    monkeypatch.setattr(pipeline_module, "_write_frame_bytes", write)
    _, sub, pipeline, supervisor = watched(tmp_path, max_file_rate=0.2)
    try:
        await publish_three(pipeline, sub)
        assert await asyncio.to_thread(entered.wait, 5)
        stopping = asyncio.create_task(pipeline.stop())
        done, _ = await asyncio.wait([stopping], timeout=0.5)
        assert not done, "stop() returned while the first frame's write was still running"
    finally:
        release.set()
    await stopping
    await supervisor.stop()
    data = json.loads((tmp_path / "data.json").read_text())
    assert data["n"] == 2 and data["framecast"]["seq"] == 3


async def one_image_then_stop(pipeline: Pipeline, supervisor: Supervisor) -> list[int | None]:
    """Submit one image, wait until its submitter hears of it, stop; what it heard."""
    told: list[int | None] = []
    try:
        pipeline.submit(Incoming(load=lambda: np.zeros((8, 8), np.uint8), on_published=told.append))
        await until(lambda: told)
    finally:
        await pipeline.stop()
        await supervisor.stop()
    return told


async def test_an_image_being_made_at_stop_is_reported_not_shown(tmp_path: Path) -> None:
    """stop() while an image is being encoded: its submitter hears ``None`` (an upload
    waiting for its frame is answered at once), and nothing is published."""
    entered, release = threading.Event(), threading.Event()

    def slow_encode(image: Any, options: imaging.DisplayOptions) -> imaging.Encoded:
        entered.set()
        release.wait(10)
        return imaging.encode(image, options)

    hub, _, pipeline, supervisor = watched(tmp_path, encode=slow_encode)
    told: list[int | None] = []
    try:
        pipeline.submit(Incoming(load=lambda: np.zeros((8, 8), np.uint8), on_published=told.append))
        assert await asyncio.to_thread(entered.wait, 5)
        await pipeline.stop()
    finally:
        release.set()
        await supervisor.stop()
    assert told == [None] and hub.latest is None


async def test_a_frame_sent_to_other_nodes_is_shown_here_even_if_stopped_meanwhile(
    tmp_path: Path,
) -> None:
    """A stop that lands just after a frame went to the broker (on_frame) still shows the
    frame here: this node's viewers never lag behind the other nodes'."""
    sent: list[int] = []

    def on_frame(frame: Frame) -> None:  # the broker's hook; a stop arrives right after it
        sent.append(frame.seq)
        task = asyncio.current_task()
        assert task is not None
        task.cancel()

    hub, _, pipeline, supervisor = watched(tmp_path, on_frame=on_frame)
    told = await one_image_then_stop(pipeline, supervisor)
    assert sent == [1] and told == [1]
    assert hub.latest is not None and hub.latest.seq == 1
    assert json.loads((tmp_path / "data.json").read_text())["framecast"]["seq"] == 1


async def test_an_image_whose_numbering_fails_is_reported(tmp_path: Path) -> None:
    """When the shared numbering fails unexpectedly, the image's submitter hears ``None``
    (an upload is answered) and the error goes to the supervisor, which counts it."""

    async def numbering(stream: str, last: int) -> int:
        raise RuntimeError("numbering is broken")

    _, _, pipeline, supervisor = watched(tmp_path, numbering=numbering)
    told = await one_image_then_stop(pipeline, supervisor)
    assert told == [None] and supervisor.total_errors == 1


async def test_a_hung_web_folder_does_not_hang_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A write that never returns (a stale network mount) holds stop() for at most
    STOP_WRITE_WAIT, and says the web files may not hold the newest frame."""
    release = threading.Event()

    def hung(folder: Path, jpeg: bytes, data_json: bytes) -> None:
        release.wait(10)

    monkeypatch.setattr(pipeline_module, "_write_frame_bytes", hung)
    monkeypatch.setattr(pipeline_module, "STOP_WRITE_WAIT", 0.2)
    _, sub, pipeline, supervisor = watched(tmp_path, max_file_rate=0.2)
    try:
        await publish_three(pipeline, sub)
        await asyncio.wait_for(pipeline.stop(), 5)
    finally:
        release.set()
        await supervisor.stop()
    assert any("not written within 0.2 s" in r.getMessage() for r in caplog.records)


async def test_background_jobs_wait_until_the_frame_is_fanned_out(tmp_path: Path) -> None:
    """A tile or analysis job submitted while a frame is being made runs only after the hub
    has the frame (live frames first, framecast.runtime.priority)."""
    import threading

    from framecast.runtime.priority import BackgroundPool, LiveFirst

    hub = Hub()
    hub.subscribe()
    priority = LiveFirst(max_wait=10.0)
    release = threading.Event()

    def slow_encode(image: Any, options: imaging.DisplayOptions) -> imaging.Encoded:
        release.wait(10)
        return imaging.encode(image, options)

    pipeline = Pipeline(
        hub,
        tmp_path,
        imaging.DisplayOptions(),
        max_file_rate=100,
        encode=slow_encode,
        priority=priority,
    )
    supervisor = Supervisor()
    pipeline.start(supervisor)
    pool = BackgroundPool(1, priority, name="test-bg")
    try:
        pipeline.submit(Incoming(load=lambda: np.zeros((8, 8), np.uint8)))
        deadline = asyncio.get_running_loop().time() + 5
        while priority.making == 0:
            assert asyncio.get_running_loop().time() < deadline, "the frame never started"
            await asyncio.sleep(0.005)
        job = asyncio.wrap_future(pool.submit(lambda: hub.latest is not None))
        release.set()
        assert await asyncio.wait_for(job, 10) is True
    finally:
        pool.shutdown()
        await pipeline.stop()
        await supervisor.stop()


async def test_background_work_waits_from_the_moment_an_image_arrives(tmp_path: Path) -> None:
    """publish() itself holds background work back (not only once the encoder takes the
    image), until the frame is fanned out; with nobody watching it holds nothing."""
    from framecast.runtime.priority import LiveFirst

    hub = Hub()
    priority = LiveFirst()
    pipeline = Pipeline(
        hub, tmp_path, imaging.DisplayOptions(), max_file_rate=100, priority=priority
    )
    supervisor = Supervisor()
    pipeline.start(supervisor)
    try:
        pipeline.submit(Incoming(load=lambda: np.zeros((8, 8), np.uint8)))
        assert priority.making == 0  # nobody watches: the frame may wait for its file's turn
        sub = hub.subscribe()
        pipeline.submit(Incoming(load=lambda: np.ones((8, 8), np.uint8)))
        assert priority.making == 1  # before the loop has run the encoder at all
        frame = await asyncio.wait_for(sub.next(), 5)
        assert frame is not None
        deadline = asyncio.get_running_loop().time() + 5
        while priority.making:
            assert asyncio.get_running_loop().time() < deadline, "the priority was kept"
            await asyncio.sleep(0.005)
    finally:
        await pipeline.stop()
        await supervisor.stop()
    assert priority.making == 0
