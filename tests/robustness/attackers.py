"""The soak's attackers of round 2 (docs/reliability.md, "Soak with the round-2 attacks"):
big raw frames, downloads nobody reads, rectangle and statistics loops, command floods.

Each attacker is a coroutine that runs until cancelled and tallies every answer it gets in
a :class:`Tally`: by outcome when the answer is one the docs list (a 200, a 503 with
``Retry-After`` naming its limit, ``ok: false`` with a reason), as ``unexpected`` otherwise,
so the soak can assert that refusals are the documented ones and report how many there were.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np

from framecast.science import rawfiles
from tests.robustness.conftest import Served
from tests.robustness.peers import drop
from tests.web.test_senddeadline import stalled_get

#: The big frames: 4000×3000 uint16, 24 MB of raw data each.
BIG_WIDTH, BIG_HEIGHT = 4000, 3000
#: Client errors: an answer that did not come whole within its (generous) deadline.
GONE = (aiohttp.ClientError, OSError, TimeoutError, asyncio.IncompleteReadError)


@dataclass
class Tally:
    """What one attacker was answered: a count per outcome, and the first few answers the
    docs do not list (each also counted as ``unexpected``)."""

    counts: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def unexpected(self, what: str) -> None:
        self.counts["unexpected"] += 1
        if len(self.wrong) < 20:
            self.wrong.append(what[:300])

    @contextlib.contextmanager
    def failures(self, what: str) -> Iterator[None]:
        """Count a client error in the block (an answer cut short, a deadline missed) as
        unexpected, and go on."""
        try:
            yield
        except GONE as exc:
            self.unexpected(f"{what}: {exc!r}")


def big_frames(count: int = 3) -> list[bytes]:
    """``count`` different 4000×3000 uint16 frames as FITS files: a ramp over the whole
    range with a little noise, so their JPEGs are a few MB, as a camera's would be."""
    rng = np.random.default_rng(16)
    ramp = np.add.outer(np.arange(BIG_HEIGHT) * 6, np.arange(BIG_WIDTH) * 10) % 60000
    bodies = []
    for i in range(count):
        noise = rng.integers(0, 256, (BIG_HEIGHT, BIG_WIDTH))
        bodies.append(rawfiles.fits((ramp + noise + 1000 * i).astype(np.uint16)))
    return bodies


def top_level(width: int = BIG_WIDTH, height: int = BIG_HEIGHT) -> int:
    """The level of the full-size picture in a frame's (raw) Deep Zoom pyramid."""
    return math.ceil(math.log2(max(width, height)))


def _header(head: bytes, name: bytes) -> str | None:
    """The value of header ``name`` (lower case) in an answer's ``head``."""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(name + b":"):
            return line.split(b":", 1)[1].strip().decode()
    return None


async def _refusal(reader: asyncio.StreamReader, head: bytes) -> str:
    """The body of a short answer whose ``head`` was read (a refusal's line)."""
    size = int(_header(head, b"content-length") or 0)
    if not 0 < size <= 4096:
        return ""
    return (await asyncio.wait_for(reader.readexactly(size), 10)).decode(errors="replace")


def download_refusal(status: int, retry_after: str | None, text: str) -> str | None:
    """The outcome of a refused download as docs/science.md ("Big downloads") describes it
    (503, ``Retry-After`` and a line naming the limit), or None if it is not that."""
    if status != 503 or not retry_after:
        return None
    for limit in ("max_downloads_per_address", "max_downloads"):
        if f"({limit})" in text:
            return f"503 {limit}"
    return None


async def _unread_download(
    served: Served, path: str, source: str, tally: Tally
) -> asyncio.StreamWriter | None:
    """Ask ``path`` from ``source`` on a socket with a tiny receive buffer, read the answer's
    head (and a refusal's short body) and tally it: the socket (never read further) or None."""
    suffix = path.rsplit(".", 1)[1]
    with tally.failures(path):
        reader, writer = await stalled_get(
            served.port, path, source=source, headers="Accept-Encoding: identity\r\n"
        )
        kept = False
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
            status = int(head.split(b" ", 2)[1])
            if status == 200:
                tally.add(f"200 {suffix}, never read")
                kept = True
                return writer
            text = await _refusal(reader, head)
            outcome = download_refusal(status, _header(head, b"retry-after"), text)
            if outcome is None:
                tally.unexpected(f"{path}: {head.decode(errors='replace')} {text}")
            else:
                tally.add(outcome)
        finally:
            if not kept:
                drop(writer)
    return None


async def hoarder(
    served: Served,
    seqs: list[int],
    sources: tuple[str, ...],
    tally: Tally,
    *,
    at_once: int = 6,
    every: float = 15.0,
    hold: float = 12.0,
) -> None:
    """Every ``every`` s, from each address of ``sources`` in turn: ``at_once`` downloads of
    the latest big frame (``/raw/<seq>.npy`` and ``.fits`` alternately, ``Accept-Encoding:
    identity``) that read each answer's head and never its body, held ``hold`` s (the server
    cuts them off after ``send_timeout``), then dropped. With 6 from each of two addresses,
    the first meets ``max_downloads_per_address`` (4) and the second ``max_downloads`` (8)."""
    n = 0
    while True:
        held: list[asyncio.StreamWriter] = []
        try:
            for source in sources:
                for _ in range(at_once):
                    n += 1
                    path = f"/raw/{seqs[-1]}.{('npy', 'fits')[n % 2]}"
                    writer = await _unread_download(served, path, source, tally)
                    if writer is not None:
                        held.append(writer)
            await asyncio.sleep(hold)
        finally:
            for writer in held:
                drop(writer)
        await asyncio.sleep(max(0.0, every - hold))


async def surveyor(served: Served, seqs: list[int], source: str, tally: Tally, seed: int) -> None:
    """A client at ``source`` that asks, in a loop, a rectangle of a lower level of the
    latest big frame (``.npy?level=L&x=&y=&w=&h=``, gzip or not, read whole and checked to be
    a float32 array of that shape) and ``/api/stats`` of a region of it (its ``count``
    checked); a 503 is honoured by waiting its ``Retry-After``."""
    rng = random.Random(seed)
    top = top_level()
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        while True:
            seq = seqs[-1]
            level = top - rng.choice((1, 2, 3))
            shrink = 2 ** (top - level)
            wide, high = math.ceil(BIG_WIDTH / shrink), math.ceil(BIG_HEIGHT / shrink)
            w, h = rng.randint(16, min(512, wide)), rng.randint(16, min(512, high))
            x, y = rng.randint(0, wide - w), rng.randint(0, high - h)
            encoding = rng.choice(("identity", "gzip"))
            with tally.failures(f"/raw/{seq}.npy?level={level}"):
                async with session.get(
                    f"{served.url}/raw/{seq}.npy",
                    params={"level": level, "x": x, "y": y, "w": w, "h": h},
                    headers={"Accept-Encoding": encoding},
                    timeout=aiohttp.ClientTimeout(total=60),
                ) as response:
                    body = await response.read()
                    if response.status == 200:
                        array = np.load(io.BytesIO(body), allow_pickle=False)
                        if array.shape == (h, w) and array.dtype == np.float32:
                            tally.add("200 rectangle")
                        else:
                            tally.unexpected(f"level {level}: {array.dtype} {array.shape}")
                    else:
                        retry = response.headers.get("Retry-After")
                        outcome = download_refusal(response.status, retry, body.decode())
                        if outcome is None:
                            tally.unexpected(f"level {level}: {response.status} {body[:200]!r}")
                        else:
                            tally.add(outcome)
                            await asyncio.sleep(float(retry or 2))
            w, h = rng.randint(1, 256), rng.randint(1, 256)
            x, y = rng.randint(0, BIG_WIDTH - w), rng.randint(0, BIG_HEIGHT - h)
            with tally.failures("/api/stats"):
                async with session.get(
                    f"{served.url}/api/stats",
                    params={"x": x, "y": y, "w": w, "h": h, "seq": seq},
                    timeout=aiohttp.ClientTimeout(total=60),
                ) as response:
                    text = await response.text()
                    if response.status == 200 and json.loads(text).get("count") == w * h:
                        tally.add("200 stats")
                    else:
                        tally.unexpected(f"stats: {response.status} {text[:200]}")
            await asyncio.sleep(rng.uniform(0.1, 0.5))


def command_outcome(reply: dict[str, Any]) -> str | None:
    """The outcome of a reply to ``snapshot_now`` or ``soak_echo`` as docs/control.md lists
    it, or None if it is not one of those."""
    reason = str(reply.get("reason", ""))
    if reply.get("ok") is True and ("saved" in reply or "echo" in reply):
        return "ok"
    if reply.get("ok") is not False:
        return None
    if reason.startswith("too many commands: ") and reason.endswith("; wait and retry"):
        return "limited (stream)" if "for stream 'default'" in reason else "limited (socket)"
    if reason.startswith("the snapshots folder ") and reason.endswith("--max-snapshots-bytes"):
        return "snapshots full" if " is full: " in reason else "no room for this snapshot"
    return None


async def flood(
    served: Served, command: dict[str, Any], tally: Tally, *, batch: int = 20, every: float = 0.1
) -> None:
    """One ``/control`` socket sending ``batch`` copies of ``command`` every ``every`` s (200
    a second by default, 20 times the socket's limit) and reading every reply; a socket
    that closes is counted as unexpected and opened again."""
    async with aiohttp.ClientSession() as session:
        n = 0
        while True:
            with tally.failures("/control"):
                async with session.ws_connect(f"{served.ws_url}/control", heartbeat=None) as ws:
                    while True:
                        for _ in range(batch):
                            n += 1
                            await ws.send_str(json.dumps({**command, "n": n}))
                        for _ in range(batch):
                            message = await ws.receive(timeout=60)
                            if message.type != aiohttp.WSMsgType.TEXT:
                                raise ConnectionError(f"ended: {message.type} {message.data}")
                            reply = json.loads(message.data)
                            outcome = command_outcome(reply)
                            if outcome is None:
                                tally.unexpected(json.dumps(reply))
                            else:
                                tally.add(outcome)
                        await asyncio.sleep(every)
            await asyncio.sleep(1)
