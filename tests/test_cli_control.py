"""The real `framecast serve` command with a token: ingest and the built-in commands over
HTTPS, with a certificate from `framecast cert`."""

from __future__ import annotations

import asyncio
import io
import ssl
from pathlib import Path

import aiohttp
from PIL import Image

from framecast import cli
from tests.conftest import gradient, next_json
from tests.test_cli import start_serve


async def test_serve_with_token_and_tls_ingests_and_commands(tmp_path: Path) -> None:
    """`framecast cert` + `framecast serve --certfile --keyfile --token`: a posted PNG is
    published, snapshot_now saves it, and /control without the token is refused (401)."""
    assert cli.main(["cert", "--out", str(tmp_path / "tls")]) == 0
    work = tmp_path / "work"
    proc, url = await start_serve(
        "--port", "0", "--no-qr", "--work-folder", str(work),
        "--displayed-address", "ip:127.0.0.1",
        "--certfile", str(tmp_path / "tls" / "cert.pem"),
        "--keyfile", str(tmp_path / "tls" / "key.pem"),
        env={"FRAMECAST_TOKEN": "op"},
    )  # fmt: skip
    try:
        assert url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(tmp_path / "tls" / "cert.pem"))
        png = io.BytesIO()
        Image.fromarray(gradient(40, 30)).save(png, format="PNG")
        connector = aiohttp.TCPConnector(ssl=trust)
        async with aiohttp.ClientSession(connector=connector) as http:
            headers = {"Authorization": "Bearer op"}
            async with http.post(url + "api/frames", data=png.getvalue(), headers=headers) as r:
                assert r.status == 202 and (await r.json()) == {"ok": True, "seq": 1}
            try:
                await http.ws_connect(url + "control")
                raise AssertionError("/control accepted a client without the token")
            except aiohttp.WSServerHandshakeError as exc:
                assert exc.status == 401
            async with http.ws_connect(url + "control", params={"token": "op"}) as ws:
                await ws.send_str('{"cmd": "snapshot_now"}')
                reply = await next_json(ws, timeout=10)
        assert reply["ok"] is True
        assert Path(reply["saved"]).parent == (work / "snapshots").resolve()
        assert await asyncio.to_thread(Path(reply["saved"]).is_file)
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 10)
