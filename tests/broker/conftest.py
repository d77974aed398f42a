"""A real ``redis-server`` per test (free port, no persistence, stopped by its pid) and
framecast nodes that share their streams through it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from framecast import ImageServer
from framecast.broker.codec import encode_announcement
from framecast.live.frames import Frame
from tests.conftest import LOCAL, until

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
HAVE_REDIS = os.path.exists(REDIS_SERVER)

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Redis:
    """One ``redis-server`` process on a fixed loopback port, which can be killed and
    started again on the same port."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.port = free_port()
        self.folder = folder
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        if not HAVE_REDIS:  # pragma: no cover - scripts/setup --test installs it
            pytest.skip("redis-server is not installed; run scripts/setup --test")
        self._spawn()
        await self._ready(deadline=time.monotonic() + 10)

    def _spawn(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _tls(self) -> ssl.SSLContext | None:
        """The TLS context to reach this server with (None: plain TCP)."""
        return None

    async def _ready(self, deadline: float) -> None:
        """PING until PONG (or NOAUTH from a server that wants a password), with a deadline."""
        context = self._tls()
        while True:
            assert self.process is not None and self.process.poll() is None, "redis-server died"
            with contextlib.suppress(OSError):
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port, ssl=context)
                try:
                    writer.write(b"PING\r\n")
                    await writer.drain()
                    answer = await asyncio.wait_for(reader.readline(), 2)
                finally:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
                if answer.startswith((b"+PONG", b"-NOAUTH")):
                    return
            if time.monotonic() > deadline:
                over = " over TLS" if context is not None else ""
                raise AssertionError(f"redis-server did not answer PING{over} within 10 s")
            await asyncio.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL by pid (a crash: no goodbye to the clients)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    async def command(self, *args: str | bytes) -> bytes:
        """Send one command with a raw RESP client; the first reply line back."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            parts = [a.encode() if isinstance(a, str) else a for a in args]
            request = f"*{len(parts)}\r\n".encode()
            for part in parts:
                request += f"${len(part)}\r\n".encode() + part + b"\r\n"
            writer.write(request)
            await writer.drain()
            return await asyncio.wait_for(reader.readline(), 5)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def store(self, stream: str, frame: bytes, seq: int, node: str) -> None:
        """Store and announce a stream's frame as a publishing node does: the frame, its
        number raised on the stream's counter, then the announcement."""
        await self.command("SET", f"framecast:frame:{stream}", frame)
        await self.command("SET", f"framecast:seq:{stream}", str(seq))
        await self.command("PUBLISH", "framecast:frames", encode_announcement(stream, seq, node))

    async def flood(self, channel: str, messages: list[bytes]) -> None:
        """PUBLISH every one of ``messages`` on ``channel``, pipelined on one connection (as
        fast as Redis takes them), and read every reply."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            name = channel.encode()
            head = b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n" % (len(name), name)
            writer.write(b"".join(head + b"$%d\r\n%s\r\n" % (len(m), m) for m in messages))
            left = len(messages)
            while left > 0:  # one ":<subscribers>\r\n" line per message
                data = await asyncio.wait_for(reader.read(1 << 16), 10)
                assert data, "redis-server closed the connection"
                left -= data.count(b"\r\n")
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def subscribers(self, channel: str) -> int:
        """``PUBSUB NUMSUB channel``: how many connections listen on ``channel`` now."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            name = channel.encode()
            writer.write(b"*3\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n$%d\r\n%s\r\n" % (len(name), name))
            await writer.drain()
            while not (line := await asyncio.wait_for(reader.readline(), 5)).startswith(b":"):
                assert line, "redis-server closed the connection"
            return int(line[1:])
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def gone(self, node_id: str) -> None:
        """Wait until Redis no longer has node ``node_id`` listening (its connection closed):
        from then on a question sent to it finds nobody there."""

        async def listening() -> int:
            return await self.subscribers(f"framecast:node:{node_id}")

        deadline = time.monotonic() + 10
        while await listening():
            assert time.monotonic() < deadline, f"node {node_id} still listens after 10 s"
            await asyncio.sleep(0.01)


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[Redis]:
    """A fresh redis-server on a free port for this test."""
    server = Redis(tmp_path / "redis")
    await server.start()
    try:
        yield server
    finally:
        server.kill()


def node(tmp_path: Path, name: str, broker: str, **options: Any) -> ImageServer:
    """A framecast node on port 0 with its own folder, sharing through ``broker``."""
    options.setdefault("max_file_rate", 50)
    return ImageServer(
        work_folder=tmp_path / name, port=0, displayed_address=LOCAL, broker=broker, **options
    )


@contextlib.asynccontextmanager
async def running(*servers: ImageServer) -> AsyncIterator[tuple[ImageServer, ...]]:
    for server in servers:
        await server.astart()
    try:
        yield servers
    finally:
        for server in servers:
            await server.astop()


#: Every request a broker test makes has this deadline: a hang fails with a timeout, clearly.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=30)


async def get(http: aiohttp.ClientSession, address: str) -> tuple[int, bytes, Any]:
    """GET ``address``: status, body and headers, within :data:`REQUEST_TIMEOUT`."""
    async with http.get(address, timeout=REQUEST_TIMEOUT) as response:
        return response.status, await response.read(), response.headers


async def shown(server: ImageServer, stream: str) -> Frame:
    """The latest frame of ``stream`` on ``server``, once it has one (within 20 s)."""
    found: Frame = await until(
        lambda: (s := server._streams.get(stream)) and s.latest, 20, f"{stream} on the edge"
    )
    return found


async def answered(http: aiohttp.ClientSession, server: ImageServer) -> int:
    """How many raw questions ``server`` has answered for other nodes."""
    value: int = (await status(http, url(server)))["broker_raw_answered"]
    return value


def url(server: ImageServer) -> str:
    return f"http://127.0.0.1:{server.port}"


async def status(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with http.get(base + "/api/status") as response:
        assert response.status == 200
        value: dict[str, Any] = await response.json()
        return value


async def streams(http: aiohttp.ClientSession, base: str) -> dict[str, dict[str, Any]]:
    async with http.get(base + "/api/streams") as response:
        body = await response.json()
    return {s["name"]: s for s in body["streams"]}


class Serve:
    """``framecast serve`` as a subprocess (for kill -9)."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.folder = folder
        self.args = args
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""

    async def start(self) -> str:
        self.process = await asyncio.create_subprocess_exec(
            PYTHON,
            "-m",
            "framecast",
            "serve",
            "--port",
            "0",
            "--work-folder",
            str(self.folder),
            "--displayed-address",
            LOCAL,
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert self.process.stdout is not None
        while True:
            line = (await asyncio.wait_for(self.process.stdout.readline(), 30)).decode()
            if not line:
                raise AssertionError("framecast serve exited before printing its URL")
            if "serving at " in line:
                self.url = line.split("serving at ", 1)[1].split()[0].rstrip("/")
                break
        # The QR code and anything else it prints are read and dropped (never a full pipe).
        self._drain = asyncio.ensure_future(self._read_rest())
        return self.url

    async def _read_rest(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while await self.process.stdout.read(65536):
            pass

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.kill()
                await self.process.wait()
        else:
            await self.process.wait()
        self._drain.cancel()
        await asyncio.gather(self._drain, return_exceptions=True)


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Any]:
    """Start ``framecast serve`` subprocesses; each is stopped (or killed) at the end."""
    started: list[Serve] = []

    def make(name: str, *args: str) -> Serve:
        proc = Serve(tmp_path / name, *args)
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.kill()
        await proc.stop()
