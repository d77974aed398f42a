"""Line art stays sharp (docs/imaging.md, "Line art"): a chart PNG gets a lossless PNG display
image that decodes to exactly its pixels; photographs, camera arrays, JPEGs and 16-bit data
stay JPEG. Pure, no server."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import simplejpeg
from PIL import Image

from framecast.imaging import DisplayOptions, encode
from tests.imaging.samples import chart, png16_bytes, png_bytes


def decoded(png: bytes) -> np.ndarray:
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG"
    return np.asarray(picture.convert("RGB"))


def test_chart_png_gets_an_exact_png_smaller_than_its_jpeg(tmp_path: Path) -> None:
    """An 800×500 chart PNG (bytes, a file, a PIL image opened from it) is shown as a PNG
    whose pixels are exactly the chart's, at most 1.5× its JPEG's size (here far smaller);
    its web JPEG is still made, for web_image.jpg."""
    pixels = chart()
    source = png_bytes(pixels)
    path = tmp_path / "chart.png"
    path.write_bytes(source)
    for given in (source, path, Image.open(path)):
        encoded = encode(given)
        assert encoded.format == "png" and encoded.lossless is not None
        assert np.array_equal(decoded(encoded.lossless), pixels)
        assert len(encoded.lossless) <= 1.5 * len(encoded.jpeg)
        assert simplejpeg.decode_jpeg_header(encoded.jpeg)[:2] == (500, 800)
    grey = chart()[:, :, 1]
    encoded = encode(png_bytes(grey))
    assert encoded.format == "png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encoded.lossless))), grey)


def test_photographs_camera_frames_and_deep_data_stay_jpeg() -> None:
    """A photograph-like PNG (thousands of colours), a noisy 8-bit camera PNG (256 greys, no
    flat areas), the chart as an array (a camera's way in), as a JPEG, as 16-bit data, and
    a chart larger than the web image (downscaled) all get no PNG."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:300, 0:400]
    photo = np.stack([x * 255 // 400, y * 255 // 300, (x + y) * 255 // 700], 2).astype(np.uint8)
    photo = np.clip(photo + rng.normal(0, 6, photo.shape), 0, 255).astype(np.uint8)
    camera = rng.integers(0, 256, (300, 400), dtype=np.uint8)
    jpeg = simplejpeg.encode_jpeg(chart(), quality=95, colorspace="RGB")
    deep = chart()[:, :, 0].astype(np.uint16) * 257
    cases = {
        "photo": png_bytes(photo),
        "camera": png_bytes(camera),
        "array": chart(),
        "jpeg": jpeg,
        "16-bit": png16_bytes(deep),
    }
    for what, given in cases.items():
        encoded = encode(given)
        assert encoded.format == "jpeg" and encoded.lossless is None, what
    downscaled = encode(png_bytes(chart()), DisplayOptions(max_size=400))
    assert downscaled.lossless is None and downscaled.width == 400
