"""Test pictures and what a viewer would see of them (shared by the imaging tests)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import simplejpeg
from PIL import Image


def beam(height: int = 240, width: int = 320, *, peak: float = 20000.0) -> np.ndarray[Any, Any]:
    """A uint16 Gaussian spot on a noisy background, like a camera frame."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:height, 0:width]
    spot = peak * np.exp(-((x - width * 0.4) ** 2 + (y - height * 0.6) ** 2) / (2 * 20.0**2))
    frame = 1000 + spot + rng.normal(0, 30, (height, width))
    return frame.astype(np.uint16)


def gray(jpeg: bytes) -> np.ndarray[Any, Any]:
    """Decode a JPEG to a 2-D uint8 array (what the browser would show, in grey)."""
    decoded: np.ndarray[Any, Any] = simplejpeg.decode_jpeg(jpeg, colorspace="GRAY")
    return decoded[:, :, 0]


def assert_visible_contrast(jpeg: bytes) -> None:
    """The picture is neither black nor white nor flat: dark background and a bright spot."""
    shown = gray(jpeg)
    assert shown.min() < 40, "nothing is dark"
    assert shown.max() > 200, "nothing is bright"
    assert 2 < shown.mean() < 200
    assert shown.std() > 5


def png16_bytes(frame: np.ndarray[Any, Any]) -> bytes:
    """A 16-bit greyscale PNG written by Pillow."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()
