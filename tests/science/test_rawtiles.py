"""Raw tiles (docs/science.md), pure: the top level is the raw pixels, lower levels block means."""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np
import pytest

from framecast.imaging.pyramid import grid, level_size, max_level, tile_rect
from framecast.science import rawtiles


def reference_level(array: np.ndarray, level: int) -> np.ndarray:
    """Level ``level`` of ``array`` by the definition: float32 means of 2^k blocks, partial
    blocks at the right and bottom edges averaging the pixels that exist (k = 0: the array)."""
    height, width = array.shape[:2]
    scale = 1 << (max_level(width, height) - level)
    if scale == 1:
        return array
    level_width, level_height = level_size(width, height, level)
    out = np.empty((level_height, level_width, *array.shape[2:]), np.float32)
    for j in range(level_height):
        for i in range(level_width):
            block = array[j * scale : (j + 1) * scale, i * scale : (i + 1) * scale]
            out[j, i] = block.astype(np.float64).mean(axis=(0, 1))
    return out


def reference_tile(array: np.ndarray, level: int, col: int, row: int) -> np.ndarray:
    height, width = array.shape[:2]
    rect = tile_rect(width, height, level, col, row)
    assert rect is not None
    x0, y0, x1, y1 = rect
    return reference_level(array, level)[y0:y1, x0:x1]


def every_tile(width: int, height: int) -> list[tuple[int, int, int]]:
    return [
        (level, col, row)
        for level in range(max_level(width, height) + 1)
        for col in range(grid(width, height, level)[0])
        for row in range(grid(width, height, level)[1])
    ]


def check_all_levels(array: np.ndarray, *, exact: bool) -> None:
    height, width = array.shape[:2]
    top = max_level(width, height)
    for level, col, row in every_tile(width, height):
        tile = rawtiles.cut(array, level, col, row)
        expected = reference_tile(array, level, col, row)
        where = f"tile {level}/{col}_{row}"
        assert tile.dtype == (array.dtype if level == top else np.float32), where
        assert tile.shape == expected.shape, where
        if exact:
            assert np.array_equal(tile, expected, equal_nan=True), where
        else:
            np.testing.assert_allclose(tile, expected, rtol=2e-6, equal_nan=True, err_msg=where)


def test_uint16_tiles_at_every_level_match_the_definition() -> None:
    """A 700×300 uint16 frame: the top level is its pixels (overlap included) in uint16,
    every lower level the exact float32 block means, partial edge blocks included."""
    rng = np.random.default_rng(3)
    array = rng.integers(0, 65536, (300, 700), dtype=np.uint16)
    array[0, 0], array[-1, -1] = 65535, 0
    check_all_levels(array, exact=True)


def test_colour_float_tiles_at_every_level_match_the_definition() -> None:
    """A 517×301 RGB float32 frame with a NaN: every level per channel; the block holding
    the NaN is NaN in that channel, as numpy's mean says."""
    rng = np.random.default_rng(4)
    array = rng.normal(0, 1000, (301, 517, 3)).astype(np.float32)
    array[7, 9, 1] = np.nan
    check_all_levels(array, exact=False)
    level0 = rawtiles.cut(array, 0, 0, 0)
    assert level0.shape == (1, 1, 3) and np.isnan(level0[0, 0, 1])
    assert not np.isnan(level0[0, 0, 0])


def test_a_one_pixel_frame_has_one_level() -> None:
    """A 1×1 frame is its own single tile."""
    array = np.array([[-7]], dtype=np.int16)
    assert rawtiles.cut(array, 0, 0, 0).tolist() == [[-7]]
    with pytest.raises(IndexError):
        rawtiles.cut(array, 1, 0, 0)


def test_tiles_outside_the_grid_are_refused() -> None:
    """A level above the top, a column or row past the grid, raise IndexError."""
    array = np.zeros((300, 700), np.uint16)
    top = max_level(700, 300)
    for level, col, row in [(top + 1, 0, 0), (top, 3, 0), (top, 0, 2), (0, 1, 0)]:
        with pytest.raises(IndexError):
            rawtiles.cut(array, level, col, row)


def test_bands_give_the_same_means_as_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reducing in bands of a few rows (bands ending inside a block) changes no value."""
    rng = np.random.default_rng(5)
    array = rng.integers(0, 4096, (300, 700), dtype=np.uint16)
    monkeypatch.setattr(rawtiles, "BAND_BYTES", 700 * 8 * 3)  # three rows per band
    check_all_levels(array, exact=True)


def test_a_whole_frame_tile_needs_far_less_than_a_float64_copy() -> None:
    """Level 0 of a 4000×3000 uint16 frame (one pixel, the whole frame's mean) allocates at
    most a fraction of the frame's own size, never a float64 copy (4× the frame)."""
    array: Any = np.random.default_rng(6).integers(0, 65536, (3000, 4000), dtype=np.uint16)
    tracemalloc.start()
    try:
        tile = rawtiles.cut(array, 0, 0, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tile[0, 0] == np.float32(array.mean(dtype=np.float64))
    assert peak < array.nbytes // 2, f"peak {peak} bytes for a {array.nbytes}-byte frame"


def test_a_region_of_a_level_holds_what_its_tiles_hold() -> None:
    """rawtiles.region gives any rectangle of any level: the raw pixels at the top level,
    the float32 block means below it, edges and partial blocks included."""
    array = np.random.default_rng(12).integers(0, 65536, (301, 517), dtype=np.uint16)
    top = max_level(517, 301)
    for level, (x0, y0, x1, y1) in [
        (top, (0, 0, 517, 301)),
        (top, (250, 7, 517, 260)),
        (top - 1, (3, 5, 259, 151)),
        (top - 3, (0, 0, 65, 38)),
        (0, (0, 0, 1, 1)),
    ]:
        got = rawtiles.region(array, level, x0, y0, x1, y1)
        expected = reference_level(array, level)[y0:y1, x0:x1]
        assert got.dtype == (np.uint16 if level == top else np.float32)
        assert np.array_equal(got, expected), (level, x0, y0, x1, y1)


def test_a_region_outside_the_pyramid_is_refused() -> None:
    """A level above the top, an empty rectangle, or one past the level's edge."""
    array = np.zeros((300, 700), np.uint16)
    top = max_level(700, 300)
    for level, rect in [
        (top + 1, (0, 0, 1, 1)),
        (top, (0, 0, 701, 300)),
        (top, (5, 0, 5, 10)),
        (top - 1, (0, 0, 351, 150)),
        (top - 1, (0, 149, 10, 151)),
    ]:
        with pytest.raises(IndexError):
            rawtiles.region(array, level, *rect)


def test_reducing_a_level_lets_a_live_frame_go_first_every_band_of_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reducing a whole frame to any lower level pauses for live frames at least once per
    BAND_BYTES of float64 row sums, however few block rows the level has."""
    calls: list[int] = []
    monkeypatch.setattr(rawtiles, "pause", lambda: calls.append(1))
    array = np.zeros((2048, 2048), np.uint16)
    runs = 2048 * 2048 * 8 // rawtiles.BAND_BYTES  # 4 runs of 512 rows
    for level in (10, 8, 3, 0):
        calls.clear()
        size = 1 << level
        rawtiles.region(array, level, 0, 0, size, size)
        assert len(calls) >= runs, (level, len(calls))
