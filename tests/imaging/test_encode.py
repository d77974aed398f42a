"""framecast.imaging.encode: downscale, JPEG, snapshots, the placeholder. Pure, no server."""

from __future__ import annotations

import numpy as np
import pytest
import simplejpeg
from PIL import Image

from framecast.errors import ImageError
from framecast.imaging import DisplayOptions, encode, placeholder_jpeg, snapshot_jpeg
from tests.imaging.samples import assert_visible_contrast, beam, gray

# -- encoding, downscale, snapshot ---------------------------------------------------------


def test_large_frame_is_downscaled_and_original_kept_for_snapshots() -> None:
    """The web JPEG fits max_size; the snapshot is the full-resolution picture."""
    frame = beam(1200, 2000)
    encoded = encode(frame, DisplayOptions(max_size=500))
    assert (encoded.width, encoded.height) == (500, 300)
    assert (encoded.source_width, encoded.source_height) == (2000, 1200)
    header = simplejpeg.decode_jpeg_header(encoded.jpeg)
    assert header[:2] == (300, 500)
    full = snapshot_jpeg(encoded.original)
    assert simplejpeg.decode_jpeg_header(full)[:2] == (1200, 2000)
    assert_visible_contrast(full)


def test_jpeg_bytes_pass_through_untouched() -> None:
    """JPEG bytes that need no downscale are published byte for byte."""
    data = simplejpeg.encode_jpeg(np.zeros((30, 40, 3), np.uint8), quality=70)
    encoded = encode(data)
    assert encoded.jpeg is data or encoded.jpeg == data
    assert (encoded.width, encoded.height) == (40, 30)
    assert snapshot_jpeg(encoded.original) == data


def test_large_jpeg_is_downscaled() -> None:
    """A JPEG larger than max_size is re-encoded smaller; the snapshot keeps the original bytes."""
    data = simplejpeg.encode_jpeg(np.full((400, 800, 3), 90, np.uint8))
    encoded = encode(data, DisplayOptions(max_size=200))
    assert (encoded.width, encoded.height) == (200, 100)
    assert (encoded.source_width, encoded.source_height) == (800, 400)


def test_corrupt_jpeg_is_an_image_error() -> None:
    """A JPEG signature followed by garbage raises ImageError, not a decoder exception."""
    with pytest.raises(ImageError, match="JPEG"):
        encode(b"\xff\xd8\xff" + b"\x00" * 50)


def test_pil_images_of_every_common_mode() -> None:
    """PIL images in L, RGB, RGBA, P, 1, I;16, I and F modes all encode."""
    modes = {
        "L": 0,
        "RGB": (1, 2, 3),
        "RGBA": (1, 2, 3, 4),
        "P": 0,
        "1": 1,
        "I;16": 500,
        "I": 70000,
        "F": 0.5,
    }
    for mode, fill in modes.items():
        picture = Image.new(mode, (20, 10), fill)
        encoded = encode(picture)
        assert (encoded.width, encoded.height) == (20, 10), mode


def test_placeholder_is_dark_with_readable_text() -> None:
    """The waiting picture has the asked size, a dark background and bright text in the middle."""
    data = placeholder_jpeg("waiting for the first image", 640, 360)
    shown = gray(data)
    assert shown.shape == (360, 640)
    assert np.median(shown) < 50
    middle = shown[150:210, 100:540]
    assert middle.max() > 180
    assert shown[:60].max() < 60  # nothing at the top: the text is centred
