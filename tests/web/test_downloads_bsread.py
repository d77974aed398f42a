"""bsread uint16 frames keep their depth (docs/science.md): psi-bsread's own sender on a real PUSH
socket → the server's ZeroMQ source → /raw/<seq>.npy gives the camera's uint16 counts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from framecast import ImageServer
from tests.conftest import LOCAL, base
from tests.sources.conftest import PsiSender, psi_sender
from tests.web.test_downloads import get, load, raw_http, same

__all__ = ["psi_sender", "raw_http"]  # fixtures used below

COUNTS = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 21 % 65536).astype(np.uint16)
COUNTS[0, 0] = 65535


async def test_bsread_uint16_frames_keep_their_counts(
    work: Path, psi_sender: Callable[..., PsiSender], raw_http: aiohttp.ClientSession
) -> None:
    """A bsread camera sending uint16 counts up to 65535: the frame's dtype is uint16 in
    data.json, and its .npy (gzip) and top raw tile are the very counts sent."""
    sender = psi_sender(lambda pulse_id: {"image": COUNTS}, interval=0.02)
    async with ImageServer(
        work_folder=work, port=0, displayed_address=LOCAL, zmq=sender.endpoint
    ) as srv:
        url = base(srv)

        async def info() -> dict[str, Any] | None:
            status, body, _ = await get(raw_http, url + "/data.json")
            return json.loads(body)["framecast"] if status == 200 else None

        deadline = time.monotonic() + 20
        while not ((frame := await info()) and frame["seq"]):
            assert time.monotonic() < deadline, "no bsread frame within 20 s"
            await asyncio.sleep(0.01)  # poll data.json with a deadline
        assert frame is not None and frame["dtype"] == "uint16"
        seq = frame["seq"]
        status, body, headers = await get(
            raw_http, f"{url}/raw/{seq}.npy", headers={"Accept-Encoding": "gzip"}
        )
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert same(load(body, headers), COUNTS)
        status, body, headers = await get(raw_http, f"{url}/raw/{seq}_files/6/0_0.npy")
        assert status == 200 and same(load(body, headers), COUNTS)
