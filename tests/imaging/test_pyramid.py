"""Deep-zoom pyramids (docs/tiles.md) without a server: the DZI grid, tile pixels, the cache
bound."""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from framecast import imaging
from framecast.imaging.display import DisplayOptions
from framecast.imaging.pyramid import (
    OVERLAP,
    TILE_SIZE,
    Pyramid,
    dzi_xml,
    grid,
    level_size,
    max_level,
    tile_rect,
)
from framecast.live.frames import Frame

SIZES = [(1, 1), (2, 1), (254, 254), (255, 254), (1000, 700), (4097, 3), (9000, 6000)]


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def smooth(width: int, height: int) -> np.ndarray:
    """A colour image with gentle gradients (JPEG keeps it within a few levels)."""
    y, x = np.mgrid[0:height, 0:width]
    red = (x * 255 // max(1, width - 1)).astype(np.uint8)
    green = (y * 255 // max(1, height - 1)).astype(np.uint8)
    blue = ((x + y) * 127 // max(1, width + height - 2)).astype(np.uint8)
    return np.stack([red, green, blue], axis=2)


def expected_span(length: int, index: int) -> int:
    """Independent of tiles.py: a tile's extent along one axis, overlap included."""
    core = min(TILE_SIZE, length - index * TILE_SIZE)
    before = OVERLAP if index > 0 else 0
    after = min(OVERLAP, max(0, length - (index + 1) * TILE_SIZE))
    return before + core + after


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_grid_follows_the_dzi_convention(width: int, height: int) -> None:
    """Levels, level sizes, tile counts and tile sizes match the DZI formulas computed
    independently with floating-point logarithms and divisions."""
    top = math.ceil(math.log2(max(width, height))) if max(width, height) > 1 else 0
    assert max_level(width, height) == top
    for level in range(top + 1):
        lw = math.ceil(width / 2 ** (top - level))
        lh = math.ceil(height / 2 ** (top - level))
        assert level_size(width, height, level) == (lw, lh)
        cols, rows = math.ceil(lw / TILE_SIZE), math.ceil(lh / TILE_SIZE)
        assert grid(width, height, level) == (cols, rows)
        for col in (0, cols - 1):
            for row in (0, rows - 1):
                rect = tile_rect(width, height, level, col, row)
                assert rect is not None
                x0, y0, x1, y1 = rect
                assert (x1 - x0, y1 - y0) == (expected_span(lw, col), expected_span(lh, row))
        assert tile_rect(width, height, level, cols, 0) is None
        assert tile_rect(width, height, level, 0, rows) is None
    assert level_size(width, height, top) == (width, height)
    assert level_size(width, height, 0) == (1, 1)
    assert tile_rect(width, height, top + 1, 0, 0) is None
    assert tile_rect(width, height, -1, 0, 0) is None


def test_dzi_descriptor_is_the_standard_xml() -> None:
    """The .dzi names the DZI namespace, tile size 254, overlap 1, jpg and the full size."""
    root = ET.fromstring(dzi_xml(9000, 6000))
    ns = "{http://schemas.microsoft.com/deepzoom/2008}"
    assert root.tag == ns + "Image"
    assert root.attrib == {"TileSize": "254", "Overlap": "1", "Format": "jpg"}
    size = root.find(ns + "Size")
    assert size is not None and size.attrib == {"Width": "9000", "Height": "6000"}


def test_top_level_tiles_are_the_display_pixels_overlap_included() -> None:
    """Every top-level tile decodes to the display image's pixels under it (overlap
    included) within JPEG error."""
    display = smooth(600, 300)
    pyramid = Pyramid(display, quality=95)
    top = max_level(600, 300)
    cols, rows = grid(600, 300, top)
    assert (cols, rows) == (3, 2)
    for col in range(cols):
        for row in range(rows):
            x0, y0, x1, y1 = tile_rect(600, 300, top, col, row) or (0, 0, 0, 0)
            pixels = decode(pyramid.tile(top, col, row))
            assert pixels.shape == (y1 - y0, x1 - x0, 3)
            error = np.abs(pixels - display[y0:y1, x0:x1].astype(np.int16))
            assert error.mean() < 2 and error.max() < 24


def test_lower_levels_are_the_image_scaled_down() -> None:
    """A tile one and four levels down shows the image averaged down by 2 and 16."""
    display = smooth(1024, 512)
    pyramid = Pyramid(display, quality=95)
    top = max_level(1024, 512)
    for down in (1, 4):
        scale = 2**down
        reference = display.reshape(512 // scale, scale, 1024 // scale, scale, 3).mean(axis=(1, 3))
        pixels = decode(pyramid.tile(top - down, 0, 0))
        height, width = pixels.shape[:2]
        assert np.abs(pixels - reference[:height, :width]).mean() < 3


def test_mono_tiles_are_grey() -> None:
    """A mono display image (H×W×1) gives grey tiles of the right size."""
    display = smooth(300, 200)[:, :, :1].copy()
    pyramid = Pyramid(display)
    with Image.open(io.BytesIO(pyramid.tile(max_level(300, 200), 1, 0))) as tile:
        assert tile.mode == "L" and tile.size == (300 - 253, 200)


def test_out_of_range_tiles_are_refused() -> None:
    """A level, column or row outside the grid raises IndexError and has_tile says no."""
    pyramid = Pyramid(smooth(600, 300))
    for level, col, row in [(11, 0, 0), (10, 3, 0), (10, 0, 2), (-1, 0, 0), (0, 1, 0)]:
        assert not pyramid.has_tile(level, col, row)
        with pytest.raises(IndexError):
            pyramid.tile(level, col, row)


def test_a_tile_is_the_same_jpeg_each_time_it_is_cut() -> None:
    """A pyramid holds no tiles: each call cuts and encodes the tile again, byte for byte
    the same JPEG (so a cache of tiles may drop one and cut it again)."""
    rng = np.random.default_rng(1)
    pyramid = Pyramid(rng.integers(0, 256, (1016, 1016, 3), dtype=np.uint8))
    first = pyramid.tile(10, 0, 0)
    again = pyramid.tile(10, 0, 0)
    assert again == first and again is not first
    assert pyramid.tile(9, 1, 0) == pyramid.tile(9, 1, 0)


def test_only_frames_larger_than_the_web_image_have_a_display_image() -> None:
    """encode() keeps the full-resolution display image only when it downscaled, and a
    frame with a pyramid names its .dzi (under /s/<name>/ for a named stream)."""
    options = DisplayOptions(max_size=256)
    small = imaging.encode(smooth(256, 100), options)
    assert small.display is None
    large = imaging.encode(smooth(257, 100), options)
    assert large.display is not None and large.display.shape == (100, 257, 3)
    plain = Frame(seq=3, time=0.0, jpeg=b"", width=1, height=1, metadata={})
    assert plain.info()["tiles"] is None and plain.tiles is None
    pyramid = Pyramid(large.display)
    root = Frame(seq=3, time=0.0, jpeg=b"", width=1, height=1, metadata={}, pyramid=pyramid)
    assert root.info()["tiles"] == "/tiles/3.dzi"
    named = Frame(
        seq=4, time=0.0, jpeg=b"", width=1, height=1, metadata={}, stream="cam1", pyramid=pyramid
    )
    assert named.tiles == "/s/cam1/tiles/4.dzi"
