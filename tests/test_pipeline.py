"""The publishing pipeline: newest wins, and every submitter learns what became of its image."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from framecast import imaging
from framecast.frames import Incoming
from framecast.hub import Hub
from framecast.pipeline import Pipeline
from framecast.supervisor import Supervisor


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
        assert pipeline.counters.dropped == 1 and pipeline.counters.failed == 1
    finally:
        await pipeline.stop()
        await supervisor.stop()
