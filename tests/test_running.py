"""A running server's parts: every thread pool it used is gone once it stops."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import aiohttp
from PIL import Image

from framecast import ImageServer
from tests.conftest import LOCAL, base, gradient, next_json, until

#: The thread names of the server's pools (encoder, upload decoder, background tiles).
POOLS = ("framecast-encode", "framecast-decode", "framecast-tiles")


def pool_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(POOLS)}


async def test_stop_ends_every_thread_of_every_pool(tmp_path: Path) -> None:
    """After frames were encoded, an upload decoded and a deep-zoom tile cut, stop() shuts
    down every pool those ran in: no thread of them is left, twice over (a server started
    again makes and ends its own)."""
    before = pool_threads()
    png = io.BytesIO()
    Image.fromarray(gradient(80, 60)).save(png, format="PNG")
    srv = ImageServer(work_folder=tmp_path, port=0, displayed_address=LOCAL, max_web_size=64)
    for _run in range(2):
        await srv.astart()
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(base(srv) + "/ws") as ws,
            ):
                await until(lambda: srv.status()["clients"] == 1, what="the viewer")
                srv.publish(gradient(200, 100))
                shown = await next_json(ws, 20)
                async with http.post(base(srv) + "/api/frames", data=png.getvalue()) as posted:
                    assert posted.status == 202
                tile = f"{base(srv)}/tiles/{shown['seq']}_files/0/0_0.jpg"
                async with http.get(tile) as response:
                    assert response.status == 200
            used = pool_threads() - before
            assert {t.name.rsplit("_", 1)[0] for t in used} == set(POOLS), "every pool ran"
        finally:
            await srv.astop()
        await until(lambda used=used: not any(t.is_alive() for t in used), 10, "threads end")
