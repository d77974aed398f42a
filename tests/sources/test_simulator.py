"""The simulated camera, in-server and as a stand-alone bsread sender read by psi-bsread."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from framecast import imaging
from framecast.config.settings import Settings
from framecast.errors import ConfigError
from framecast.sources import create_sources
from framecast.sources.simulator import SimulatedCamera, run_sender
from tests.sources.conftest import free_port, next_frame


def centroid(image: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Intensity-weighted centre of the background-subtracted image."""
    weights = np.clip(image.astype(np.float64) - 400.0, 0, None)
    y, x = np.indices(image.shape)
    return float((weights * x).sum() / weights.sum()), float((weights * y).sum() / weights.sum())


async def test_simulated_frames_move_and_carry_metadata() -> None:
    """Frames are uint16 640x480 with a beam that moves, and the documented metadata."""
    camera = SimulatedCamera(rate=100.0)
    frames = camera.frames()
    try:
        items = [await next_frame(frames) for _ in range(20)]
    finally:
        await frames.aclose()
    first, last = items[0].load(), items[-1].load()
    assert first.dtype == np.uint16 and first.shape == (480, 640)
    x0, y0 = centroid(first)
    x1, y1 = centroid(last)
    assert abs(x1 - x0) + abs(y1 - y0) > 10, "the beam did not move"
    meta = items[-1].metadata
    assert meta["pulse_id"] == 20 and meta["width"] == 640 and meta["height"] == 480
    assert meta["repetition_rate"] == 100.0 and 5 < meta["beam_energy"] < 7
    assert len(meta["image_profile_x"]) == 640 and len(meta["image_profile_y"]) == 480
    assert abs(int(np.argmax(meta["image_profile_x"])) - x1) < 5
    assert abs(meta["beam_x"] - x1) < 5 and abs(meta["beam_y"] - y1) < 5


async def test_simulated_camera_keeps_its_rate() -> None:
    """At 50 frames/s, 10 frames take about 0.2 s (not as fast as possible)."""
    frames = SimulatedCamera(rate=50.0).frames()
    try:
        await next_frame(frames)
        start = time.monotonic()
        for _ in range(10):
            await next_frame(frames)
        elapsed = time.monotonic() - start
    finally:
        await frames.aclose()
    assert 0.15 < elapsed < 0.6


async def test_simulated_frame_displays_with_contrast() -> None:
    """The simulated beam is visible after the auto stretch."""
    frames = SimulatedCamera().frames()
    try:
        image = (await next_frame(frames)).load()
    finally:
        await frames.aclose()
    shown = imaging.to_display(image)[:, :, 0]
    assert shown.max() > 200 and np.median(shown) < 80


def test_created_from_settings() -> None:
    """--simulate and --simulate-rate build the simulated camera."""
    (source,) = create_sources(Settings(simulate=True, simulate_rate=25.0))
    assert isinstance(source, SimulatedCamera) and source.rate == 25.0


@pytest.mark.parametrize("mode", ["push", "pub"])
def test_run_sender_is_read_by_psi_bsread(mode: str) -> None:
    """`framecast simulate` frames are real bsread: psi-bsread's receiver decodes them."""
    import bsread

    port = free_port()
    # PUSH delivers every frame (waiting for the receiver); PUB sends whether or not anyone
    # listens, so it keeps going long enough for the subscriber to join.
    count = 3 if mode == "push" else 100
    sender = threading.Thread(
        target=run_sender,
        kwargs={"port": port, "rate": 50.0, "count": count, "mode": mode, "host": "127.0.0.1"},
        daemon=True,
    )
    sender.start()
    source = bsread.Source(
        host="127.0.0.1",
        port=port,
        mode=bsread.SUB if mode == "pub" else bsread.PULL,
        receive_timeout=5000,
    )
    source.connect()
    try:
        messages = [source.receive().data for _ in range(3)]
    finally:
        source.stream.socket.close(linger=0)
        source.stream.context.term()
    sender.join(timeout=10)
    assert not sender.is_alive()
    for message in messages:
        assert message is not None
        data = {name: value.value for name, value in message.data.items()}
        image = data["image"]
        assert image.shape == (480, 640) and image.dtype == np.uint16
        assert 5 < data["beam_energy"] < 7 and data["repetition_rate"] == 50.0
        assert len(data["image_profile_x"]) == 640 and len(data["image_profile_y"]) == 480
        assert np.allclose(data["image_profile_x"], image.sum(axis=0), rtol=1e-6)
    assert messages[1].pulse_id > messages[0].pulse_id


def test_run_sender_rejects_bad_options() -> None:
    """Unknown modes and non-positive rates are ConfigErrors."""
    with pytest.raises(ConfigError, match="push or pub"):
        run_sender(mode="pair", count=1)
    with pytest.raises(ConfigError, match="positive"):
        run_sender(rate=0, count=1)


def test_simulated_camera_larger_than_the_pixel_limit_is_a_config_error() -> None:
    """A simulated sensor over max_image_pixels is refused when the source is built."""
    with pytest.raises(ConfigError, match="max_image_pixels"):
        SimulatedCamera(width=640, height=480, max_pixels=640 * 480 - 1)
    assert SimulatedCamera(width=640, height=480, max_pixels=640 * 480).width == 640
    with pytest.raises(ConfigError, match="max_image_pixels"):
        create_sources(Settings(simulate=True, max_image_pixels=1000))
