"""POST /api/frames on real sockets: published like publish(), and every refusal."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer

from ..conftest import LOCAL, base, gradient, next_json, until


def encoded(fmt: str, array: np.ndarray | None = None) -> bytes:
    out = io.BytesIO()
    Image.fromarray(gradient(80, 60) if array is None else array).save(out, format=fmt)
    return out.getvalue()


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    async with http.post(url, data=body, **kwargs) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
async def test_ingest_reaches_ws_clients(
    fmt: str, server: ImageServer, http: aiohttp.ClientSession, work: Path
) -> None:
    """A posted image is answered 202 with its seq and reaches /ws as new_image with that
    seq and the metadata from the query and the header (the header's keys win)."""
    async with http.ws_connect(base(server) + "/ws") as ws:
        await until(lambda: server.status()["clients"] == 1, what="ws client")
        query = quote(json.dumps({"EXPO": "0:06:00", "STACK_SIZE": 1}))
        status, reply = await post(
            http,
            f"{base(server)}/api/frames?metadata={query}",
            encoded(fmt),
            headers={"X-Framecast-Metadata": '{"STACK_SIZE": 12}'},
        )
        assert status == 202 and reply == {"ok": True, "seq": 1}
        message = await next_json(ws)
    assert message["type"] == "new_image" and message["seq"] == 1
    assert message["metadata"]["STACK_SIZE"] == 12 and message["metadata"]["EXPO"] == "0:06:00"
    assert message["width"] == 80 and message["height"] == 60

    def written() -> bool:
        return json.loads((work / "data.json").read_text())["framecast"]["seq"] == 1

    await until(written, what="data.json rewritten")
    with Image.open(work / "web_image.jpg") as image:
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert np.abs(pixels - gradient(80, 60).astype(float)).mean() < 3


async def test_seq_is_right_without_viewers_and_in_sequence(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """With nobody watching, consecutive posts are answered with consecutive seqs that
    match what /api/status reports."""
    seqs = []
    for _ in range(3):
        status, reply = await post(http, base(server) + "/api/frames", encoded("JPEG"))
        assert status == 202
        seqs.append(reply["seq"])
        await until(lambda s=reply["seq"]: server.status()["latest_seq"] == s, what="published")
    assert seqs == [1, 2, 3]
    assert server.status()["frames_ingested"] == 3


async def test_refusals(work: Path) -> None:
    """413 over max_ingest_bytes, 415 for text and for a corrupt PNG, 400 for bad metadata
    JSON, non-object metadata and an empty body — each a one-line JSON error; nothing is
    published."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, max_ingest_bytes=20_000)
    url_of = base
    async with srv, aiohttp.ClientSession() as http:
        url = url_of(srv) + "/api/frames"
        noise = np.random.default_rng(2).integers(0, 255, (200, 200), np.uint8)
        cases: list[tuple[int, bytes, dict[str, Any], str]] = [
            (413, encoded("PNG", noise), {}, "max_ingest_bytes"),
            (415, b"hello, I am not an image", {}, "JPEG, PNG, TIFF or FITS"),
            (415, encoded("PNG")[:60], {}, "cannot be decoded"),
            (400, encoded("PNG"), {"params": {"metadata": "{not json"}}, "not valid JSON"),
            (400, encoded("PNG"), {"headers": {"X-Framecast-Metadata": "[1, 2]"}}, "object"),
            (400, encoded("PNG"), {"params": {"metadata": '{"x": NaN}'}}, "not valid JSON"),
            (400, b"", {}, "empty"),
        ]
        for expected, body, kwargs, words in cases:
            status, reply = await post(http, url, body, **kwargs)
            assert status == expected, (expected, reply)
            assert reply["ok"] is False and words in reply["error"], reply
            assert "\n" not in reply["error"]
        assert srv.status()["frames_submitted"] == 0
        assert srv.status()["ingest_rejected"] == len(cases)


async def test_operator_token_is_required(work: Path) -> None:
    """With a token: 401 (with a Bearer challenge) without it or with a wrong one; 202 with
    ?token= or Authorization: Bearer."""
    srv = ImageServer(work_folder=work, port=0, displayed_address=LOCAL, token="s3cret")
    async with srv, aiohttp.ClientSession() as http:
        url = base(srv) + "/api/frames"
        for kwargs in ({}, {"params": {"token": "nope"}}):
            async with http.post(url, data=encoded("PNG"), **kwargs) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                assert "token" in (await response.json())["error"]
        status, reply = await post(http, url, encoded("PNG"), params={"token": "s3cret"})
        assert status == 202 and reply["ok"] is True
        status, reply = await post(
            http, url, encoded("PNG"), headers={"Authorization": "Bearer s3cret"}
        )
        assert status == 202 and reply["ok"] is True
        assert srv.status()["frames_submitted"] == 2
