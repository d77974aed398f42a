"""Display levels of a frame (docs/analysis.md, ``/api/levels``): zscale as astropy's
``ZScaleInterval`` computes it on the same frame, percentile presets, integer points for
integer data, and outliers that do not move the sky."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.visualization import ZScaleInterval

from framecast.science.levels import levels, sample, zscale


def sky(dtype: type = np.uint16, size: int = 400) -> np.ndarray:
    """A 1000 ± 30 sky with stars and a saturated block over 1 % of the frame."""
    rng = np.random.default_rng(7)
    frame = rng.normal(1000, 30, (size, size))
    ys, xs = np.mgrid[:size, :size]
    for _ in range(30):
        cy, cx = rng.uniform(10, size - 10, 2)
        frame += 20000 * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / 8)
    frame[:40, :40] = 65535
    return np.clip(frame, 0, 65535).astype(dtype)


@pytest.mark.parametrize(
    "frame",
    [
        sky(),
        sky(np.float32),
        np.tile(np.linspace(1000, 40000, 600), (400, 1)),
        np.random.default_rng(3).integers(0, 255, (37, 1001), dtype=np.uint8),
        np.random.default_rng(4).normal(0, 1, (300, 200, 3)).astype(np.float32),
    ],
    ids=["uint16 sky", "float32 sky", "ramp", "uint8 noise", "rgb"],
)
def test_zscale_equals_astropy_on_the_same_frame(frame: np.ndarray) -> None:
    """zscale's black and white points are astropy ZScaleInterval's on the same frame (to
    float32's precision: astropy takes a float32 frame's median in float32)."""
    expected = ZScaleInterval().get_limits(frame)
    got = zscale(sample(frame, 1000))
    assert got == pytest.approx(tuple(float(v) for v in expected), rel=1e-6, abs=1e-9)


def test_zscale_skips_non_finite_values_as_astropy_does() -> None:
    """NaN and inf are left out of zscale's sample, exactly as astropy leaves them out."""
    frame = sky(np.float32)
    frame[::7, ::3] = np.nan
    frame[5, :] = np.inf
    expected = ZScaleInterval().get_limits(frame)
    assert zscale(sample(frame, 1000)) == pytest.approx(tuple(map(float, expected)), rel=1e-6)


def test_presets_of_a_sky_with_saturation() -> None:
    """On a 1000 ± 30 sky with 1 % saturated: minmax reaches 65535, 99.5 % too, zscale and
    95 % keep to the sky; integer data gives integer points."""
    presets = levels(sky())["presets"]
    assert presets["minmax"][1] == 65535
    assert presets["99.5"][1] == 65535
    black, white = presets["zscale"]
    assert 850 < black < 1000 < white < 1300
    assert presets["95"][0] < 1000 < presets["95"][1] < 5000
    for points in presets.values():
        assert all(type(v) is int for v in points)


def test_percentiles_and_quantiles_follow_numpy() -> None:
    """Percentile presets are numpy's percentiles of the finite values, the quantiles run
    from the minimum to the maximum; a frame of NaN only has no presets."""
    frame = np.random.default_rng(5).normal(10, 2, (100, 120)).astype(np.float32)
    frame[3, 3] = np.nan
    answer = levels(frame)
    finite = frame[np.isfinite(frame)].astype(np.float64)
    assert answer["presets"]["99"] == pytest.approx(list(np.percentile(finite, [0.5, 99.5])))
    assert answer["quantiles"][0] == finite.min() and answer["quantiles"][-1] == finite.max()
    assert len(answer["quantiles"]) == 257 and answer["samples"] == finite.size
    empty = levels(np.full((4, 4), np.nan, np.float32))
    assert empty["presets"]["zscale"] is None and empty["quantiles"] == []
