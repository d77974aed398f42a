"""The figures of docs/science.md computed by the pure module, checked against numpy on the same
arrays: pixel, stats (banded), profile, histogram; and the questions it refuses."""

from __future__ import annotations

import ast
import json
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from framecast.science import analysis, histogram
from framecast.science.analysis import AnalysisError

RNG = np.random.default_rng(16)


def u16() -> np.ndarray:
    array = RNG.integers(0, 65536, (37, 53), dtype=np.uint16)
    array[0, 0], array[1, 1] = 65535, 0
    return array


def f32() -> np.ndarray:
    array = RNG.normal(100.0, 15.0, (31, 41)).astype(np.float32)
    array[2, 3], array[4, 5], array[6, 7] = np.nan, np.inf, -np.inf
    return array


@pytest.fixture(params=[1 << 20, 100], ids=["one band", "many bands"])
def bands(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every figure is the same whether the frame is one band or many."""
    monkeypatch.setattr(analysis, "BAND_PIXELS", request.param)
    return int(request.param)


def expected_stats(values: np.ndarray, level: float | None) -> dict[str, Any]:
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values.ravel()
    return {
        "count": finite.size,
        "min": finite.min().item(),
        "max": finite.max().item(),
        "mean": pytest.approx(float(np.mean(finite, dtype=np.float64)), rel=1e-12),
        "std": pytest.approx(float(np.std(finite, dtype=np.float64)), rel=1e-10),
        "sum": (
            int(finite.astype(object).sum())
            if finite.dtype.kind in "iu"
            else pytest.approx(float(finite.sum(dtype=np.float64)), rel=1e-12)
        ),
        "saturated": 0 if level is None else int(np.count_nonzero(finite >= level)),
        "nonfinite": values.size - finite.size,
    }


def centroid_of(weights: np.ndarray, x: int, y: int) -> list[Any]:
    weights = np.where(np.isfinite(weights), weights, 0).astype(np.float64)
    total = weights.sum()
    ys, xs = np.mgrid[0 : weights.shape[0], 0 : weights.shape[1]]
    return [
        pytest.approx(x + (weights * xs).sum() / total, rel=1e-12),
        pytest.approx(y + (weights * ys).sum() / total, rel=1e-12),
    ]


@pytest.mark.parametrize(
    "make", [u16, f32, lambda: RNG.integers(-3000, 3000, (20, 30), dtype=np.int16)]
)
def test_whole_frame_stats_equal_numpy(bands: int, make: Any) -> None:
    """Whole-frame stats of uint16, float32 (NaN, ±inf left out) and int16 equal numpy's
    figures on the finite values; integer min/max/sum are exact ints."""
    array = make()
    level = analysis.saturation_level(array.dtype, {})
    got = analysis.stats(array, saturation=level)
    assert got["roi"] == [0, 0, array.shape[1], array.shape[0]]
    assert {k: got[k] for k in expected_stats(array, level)} == expected_stats(array, level)
    assert got["centroid"] == centroid_of(array, 0, 0)
    if array.dtype.kind in "iu":
        assert all(type(got[k]) is int for k in ("min", "max", "sum", "count"))


def test_region_stats_and_centroid(bands: int) -> None:
    """A region's stats are those of the slice; the centroid is in image pixels."""
    array = u16()
    got = analysis.stats(array, (5, 7, 20, 13), saturation=65535)
    part = array[7:20, 5:25]
    assert {k: got[k] for k in expected_stats(part, 65535)} == expected_stats(part, 65535)
    assert got["centroid"] == centroid_of(part, 5, 7)
    spot = np.zeros((50, 60), np.uint16)
    spot[10, 40] = 1000
    assert analysis.stats(spot, (30, 5, 20, 20))["centroid"] == [40.0, 10.0]


def test_saturation_from_metadata_or_dtype() -> None:
    """saturated counts pixels at or above the metadata level, else the dtype maximum, and
    is 0 for floats without a level."""
    array = np.array([[65535, 65534], [40000, 1]], np.uint16)
    assert (
        analysis.stats(array, saturation=analysis.saturation_level(array.dtype, {}))["saturated"]
        == 1
    )
    level = analysis.saturation_level(array.dtype, {"saturation": 40000})
    assert level == 40000 and analysis.stats(array, saturation=level)["saturated"] == 3
    assert analysis.saturation_level(np.dtype(np.float32), {"saturation": True}) is None
    assert analysis.stats(f32(), saturation=None)["saturated"] == 0


def test_colour_stats_per_channel(bands: int) -> None:
    """RGB: every figure a list per channel, the centroid on the channel sum."""
    rgb = RNG.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    got = analysis.stats(rgb, saturation=255)
    for channel in range(3):
        want = expected_stats(rgb[:, :, channel], 255)
        assert {k: got[k][channel] for k in want} == want
    assert got["centroid"] == centroid_of(rgb.sum(axis=2), 0, 0)


def test_std_is_sound_for_large_offsets(bands: int) -> None:
    """A tiny spread on a huge offset keeps its std (no catastrophic cancellation), in one
    band or combined from many, whatever noise is drawn (not only what this module's other
    tests left the shared generator at)."""
    for seed in range(20):
        array = (1e9 + np.random.default_rng(seed).normal(0, 1e-3, (64, 64))).astype(np.float64)
        assert analysis.stats(array)["std"] == pytest.approx(float(array.std()), rel=1e-6), seed


def test_64_bit_sums_are_exact() -> None:
    """The sum of int64 and uint64 data is exact, beyond what int64 holds."""
    big = np.full((4, 4), np.iinfo(np.uint64).max, np.uint64)
    assert analysis.stats(big)["sum"] == 16 * int(np.iinfo(np.uint64).max)
    low = np.full((2, 3), np.iinfo(np.int64).min, np.int64)
    assert analysis.stats(low)["sum"] == 6 * int(np.iinfo(np.int64).min)


def test_no_finite_value_gives_nulls() -> None:
    """A region of NaN only: count 0, figures null, all pixels counted as non-finite."""
    got = analysis.stats(np.full((3, 3), np.nan, np.float32))
    assert (got["count"], got["min"], got["mean"], got["nonfinite"]) == (0, None, None, 9)
    assert got["centroid"] == [None, None]


def test_pixel_values_as_json() -> None:
    """Pixel values: ints, floats, null for NaN, "inf"/"-inf", a list per channel."""
    assert analysis.pixel(u16(), 0, 0) == 65535
    floats = f32()
    assert analysis.pixel(floats, 3, 2) is None
    assert (analysis.pixel(floats, 5, 4), analysis.pixel(floats, 7, 6)) == ("inf", "-inf")
    assert analysis.pixel(floats, 0, 0) == float(floats[0, 0])
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[1, 0] = (1, 2, 3)
    assert analysis.pixel(rgb, 0, 1) == [1, 2, 3]
    assert analysis.pixel(np.array([[-7]], np.int16), 0, 0) == -7


def test_profiles_follow_the_nearest_pixels() -> None:
    """Horizontal, vertical and diagonal profiles: round(length)+1 points, ends included."""
    array = np.arange(100 * 80, dtype=np.int32).reshape(80, 100)
    assert analysis.profile(array, 2, 3, 12, 3, max_points=100) == array[3, 2:13].tolist()
    assert analysis.profile(array, 4, 20, 4, 10, max_points=100) == array[10:21, 4][::-1].tolist()
    diagonal = analysis.profile(array, 0, 0, 30, 40, max_points=100)
    xs = np.rint(np.linspace(0, 30, 51)).astype(int)
    ys = np.rint(np.linspace(0, 40, 51)).astype(int)
    assert diagonal == array[ys, xs].tolist() and len(diagonal) == 51
    assert analysis.profile(array, 5, 5, 5, 5, max_points=1) == [array[5, 5]]


def test_profile_is_capped() -> None:
    """A line with more points than allowed is refused, naming the end point."""
    with pytest.raises(AnalysisError) as caught:
        analysis.profile(np.zeros((10, 100)), 0, 0, 99, 0, max_points=50)
    assert caught.value.parameter == "x1" and "max_profile_points" in str(caught.value)


@pytest.mark.parametrize("bins", [1, 7, 256])
def test_histogram_equals_numpy_over_finite_values(bands: int, bins: int) -> None:
    """Edges and counts equal numpy.histogram of the finite values; they add up to the count."""
    signed = RNG.integers(-32768, 32768, (30, 40), dtype=np.int16)
    narrow = np.array([[-128, -1, 0], [5, 127, -7]], np.int8)
    for array in (u16(), f32(), np.full((5, 5), 9, np.uint8), signed, narrow):
        finite = array[np.isfinite(array)]
        counts, edges = np.histogram(finite, bins)
        got = histogram.histogram(array, bins)
        assert got["counts"] == counts.tolist() and sum(got["counts"]) == finite.size
        assert got["edges"] == edges.tolist()
        assert (got["min"], got["max"]) == (finite.min().item(), finite.max().item())
        assert got["nonfinite"] == array.size - finite.size


def test_colour_histogram_counts_per_channel() -> None:
    """RGB: one set of edges over all channels, counts per channel."""
    rgb = RNG.integers(0, 256, (20, 10, 3), dtype=np.uint8)
    got = histogram.histogram(rgb, 16)
    edges = np.histogram_bin_edges(rgb, 16)
    assert got["edges"] == edges.tolist()
    assert got["counts"] == [np.histogram(rgb[:, :, c], edges)[0].tolist() for c in range(3)]
    assert got["nonfinite"] == [0, 0, 0]


def test_histogram_of_nothing_finite() -> None:
    """Only NaN: numpy's histogram of nothing (edges 0..1, zero counts), min and max null."""
    got = histogram.histogram(np.full((2, 2), np.nan), 4)
    assert got["edges"] == [0.0, 0.25, 0.5, 0.75, 1.0] and got["counts"] == [0, 0, 0, 0]
    assert (got["min"], got["max"], got["nonfinite"]) == (None, None, 4)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda a: analysis.pixel(a, 10, 0), "x"),
        (lambda a: analysis.pixel(a, 0, -1), "y"),
        (lambda a: analysis.stats(a, (0, 0, 11, 1)), "w"),
        (lambda a: analysis.stats(a, (0, 5, 1, 6)), "h"),
        (lambda a: analysis.stats(a, (0, 0, 0, 1)), "w"),
        (lambda a: analysis.profile(a, 0, 0, 10.5, 0, max_points=99), "x1"),
        (lambda a: histogram.histogram(a, 0), "bins"),
        (lambda a: histogram.histogram(a, 4097), "bins"),
    ],
)
def test_questions_outside_the_frame_are_refused(call: Any, parameter: str) -> None:
    """A point or region outside a 10×10 frame, or bins out of range, names its parameter."""
    with pytest.raises(AnalysisError) as caught:
        call(np.zeros((10, 10), np.uint8))
    assert caught.value.parameter == parameter and parameter in str(caught.value)


def test_stats_of_a_big_frame_never_copy_it_as_float64() -> None:
    """Stats of a 16-megapixel uint16 frame allocate far less than the frame itself (a float64
    copy would be 4× the frame)."""
    array = np.ones((4000, 4000), np.uint16)
    tracemalloc.start()
    try:
        analysis.stats(array, saturation=65535)
        histogram.histogram(array, 256)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < array.nbytes / 2, f"peak {peak / 1e6:.0f} MB for a {array.nbytes / 1e6} MB frame"


def test_the_module_is_pure() -> None:
    """analysis.py imports numpy, the standard library and framecast.runtime.priority (itself pure:
    the standard library only) — no aiohttp, nothing else of framecast."""
    tree = ast.parse(Path(analysis.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    allowed = {"__future__", "math", "collections.abc", "dataclasses", "typing", "numpy"}
    assert names <= allowed | {"framecast.runtime.priority"}


def test_figures_beyond_float64_are_strings_not_errors() -> None:
    """Figures that overflow float64 come out as "inf" or null (strict JSON), never a crash."""
    got = analysis.stats(np.full((2, 2), 1e308))
    assert (got["sum"], got["max"]) == ("inf", 1e308)
    json.dumps(got, allow_nan=False)


def test_numpy_refusing_the_bins_is_a_question_error() -> None:
    """A range too wide for float64 bins is refused naming bins, as numpy refuses it."""
    with pytest.raises(AnalysisError) as caught:
        histogram.histogram(np.array([[-1e308, 1e308]]), 4)
    assert caught.value.parameter == "bins"
