"""The server process of a benchmark case: one server under test plus its publisher.

Run by :mod:`benchmarks.run` as ``python -m benchmarks.targets IMPL``. It starts the server,
prints ``port <port> <proto> <path> <start seconds>``, then obeys lines on stdin:

- ``run <rate> <seconds> <kind> <size> [<streams>]``: publish ``rate`` images per second for
  ``seconds`` from this (non-server) thread, as a producer calls ``publish()``; ``kind`` is
  ``notify`` (a small JPEG whose metadata, ``size`` bytes of profile values, travels in the
  notification) or ``bytes`` (a JPEG of about ``size`` bytes sent whole). With ``streams``
  (framecast started with ``--streams K``), image k goes to stream ``stream_name(k % K)``:
  the total rate is shared evenly. Prints ``done <published> <seconds>``.
- ``quit``: stop the server, print ``stopped <seconds>`` and exit.

Every payload carries its publish time on the shared clock (:mod:`benchmarks.wire`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from benchmarks.wire import STAMP_KEY, jpeg_of_size, notify_text, now, stamped_jpeg

__all__ = ["IMPLEMENTATIONS", "FramecastTarget", "make_target", "stream_name"]

#: name → (module, class) of every server the suite can measure; imported lazily.
IMPLEMENTATIONS = {
    "framecast": ("benchmarks.targets", "FramecastTarget"),
    "framecast-uvloop": ("benchmarks.targets", "FramecastTarget"),  # same, on uvloop
    "limit": ("benchmarks.baselines.limit", "LimitServer"),
    "als": ("benchmarks.baselines.als", "AlsServer"),
    "socketio": ("benchmarks.baselines.socketio_app", "SocketIOServer"),
    "broadcast": ("benchmarks.baselines.broadcast", "BroadcastServer"),
}


def stream_name(k: int) -> str:
    """The name of the ``k``-th stream of the streams scenario."""
    return f"s{k:02d}"


class FramecastTarget:
    """framecast through its public API: ``ImageServer.start()``, ``publish()``, ``stop()``.

    ``streams=K`` creates streams ``s00`` … before serving (one image each, published
    before any client connects, so no client hears of it): their ``/s/NAME/ws`` exist
    when the clients come."""

    proto = "ws"

    def __init__(self, *, path: str = "/ws", streams: int = 0, **options: Any) -> None:
        from framecast import ImageServer

        self.path = path
        self.streams = streams
        self._work = tempfile.TemporaryDirectory(prefix="framecast-bench-")
        self.server = ImageServer(
            work_folder=self._work.name,
            host="127.0.0.1",
            port=0,
            displayed_address="ip:127.0.0.1",
            # every benchmark client connects from 127.0.0.1: lift the per-address cap
            **{"max_clients_per_address": 100_000, **options},
        )

    def start(self) -> int:
        self.server.start()
        if self.streams:
            warm = jpeg_of_size(300)
            for k in range(self.streams):
                self.publish_image(warm, {}, stream_name(k))
            for k in range(self.streams):
                _wait_ok(f"http://127.0.0.1:{self.server.port}/s/{stream_name(k)}/data.json")
        return self.server.port

    def publish_image(
        self, jpeg: bytes, metadata: dict[str, Any], stream: str | None = None
    ) -> None:
        if stream is None:
            self.server.publish(jpeg, metadata=metadata)
        else:
            self.server.publish(jpeg, metadata=metadata, stream=stream)

    def counters(self) -> dict[str, int]:
        """Where frames went missing: dropped at intake (newest wins) or skipped per client."""
        status = self.server.status()
        keys = ("frames_submitted", "frames_published", "frames_dropped", "client_skips")
        keys += ("clients_evicted",)
        counters = {k: int(status.get(k, 0)) for k in keys}
        self._last, previous = counters, getattr(self, "_last", {})
        return {k: v - previous.get(k, 0) for k, v in counters.items()}

    def publish(self, payload: str | bytes) -> None:  # pragma: no cover - unused
        raise NotImplementedError

    def stop(self) -> None:
        self.server.stop()
        self._work.cleanup()


def make_target(impl: str, **options: Any) -> Any:
    """A server under test by name (see :data:`IMPLEMENTATIONS`)."""
    import importlib

    module, cls = IMPLEMENTATIONS[impl]
    return getattr(importlib.import_module(module), cls)(**options)


def _profile(size: int) -> dict[str, Any]:
    """Metadata of about ``size`` bytes of JSON: two profiles, as a beamline camera sends."""
    if size <= 0:
        return {"STACK_SIZE": 12, "EXPO": "0:06:00"}
    values = max(1, size // 22)
    ramp = [round(1000.0 + 0.123456 * i, 6) for i in range(values)]
    return {
        "beam_energy": 6.0,
        "image_profile_x": ramp[: values // 2 or 1],
        "image_profile_y": ramp[values // 2 :],
    }


def _wait_ok(url: str, timeout: float = 10.0) -> None:
    """Poll ``url`` until it answers 200 (a stream's files exist once its image is in)."""
    deadline = now() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError as exc:
            if now() > deadline:
                raise RuntimeError(f"{url} not served within {timeout:g} s: {exc}") from exc
            time.sleep(0.01)


def _wait_serving(port: int, proto: str, deadline: float) -> None:
    while now() < deadline:
        try:
            if proto == "raw":
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            else:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # an HTTP answer, even 404, means it serves
        except OSError:
            time.sleep(0.002)


def run_schedule(
    target: Any, rate: float, seconds: float, kind: str, size: int, streams: int = 0
) -> int:
    """Publish ``rate`` images per second for ``seconds`` (round-robin over ``streams``
    streams when given); returns how many were published."""
    count = max(1, round(rate * seconds))
    if kind == "bytes":
        base = jpeg_of_size(size)
        width = height = 0
    else:
        base = jpeg_of_size(300)
        width = height = 16
    meta = _profile(size) if kind == "notify" else {}
    start = now() + 0.05
    is_framecast = hasattr(target, "publish_image")
    for k in range(count):
        delay = start + k / rate - now()
        if delay > 0:
            time.sleep(delay)
        stamp = now()
        if kind == "bytes":
            jpeg = stamped_jpeg(base, stamp)
            if is_framecast:
                target.publish_image(jpeg, {STAMP_KEY: stamp})
            else:
                target.publish(jpeg)
        elif is_framecast and streams:
            target.publish_image(base, {STAMP_KEY: stamp, **meta}, stream_name(k % streams))
        elif is_framecast:
            target.publish_image(base, {STAMP_KEY: stamp, **meta})
        else:
            target.publish(notify_text(k + 1, stamp, width, height, meta, len(base)))
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one server under test and its publisher")
    parser.add_argument("impl", choices=sorted(IMPLEMENTATIONS))
    parser.add_argument("--path", default=None, help="framecast: /ws or /frames")
    parser.add_argument("--streams", type=int, default=0, help="framecast: create K streams")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    options: dict[str, Any] = {}
    if args.impl == "framecast-uvloop":
        # ImageServer.start() makes its loop with asyncio.new_event_loop(): the policy decides.
        import asyncio

        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if args.impl.startswith("framecast") and args.path:
        options["path"] = args.path
    if args.impl.startswith("framecast") and args.streams:
        options["streams"] = args.streams
    target = make_target(args.impl, **options)
    t0 = now()
    port = target.start()
    _wait_serving(port, target.proto, now() + 10)
    started = now() - t0
    print(f"port {port} {target.proto} {target.path or '-'} {started:.6f}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "run":
            rate, seconds, kind, size = float(words[1]), float(words[2]), words[3], int(words[4])
            streams = int(words[5]) if len(words) > 5 else 0
            t = now()
            published = run_schedule(target, rate, seconds, kind, size, streams)
            elapsed = now() - t
            time.sleep(0.2)  # let the last image through the pipeline before reading counters
            counters = target.counters() if hasattr(target, "counters") else {}
            print(f"done {published} {elapsed:.6f} {json.dumps(counters)}", flush=True)
        elif words[0] in ("quit", "stop"):
            break
    t = now()
    stopper = threading.Thread(target=target.stop, daemon=True)
    stopper.start()
    stopper.join(10)
    print(f"stopped {now() - t:.6f}", flush=True)
    sys.stdout.flush()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
