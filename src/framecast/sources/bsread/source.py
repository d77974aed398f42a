"""The bsread source: frames of a camera streaming PSI's bsread format over ZeroMQ.

``framecast serve --zmq tcp://camera:9999`` connects a PULL socket (or SUB with
``--zmq-mode sub``) to the camera, which binds. A receiver task drains the socket all the
time and keeps only the newest well-formed message, so the frame shown is fresh even when
the camera is much faster than the viewers; messages that arrive while nobody asks are
dropped after their headers are read (nothing is decompressed for nobody).

For each message handed on, scalar channels and 1-D channels become metadata (numbers,
strings and lists), and the image channel (``--zmq-image-channel NAME``, or the first
2-D channel) is decompressed only when ``Incoming.load`` is called. Malformed messages
are counted in ``skipped`` and logged once per kind of problem: an image channel whose
declared shape is over ``max_pixels`` (``max_image_pixels``) is refused before anything is
decompressed, and no compressed value may claim more than LZ4 can expand its received
bytes to (:data:`~framecast.sources.bsread.wire.MAX_EXPANSION`). Messages larger than
``max_message_bytes`` are refused by ZeroMQ itself (``MAXMSGSIZE``), which drops the
connection and reconnects. ZeroMQ reconnects by itself after a camera restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import struct
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import zmq
import zmq.asyncio

from framecast.errors import ConfigError, ImageError, ImageTooLargeError, SourceError, spell
from framecast.imaging.formats import DEFAULT_MAX_PIXELS, check_pixels
from framecast.live.frames import Incoming
from framecast.runtime.deadline import cancel_all
from framecast.sources.bsread.wire import Buffer, Decoder, Message, WireError, decode_value

if TYPE_CHECKING:
    from framecast.config.settings import Settings

__all__ = ["BsreadSource"]

logger = logging.getLogger("framecast.sources.zmq")

_ADDRESS = re.compile(r"^(tcp://[^\s:/]+|tcp://\[[0-9a-fA-F:]+\]):(\d{1,5})$|^(ipc|inproc)://\S+$")
#: Messages read per drain before the event loop gets a turn.
_DRAIN_BATCH = 256


def normalise_address(address: str) -> str:
    """``tcp://host:port`` (``host:port`` alone means TCP); ConfigError for anything else."""
    text = address.strip()
    if "://" not in text:
        text = "tcp://" + text
    match = _ADDRESS.match(text)
    if match is None or (match.group(2) is not None and not 0 < int(match.group(2)) < 65536):
        raise ConfigError(
            f"zmq address {address!r} is not understood; use {spell('zmq', 'tcp://HOST:PORT')} "
            "(e.g. tcp://camera-host:9999)"
        )
    return text


class BsreadSource:
    """Receive a bsread stream; yield its newest frame whenever the consumer is ready."""

    name = "zmq"

    def __init__(
        self,
        address: str,
        *,
        mode: str = "pull",
        image_channel: str | None = None,
        max_message_bytes: int = 512 * 1024 * 1024,
        receive_hwm: int = 16,
        silence_warning: float | None = 10.0,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ) -> None:
        if mode not in ("pull", "sub"):
            raise ConfigError(f"zmq mode {mode!r} is unknown; use pull or sub")
        self.address = normalise_address(address)
        self.mode = mode
        self.image_channel = image_channel
        self.max_message_bytes = max_message_bytes
        self.receive_hwm = receive_hwm
        self.silence_warning = silence_warning
        self.max_pixels = max_pixels
        self.received = 0  # well-formed messages read from the socket
        self.skipped = 0  # malformed messages, or messages without a usable image
        self.dropped = 0  # well-formed messages replaced by a newer one before anyone asked
        self.yielded = 0
        self.connected = False
        self.disconnects = 0
        self._decoder = Decoder()
        self._latest: Message | None = None
        self._ready = asyncio.Event()
        self._reported: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> BsreadSource:
        if settings.zmq is None:
            raise ConfigError(f"the zmq source needs {spell('zmq', 'tcp://HOST:PORT')}")
        return cls(
            settings.zmq,
            mode=settings.zmq_mode,
            image_channel=settings.zmq_image_channel,
            max_pixels=settings.max_image_pixels,
        )

    # -- the generator the server iterates -----------------------------------------------------

    async def frames(self) -> AsyncIterator[Incoming]:
        """Yield the newest frame each time the consumer asks, until cancelled."""
        context = zmq.asyncio.Context()
        socket, monitor = self._open(context)
        receiver = asyncio.create_task(self._receive(socket, monitor), name="bsread-receiver")
        logger.info("receiving bsread (%s) from %s", self.mode.upper(), self.address)
        waiter: asyncio.Task[Any] | None = None
        try:
            while True:
                waiter = asyncio.create_task(self._ready.wait())
                await asyncio.wait({waiter, receiver}, return_when=asyncio.FIRST_COMPLETED)
                if receiver.done():
                    receiver.result()  # re-raise the receiver's fatal error
                    raise SourceError(f"bsread receiver for {self.address} stopped")
                self._ready.clear()
                message, self._latest = self._latest, None
                if message is None:
                    continue
                incoming = self._incoming(message)
                if incoming is not None:
                    self.yielded += 1
                    yield incoming
        finally:
            try:  # a cancel of this task while it waits goes on up (never swallowed here)
                tasks = [task for task in (waiter, receiver) if task is not None]
                await cancel_all(tasks, f"closing the bsread receiver for {self.address}")
            finally:
                with contextlib.suppress(zmq.ZMQError):
                    socket.disable_monitor()
                monitor.close(linger=0)
                socket.close(linger=0)
                context.term()

    async def aclose(self) -> None:
        """Nothing to release beyond what ``frames()`` closes when it ends."""

    # -- socket --------------------------------------------------------------------------------

    def _open(self, context: zmq.asyncio.Context) -> tuple[zmq.asyncio.Socket, zmq.asyncio.Socket]:
        """The connected data socket and its monitor (attached first: no event is missed)."""
        socket = context.socket(zmq.SUB if self.mode == "sub" else zmq.PULL)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.RCVHWM, self.receive_hwm)
        socket.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        socket.setsockopt(zmq.RECONNECT_IVL, 200)
        socket.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        if self.mode == "sub":
            socket.setsockopt(zmq.SUBSCRIBE, b"")
        monitor = socket.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
        try:
            socket.connect(self.address)
        except zmq.ZMQError as exc:
            monitor.close(linger=0)
            socket.close(linger=0)
            context.term()
            raise SourceError(
                f"cannot connect to {self.address}: {exc}; check the {spell('zmq')} address"
            ) from None
        return socket, monitor

    async def _receive(self, socket: zmq.asyncio.Socket, monitor: zmq.asyncio.Socket) -> None:
        """Drain the socket for ever, keeping the newest well-formed message."""
        poller = zmq.asyncio.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        timeout = None if self.silence_warning is None else int(self.silence_warning * 1000)
        silent_warned = False
        while True:
            events = dict(await poller.poll(timeout))
            if not events:
                if not silent_warned and self.received == 0:
                    logger.warning(
                        "no bsread data from %s after %.0f s; is the camera running and "
                        "sending in %s mode? (still trying)",
                        self.address,
                        self.silence_warning or 0,
                        "PUSH" if self.mode == "pull" else "PUB",
                    )
                    silent_warned = True
                continue
            if monitor in events and await self._monitor_event(monitor) == "disconnected":
                # libzmq does not reconnect after a protocol error (such as a message over
                # MAXMSGSIZE): start a fresh connection ourselves; harmless after a restart.
                with contextlib.suppress(zmq.ZMQError):
                    socket.disconnect(self.address)
                socket.connect(self.address)
            if socket in events:
                newest = await self._drain(socket)
                if newest is not None:
                    if self._latest is not None:
                        self.dropped += 1
                    self._latest = newest
                    self._ready.set()

    async def _drain(self, socket: zmq.asyncio.Socket) -> Message | None:
        newest: Message | None = None
        for _ in range(_DRAIN_BATCH):
            try:
                frames = await socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            message = self._parse([frame.buffer for frame in frames])
            if message is None:
                continue
            if newest is not None:
                self.dropped += 1
            newest = message
        return newest

    def _parse(self, parts: list[Buffer]) -> Message | None:
        size = sum(memoryview(part).nbytes for part in parts)
        try:
            if size > self.max_message_bytes:
                raise WireError(f"message of {size} bytes exceeds {self.max_message_bytes}")
            message = self._decoder.decode(parts)
        except WireError as exc:
            self._skip(str(exc))
            return None
        self.received += 1
        if message.format_changed:
            names = ", ".join(spec.name for spec in message.header.channels)
            logger.info("bsread channels from %s: %s", self.address, names)
        return message

    async def _monitor_event(self, monitor: zmq.asyncio.Socket) -> str | None:
        try:
            parts = await monitor.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return None
        if not parts or len(parts[0]) < 6:
            return None
        event, _value = struct.unpack("=hi", parts[0][:6])
        if event == zmq.EVENT_CONNECTED:
            self.connected = True
            logger.info("connected to bsread stream %s", self.address)
            return "connected"
        if event == zmq.EVENT_DISCONNECTED:
            self.connected = False
            self.disconnects += 1
            logger.warning(
                "bsread stream %s disconnected (camera stopped, or a message over %d bytes); "
                "reconnecting",
                self.address,
                self.max_message_bytes,
            )
            return "disconnected"
        return None

    # -- messages → incoming frames -----------------------------------------------------------

    def _skip(self, problem: str) -> None:
        self.skipped += 1
        kind = problem.split(";")[0][:80]
        if kind not in self._reported and len(self._reported) < 100:
            self._reported.add(kind)
            logger.warning("skipping bsread message from %s: %s", self.address, problem)
        else:
            logger.debug("skipping bsread message from %s: %s", self.address, problem)

    def _incoming(self, message: Message) -> Incoming | None:
        header = message.header
        index = header.image_channel(self.image_channel)
        if index is None:
            names = ", ".join(spec.name for spec in header.channels) or "none"
            if self.image_channel is not None:
                self._skip(
                    f"no channel named {self.image_channel!r} (channels: {names}); "
                    f"fix {spell('zmq_image_channel')}"
                )
            else:
                self._skip(
                    f"no 2-D image channel (channels: {names}); choose one with "
                    f"{spell('zmq_image_channel')}"
                )
            return None
        spec = header.channels[index]
        height, width = spec.shape[:2] if len(spec.shape) >= 2 else (1, spec.count)
        try:
            check_pixels(width, height, self.max_pixels)  # before anything is decompressed
        except ImageTooLargeError as exc:
            self._skip(f"image channel {spec.name!r} of pulse {message.pulse_id}: {exc}")
            return None
        raw = message.values[index]
        if memoryview(raw).nbytes == 0:
            self._skip(f"pulse {message.pulse_id} has no value for image channel {spec.name!r}")
            return None
        if spec.compression in (None, "none"):
            expected = spec.count * spec.dtype.itemsize
            if memoryview(raw).nbytes != expected:
                self._skip(
                    f"image channel {spec.name!r} has {memoryview(raw).nbytes} bytes, "
                    f"its header promises {expected}"
                )
                return None
        metadata: dict[str, Any] = {"pulse_id": message.pulse_id}
        for position, channel in enumerate(header.channels):
            if position == index or (len(channel.shape) > 1 and channel.type != "string"):
                continue
            try:
                value = message.value(position)
            except WireError as exc:
                self._report_channel(channel.name, str(exc))
                value = None
            metadata[channel.name] = _plain(value)

        def load() -> Any:
            try:
                image = decode_value(spec, raw)
            except WireError as exc:
                raise ImageError(f"bsread pulse {message.pulse_id}: {exc}") from None
            if image is None:
                raise ImageError(f"bsread pulse {message.pulse_id} has no image value")
            return image

        return Incoming(
            load=load, metadata=metadata, time=message.timestamp, name=f"pulse {message.pulse_id}"
        )

    def _report_channel(self, name: str, problem: str) -> None:
        key = f"channel {name}"
        if key not in self._reported and len(self._reported) < 100:
            self._reported.add(key)
            logger.warning(
                "bsread channel %r from %s cannot be decoded: %s", name, self.address, problem
            )


def _plain(value: Any) -> Any:
    """numpy scalars and 1-D arrays as plain Python numbers and lists."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value
