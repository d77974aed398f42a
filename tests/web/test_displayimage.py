"""The display image over real sockets (docs/imaging.md, "Line art"): a chart PNG is served
as an exact PNG at the URL data.json and new_image name, web_image.jpg stays a JPEG, and a
photograph's display image is its JPEG."""

from __future__ import annotations

import io
import json

import aiohttp
import numpy as np
from PIL import Image

from framecast import ImageServer
from tests.conftest import base, next_json
from tests.imaging.samples import chart, png_bytes


async def test_chart_is_served_as_exact_png_and_named_everywhere(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """A chart PNG: new_image and data.json say ``"format": "png"`` and its ``image`` URL,
    which serves a PNG decoding to exactly the chart's pixels (immutable; the ``.jpg`` of it
    is a 404 naming the PNG), history keeps it, and web_image.jpg is still a JPEG. A photo
    published next says ``"jpeg"`` and its image is the web JPEG."""
    url = base(server)
    pixels = chart()
    async with http.ws_connect(url + "/ws") as ws:
        server.publish(png_bytes(pixels), metadata={"what": "chart"})
        message = await next_json(ws, timeout=15)
    assert (message["image"], message["format"]) == ("/image/1.png", "png")
    assert message["metadata"]["framecast"]["image"] == "/image/1.png"

    async with http.get(url + "/image/1.png") as response:
        assert response.status == 200 and response.content_type == "image/png"
        assert "immutable" in response.headers["Cache-Control"]
        body = await response.read()
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(body)).convert("RGB")), pixels)
    async with http.get(url + "/image/1.jpg") as response:
        assert response.status == 404 and "/image/1.png" in await response.text()

    async with http.get(url + "/data.json") as response:
        own = json.loads(await response.read())["framecast"]
    assert (own["seq"], own["image"], own["format"]) == (1, "/image/1.png", "png")
    async with http.get(url + "/web_image.jpg") as response:
        assert (await response.read())[:3] == b"\xff\xd8\xff"
    async with http.get(url + "/history/1.json") as response:
        assert json.loads(await response.read())["framecast"]["format"] == "png"

    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    async with http.ws_connect(url + "/ws") as ws:
        server.publish(png_bytes(photo))
        message = await next_json(ws, timeout=15)
    assert (message["image"], message["format"]) == ("/image/2.jpg", "jpeg")
    async with http.get(url + "/image/2.jpg") as response:
        assert response.content_type == "image/jpeg"
        jpeg = await response.read()
    async with http.get(url + "/history/2.jpg") as response:
        assert await response.read() == jpeg
