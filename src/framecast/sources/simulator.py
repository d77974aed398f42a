"""A simulated beamline camera: a Gaussian beam wandering over a noisy uint16 sensor.

Two ways to use it, so anyone can try framecast without a camera:

* ``framecast serve --simulate`` — :class:`SimulatedCamera`, an in-server source;
* ``framecast simulate`` — :func:`run_sender`, a stand-alone bsread sender that binds
  ``tcp://*:<port>`` (PUSH or PUB) like a PSI camera, for ``framecast serve --zmq``
  (or PSI's own receivers) to connect to.

Each frame carries the metadata a beamline screen shows: ``beam_energy``,
``repetition_rate``, ``pulse_id``, ``width``, ``height``, the beam centre ``beam_x`` /
``beam_y`` and the projections ``image_profile_x`` / ``image_profile_y`` (lists).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from framecast.errors import ConfigError, spell
from framecast.imaging.formats import DEFAULT_MAX_PIXELS
from framecast.live.frames import Incoming

if TYPE_CHECKING:
    from framecast.config.settings import Settings

__all__ = ["Beam", "SimulatedCamera", "beam_at", "render", "run_sender"]

logger = logging.getLogger("framecast.sources.simulate")

BACKGROUND = 200.0
NOISE = 25.0
PEAK = 3000.0


@dataclass(frozen=True)
class Beam:
    """Where the beam is on one pulse, and how it looks."""

    pulse_id: int
    x: float
    y: float
    sigma_x: float
    sigma_y: float
    peak: float
    energy: float


def beam_at(pulse_id: int, width: int, height: int) -> Beam:
    """The beam of ``pulse_id``: a slow Lissajous walk with a breathing size and intensity."""
    phase = pulse_id * 0.05
    return Beam(
        pulse_id=pulse_id,
        x=width * (0.5 + 0.3 * math.sin(phase)),
        y=height * (0.5 + 0.25 * math.sin(phase * 0.7 + 1.0)),
        sigma_x=width / 18 * (1.0 + 0.15 * math.sin(phase * 1.3)),
        sigma_y=height / 14 * (1.0 + 0.15 * math.cos(phase * 1.1)),
        peak=PEAK * (1.0 + 0.1 * math.sin(phase * 2.1)),
        energy=round(5.8 + 0.02 * math.sin(phase * 0.3), 5),
    )


def _gaussians(beam: Beam, width: int, height: int) -> tuple[np.ndarray[Any, Any], ...]:
    gx = np.exp(-0.5 * ((np.arange(width) - beam.x) / beam.sigma_x) ** 2)
    gy = np.exp(-0.5 * ((np.arange(height) - beam.y) / beam.sigma_y) ** 2)
    return gx, gy


def render(beam: Beam, width: int, height: int, seed: int | None = None) -> np.ndarray[Any, Any]:
    """The uint16 frame of ``beam``: Gaussian spot + background + noise."""
    gx, gy = _gaussians(beam, width, height)
    rng = np.random.default_rng(beam.pulse_id if seed is None else seed)
    frame = rng.standard_normal((height, width), dtype=np.float32)
    frame *= np.float32(NOISE)
    frame += np.float32(BACKGROUND)
    frame += np.outer(gy * beam.peak, gx).astype(np.float32)
    np.clip(frame, 0, 65535, out=frame)
    return frame.astype(np.uint16)


def metadata_of(
    beam: Beam, width: int, height: int, rate: float, image: np.ndarray[Any, Any] | None = None
) -> dict[str, Any]:
    """The metadata of one frame; profiles from ``image`` if given, else from the model."""
    if image is not None:
        profile_x = image.sum(axis=0, dtype=np.float64)
        profile_y = image.sum(axis=1, dtype=np.float64)
    else:
        gx, gy = _gaussians(beam, width, height)
        profile_x = beam.peak * gx * gy.sum() + BACKGROUND * height
        profile_y = beam.peak * gy * gx.sum() + BACKGROUND * width
    return {
        "pulse_id": beam.pulse_id,
        "beam_energy": beam.energy,
        "repetition_rate": rate,
        "width": width,
        "height": height,
        "beam_x": round(beam.x, 2),
        "beam_y": round(beam.y, 2),
        "image_profile_x": np.round(profile_x, 1).tolist(),
        "image_profile_y": np.round(profile_y, 1).tolist(),
    }


class SimulatedCamera:
    """An in-server source of simulated camera frames at ``rate`` frames per second."""

    name = "simulate"

    def __init__(
        self,
        *,
        rate: float = 10.0,
        width: int = 640,
        height: int = 480,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ) -> None:
        if rate <= 0:
            raise ConfigError(f"{spell('simulate_rate')} must be positive (frames per second)")
        if width < 8 or height < 8:
            raise ConfigError("the simulated camera needs at least 8x8 pixels")
        if max_pixels is not None and width * height > max_pixels:
            raise ConfigError(
                f"the simulated camera of {width}x{height} pixels is larger than "
                f"max_image_pixels ({max_pixels}); make it smaller or raise "
                f"{spell('max_image_pixels')}"
            )
        self.rate = rate
        self.width = width
        self.height = height
        self.pulse_id = 0
        self.skipped = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> SimulatedCamera:
        return cls(rate=settings.simulate_rate, max_pixels=settings.max_image_pixels)

    async def aclose(self) -> None:
        """Nothing to release."""

    async def frames(self) -> AsyncIterator[Incoming]:
        """Yield a frame every 1/rate seconds (the pixels are rendered in ``load``)."""
        loop = asyncio.get_running_loop()
        period = 1.0 / self.rate
        due = loop.time()
        logger.info(
            "simulated camera: %dx%d uint16 at %g frames/s", self.width, self.height, self.rate
        )
        while True:
            self.pulse_id += 1
            beam = beam_at(self.pulse_id, self.width, self.height)
            width, height = self.width, self.height

            def load(
                beam: Beam = beam, width: int = width, height: int = height
            ) -> np.ndarray[Any, Any]:
                return render(beam, width, height)

            yield Incoming(
                load=load,
                metadata=metadata_of(beam, width, height, self.rate),
                time=time.time(),
                name=f"pulse {beam.pulse_id}",
            )
            due += period
            now = loop.time()
            if due < now - period:  # fell behind (slow consumer): do not burst to catch up
                due = now
            await asyncio.sleep(max(0.0, due - now))


def run_sender(
    *,
    port: int = 8888,
    rate: float = 10.0,
    count: int | None = None,
    mode: str = "push",
    width: int = 640,
    height: int = 480,
    compression: str | None = "bitshuffle_lz4",
    host: str = "0.0.0.0",
) -> None:
    """Send simulated camera frames as bsread messages from ``tcp://<host>:<port>``.

    ``host``: the address (or interface name) to bind: ``0.0.0.0`` or ``*`` listens on
    every IPv4 interface, ``127.0.0.1`` on this machine only, an IPv6 address on that one.
    Blocks until ``count`` frames are sent (``None``: for ever) or KeyboardInterrupt.
    PUSH (the default) waits for a receiver before the first frame goes out, then
    delivers every frame; PUB sends whether or not anyone listens.
    """
    import zmq

    from framecast.sources.bsread.wire import encode_message

    if mode not in ("push", "pub"):
        raise ConfigError(f"simulate mode {mode!r} is unknown; give {spell('mode')} push or pub")
    if rate <= 0:
        raise ConfigError(f"{spell('rate')} must be positive (frames per second)")
    context = zmq.Context()
    socket = context.socket(zmq.PUB if mode == "pub" else zmq.PUSH)
    socket.setsockopt(zmq.LINGER, 1000)
    socket.setsockopt(zmq.SNDHWM, 16)
    ipv6 = ":" in host
    if ipv6:
        socket.setsockopt(zmq.IPV6, 1)
    address = f"tcp://[{host.strip('[]')}]:{port}" if ipv6 else f"tcp://{host}:{port}"
    try:
        socket.bind(address)
    except zmq.ZMQError as exc:
        socket.close(linger=0)
        context.term()
        raise ConfigError(
            f"cannot bind {address}: {exc}; choose another port with {spell('port')} "
            f"(or another address with {spell('host')})"
        ) from None
    logger.info(
        "simulated bsread camera on %s (%s, %dx%d uint16, %g frames/s%s)",
        address,
        mode.upper(),
        width,
        height,
        rate,
        "" if count is None else f", {count} frames",
    )
    period = 1.0 / rate
    due = time.monotonic()
    sent = 0
    try:
        while count is None or sent < count:
            pulse_id = sent + 1
            beam = beam_at(pulse_id, width, height)
            image = render(beam, width, height)
            channels: dict[str, Any] = {"image": image}
            for key, value in metadata_of(beam, width, height, rate, image).items():
                if key == "pulse_id":
                    continue
                channels[key] = (
                    np.asarray(value, dtype=np.float64) if isinstance(value, list) else value
                )
            frames = encode_message(channels, pulse_id=pulse_id, compression=compression)
            socket.send_multipart(frames)
            sent += 1
            due += period
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                due = time.monotonic()
    except KeyboardInterrupt:
        pass
    finally:
        socket.close()
        context.term()
        logger.info("simulated camera stopped after %d frames", sent)
