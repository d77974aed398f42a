"""Load clients: many connections in one process, each timing every message it completes.

Run by :mod:`benchmarks.run` as ``python -m benchmarks.clients --port P --proto ws --n 100``.
Protocol on stdin/stdout: the process prints ``ready <connected>`` once every connection is
open (or its deadline passed); on the line ``report`` it prints one JSON line with the
results since the previous report (connections stay open); on ``stop`` it closes every
connection and exits.

The clients are deliberately minimal (a WebSocket frame parser on a bare asyncio
protocol) so that their own CPU cost is small and the same for every server under test.
``--proto``: ``ws`` (plain WebSocket on ``--path``; with several ``--path``, connection i
uses path i modulo their number, e.g. one ``/s/NAME/ws`` per stream), ``sio`` (Socket.IO
over a WebSocket, answering Engine.IO pings) or ``raw`` (4-byte length-prefixed messages
on a bare TCP socket, for the raw asyncio limit). ``--stalled K`` makes the first K connections stop
reading after their first message while keeping the socket open.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import struct
import sys
from typing import Any

from benchmarks.wire import handshake_request, masked_frame, now, read_stamp

__all__ = ["Client", "main"]

_HEAD = 1024  # bytes of each message kept to find its timestamp
_TEXT, _BINARY, _CLOSE, _PING = 0x1, 0x2, 0x8, 0x9


class Client(asyncio.Protocol):
    """One connection: handshake, frame parsing, per-message latency."""

    def __init__(self, proto: str, request: bytes, stall: bool) -> None:
        self.proto = proto
        self.request = request
        self.stall = stall
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.http = proto != "raw"
        self.buf = bytearray()
        self.hbuf = bytearray()
        self.in_payload = False
        self.remaining = 0
        self.opcode = 0
        self.fin = True
        self.head = bytearray()
        self.msg_bytes = 0
        self.count = 0
        self.bytes = 0
        self.latencies: list[float] = []
        self.first = self.last = 0.0  # arrival of the first and last timed message
        self.closed = False

    # -- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.http:
            transport.write(self.request)
        else:
            self._set_ready()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_result(False)

    def data_received(self, data: bytes) -> None:
        if self.http:
            self.buf += data
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buf[: self.buf.find(b"\r\n")])
            rest = bytes(self.buf[end + 4 :])
            self.buf.clear()
            self.http = False
            if b" 101 " not in status + b" ":
                assert self.transport is not None
                self.transport.close()
                return
            if self.proto == "ws":
                self._set_ready()
            data = rest
        self._feed(data)

    # -- parsing ---------------------------------------------------------------------------------
    def _header_length(self) -> int:
        if self.proto == "raw":
            return 4
        if len(self.hbuf) < 2:
            return 2
        size = self.hbuf[1] & 0x7F
        extra = 2 if size == 126 else 8 if size == 127 else 0
        return 2 + extra + (4 if self.hbuf[1] & 0x80 else 0)

    def _feed(self, data: bytes) -> None:
        pos, n = 0, len(data)
        while pos < n or (self.in_payload and self.remaining == 0):
            if not self.in_payload:
                while len(self.hbuf) < (need := self._header_length()):
                    if pos >= n:
                        return
                    take = min(need - len(self.hbuf), n - pos)
                    self.hbuf += data[pos : pos + take]
                    pos += take
                self._start_payload()
                continue
            take = min(self.remaining, n - pos)
            if len(self.head) < _HEAD:
                self.head += data[pos : pos + min(take, _HEAD - len(self.head))]
            self.msg_bytes += take
            self.remaining -= take
            pos += take
            if self.remaining == 0:
                self.in_payload = False
                self._frame_done()

    def _start_payload(self) -> None:
        h = self.hbuf
        if self.proto == "raw":
            length = struct.unpack_from("!I", h)[0]
            opcode, fin = _BINARY, True
        else:
            opcode, fin = h[0] & 0x0F, bool(h[0] & 0x80)
            size = h[1] & 0x7F
            if size == 126:
                length = struct.unpack_from("!H", h, 2)[0]
            elif size == 127:
                length = struct.unpack_from("!Q", h, 2)[0]
            else:
                length = size
        self.hbuf = bytearray()
        if opcode != 0:  # a new message (0 continues a fragmented one)
            self.opcode = opcode
            self.head = bytearray()
            self.msg_bytes = 0
        self.fin = fin
        self.remaining = length
        self.in_payload = True

    def _frame_done(self) -> None:
        opcode = self.opcode
        if opcode == _PING:
            self._send(0xA, bytes(self.head))
            return
        if opcode == _CLOSE:  # a cooperative client answers the close handshake
            self._send(_CLOSE, bytes(self.head[:2]))
            if self.transport is not None:
                self.transport.close()
            return
        if not self.fin or opcode not in (_TEXT, _BINARY):
            return
        head = self.head
        if self.proto == "sio" and opcode == _TEXT:
            if head[:2] == b"0{":
                self._send(_TEXT, b"40")  # join the default namespace
                return
            if head == b"2":
                self._send(_TEXT, b"3")  # Engine.IO pong
                return
            if head[:2] == b"40":
                self._set_ready()
                return
            if head[:2] != b"42":
                return
        stamp = read_stamp(head)
        if stamp is None:
            return
        t = now()
        if not self.count:
            self.first = t
        self.last = t
        self.count += 1
        self.bytes += self.msg_bytes
        self.latencies.append(t - stamp)
        if self.stall and self.transport is not None:
            self.transport.pause_reading()  # keeps the socket open, stops reading

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(masked_frame(opcode, payload))

    def _set_ready(self) -> None:
        if not self.ready.done():
            self.ready.set_result(True)

    def reset(self) -> None:
        self.count = self.bytes = 0
        self.first = self.last = 0.0
        self.latencies = []

    def results(self) -> dict[str, Any]:
        return {
            "n": self.count,
            "bytes": self.bytes,
            "closed": self.closed,
            "first": round(self.first, 6),
            "last": round(self.last, 6),
        }


async def _connect(
    host: str, port: int, proto: str, path: str, stall: bool, rcvbuf: int, limit: asyncio.Semaphore
) -> Client:
    loop = asyncio.get_running_loop()
    request = handshake_request(host, port, path)
    async with limit:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
        _, client = await loop.create_connection(lambda: Client(proto, request, stall), sock=sock)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(client.ready), 20)
    return client


async def _main(args: argparse.Namespace) -> None:
    limit = asyncio.Semaphore(32)
    paths = args.path or ["/ws"]
    tasks = [
        asyncio.create_task(
            _connect(
                args.host,
                args.port,
                args.proto,
                paths[i % len(paths)],
                i < args.stalled,
                args.rcvbuf if i < args.stalled else 0,
                limit,
            )
        )
        for i in range(args.n)
    ]
    done, pending = await asyncio.wait(tasks, timeout=args.connect_timeout)
    for task in pending:
        task.cancel()
    clients = [
        t.result() for t in tasks if t in done and not t.cancelled() and t.exception() is None
    ]
    connected = sum(1 for c in clients if c.ready.done() and c.ready.result())
    print(f"ready {connected}", flush=True)
    loop = asyncio.get_running_loop()
    healthy = [c for c in clients if not c.stall]
    stalled = [c for c in clients if c.stall]
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        command = line.strip()
        if command == "report":
            out = {
                "connected": connected,
                "clients": [c.results() for c in healthy],
                "stalled": [c.results() for c in stalled],
                "latencies": [round(x, 6) for c in healthy for x in c.latencies],
            }
            print(json.dumps(out), flush=True)
            for c in clients:
                c.reset()
        elif not line or command == "stop":
            break
    for c in clients:
        if c.transport is not None:
            c.transport.abort()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--proto", choices=("ws", "sio", "raw"), default="ws")
    parser.add_argument("--path", action="append", help="repeatable; default /ws")
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--stalled", type=int, default=0)
    parser.add_argument("--rcvbuf", type=int, default=4096)
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
