"""What travels between the benchmark's processes: the shared clock, the timestamped
payloads every server under test sends, and minimal WebSocket framing for the load clients.

Every timestamp is ``CLOCK_MONOTONIC``, which Linux shares between processes: the
publisher stamps a payload with :func:`now` and a client in another process subtracts
that stamp from its own :func:`now` when the message is complete.
"""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import time
from typing import Any

import numpy as np
import simplejpeg

__all__ = [
    "STAMP_KEY",
    "handshake_request",
    "jpeg_of_size",
    "masked_frame",
    "notify_text",
    "now",
    "read_stamp",
    "stamped_jpeg",
]

#: Metadata key (JSON) or JPEG comment prefix that carries the publish time.
STAMP_KEY = "bench_t"
_STAMP = re.compile(rb"bench_t[\"']?[:=]\s*([0-9.eE+-]+)")


def now() -> float:
    """Seconds on the clock every benchmark process shares (CLOCK_MONOTONIC)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def read_stamp(head: bytes | bytearray) -> float | None:
    """The publish time found in the first bytes of a message, or ``None``."""
    match = _STAMP.search(head)
    if match is None:
        return None
    try:
        return float(match.group(1))
    except ValueError:
        return None


def notify_text(
    seq: int, stamp: float, width: int, height: int, metadata: dict[str, Any], nbytes: int
) -> str:
    """The ``new_image`` notification the baselines send: the same fields as framecast's."""
    meta = {STAMP_KEY: stamp, **metadata}
    meta["framecast"] = {
        "seq": seq,
        "time": round(time.time(), 6),
        "width": width,
        "height": height,
        "source_width": width,
        "source_height": height,
        "bytes": nbytes,
    }
    return json.dumps(
        {
            "type": "new_image",
            "seq": seq,
            "time": round(time.time(), 6),
            "width": width,
            "height": height,
            "metadata": meta,
        },
        separators=(",", ":"),
    )


def jpeg_of_size(target_bytes: int, *, seed: int = 0) -> bytes:
    """A grey JPEG of roughly ``target_bytes`` (smooth gradient plus noise)."""
    rng = np.random.default_rng(seed)
    side = 16
    while True:
        pixels = rng.integers(0, 255, (side, side, 1), dtype=np.uint8)
        data: bytes = simplejpeg.encode_jpeg(pixels, quality=85, colorspace="GRAY")
        if len(data) >= target_bytes or side >= 4096:
            return data
        side = min(4096, max(side + 8, int(side * (target_bytes / len(data)) ** 0.5) + 1))


def stamped_jpeg(jpeg: bytes, stamp: float) -> bytes:
    """``jpeg`` with a comment segment holding the publish time, right after SOI."""
    text = f"{STAMP_KEY}={stamp:.9f}".encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + jpeg[2:]


def handshake_request(host: str, port: int, path: str) -> bytes:
    """An HTTP/1.1 WebSocket upgrade request offering no extension (no compression)."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """One client-to-server WebSocket frame (clients must mask)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + body
