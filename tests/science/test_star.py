"""Stars measured where they are clicked (docs/science.md, "Stars and focus"): synthetic
Gaussian stars of known σ, sub-pixel centres, noise and a bright neighbour give back their
centroid, FWHM, HFD and background; where no star stands out the answer says so. Pure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from framecast.science import star
from framecast.science.star import FWHM_PER_SIGMA, NoStar, measure

SKY = 1000.0


def gaussian(
    shape: tuple[int, int], x: float, y: float, sigma_x: float, amplitude: float, sigma_y: float = 0
) -> np.ndarray:
    """A star sampled at pixel centres (x, y: its centre in image pixels)."""
    rows, columns = np.indices(shape, dtype=np.float64)
    sigma_y = sigma_y or sigma_x
    return amplitude * np.exp(-0.5 * (((columns - x) / sigma_x) ** 2 + ((rows - y) / sigma_y) ** 2))


@pytest.mark.parametrize("sigma", [1.0, 1.5, 2.0, 3.0, 4.0, 5.0])
def test_a_noisy_star_with_a_neighbour_gives_back_its_shape(sigma: float) -> None:
    """A uint16 star of σ 1–5 px at a sub-pixel centre, with Poisson noise and a brighter
    neighbour 5σ + 6 px away, measures its centroid within 0.05 px, FWHM x, y and mean
    within 3 % of 2.3548σ, HFD within 5 % of it (a Gaussian's HFD is its FWHM), and the sky."""
    rng = np.random.default_rng(int(sigma * 10))
    shape = (110, 130)
    cx, cy = 60.37, 50.71
    image = SKY + gaussian(shape, cx, cy, sigma, 20000.0)
    image += gaussian(shape, cx + 5 * sigma + 6, cy + 3, sigma, 40000.0)
    frame = rng.poisson(image).astype(np.uint16)
    r = max(15, math.ceil(4 * sigma))
    found = measure(frame, 61, 51, r)
    expected = FWHM_PER_SIGMA * sigma
    assert found["x"] == pytest.approx(cx, abs=0.05)
    assert found["y"] == pytest.approx(cy, abs=0.05)
    for key in ("fwhm_x", "fwhm_y", "fwhm"):
        assert found[key] == pytest.approx(expected, rel=0.03), key
    assert found["hfd"] == pytest.approx(expected, rel=0.05)
    assert found["background"] == pytest.approx(
        SKY, abs=0.5 * math.sqrt(SKY)
    )  # half a pixel's noise
    assert isinstance(found["peak"], int)
    assert found["peak"] == pytest.approx(
        SKY + 20000 * math.exp(-0.5 * (0.37**2 + 0.29**2) / sigma**2), rel=0.05
    )
    assert found["snr"] > 100
    profile = found["profile"]
    assert profile["value"][0] > profile["value"][-1]  # the profile falls from the centre


def test_sigma_two_reads_fwhm_4_71() -> None:
    """The figure docs/science.md promises: a Gaussian star of σ = 2 px reads FWHM 4.71 ±
    0.15 px, on float data with Gaussian noise too."""
    rng = np.random.default_rng(2)
    frame = (SKY + gaussian((64, 64), 31.5, 30.25, 2.0, 5000.0)).astype(np.float32)
    frame += rng.normal(0, 20, frame.shape).astype(np.float32)
    found = measure(frame, 30, 31)
    assert found["fwhm"] == pytest.approx(4.71, abs=0.15)
    assert isinstance(found["peak"], float)


def test_an_elongated_star_gives_each_axis() -> None:
    """σx = 3, σy = 1.5: FWHM x and y each as fitted, the mean between them."""
    frame = SKY + gaussian((80, 80), 40.2, 39.6, 3.0, 10000.0, sigma_y=1.5)
    found = measure(frame, 40, 40)
    assert found["fwhm_x"] == pytest.approx(FWHM_PER_SIGMA * 3.0, rel=0.01)
    assert found["fwhm_y"] == pytest.approx(FWHM_PER_SIGMA * 1.5, rel=0.01)
    assert found["fwhm"] == pytest.approx(FWHM_PER_SIGMA * 2.25, rel=0.01)


def test_the_star_nearest_to_the_point_is_measured() -> None:
    """Two stars in reach: the one nearer the point is measured, even when it is fainter."""
    frame = (
        SKY
        + gaussian((80, 80), 30.0, 40.0, 2.0, 3000.0)
        + gaussian((80, 80), 45.0, 40.0, 2.0, 30000.0)
    )
    found = measure(frame, 33, 40, 15)
    assert found["x"] == pytest.approx(30.0, abs=0.05)


def test_no_star_there_is_a_404_that_says_so() -> None:
    """Flat noise, or a single hot pixel, is no star: NoStar (status 404) with a message that
    names r and says what to do."""
    rng = np.random.default_rng(3)
    frame = rng.normal(SKY, 10.0, (60, 60))
    with pytest.raises(NoStar) as none:
        measure(frame, 30, 30)
    assert none.value.status == 404
    assert "no star within r=15 of x=30, y=30" in str(none.value)
    assert "give a larger r" in str(none.value)
    frame[30, 31] = 60000  # a hot pixel: it stands out, but is narrower than any star
    with pytest.raises(NoStar, match="no star within r=15 of x=30, y=30"):
        measure(frame, 30, 30)
    with pytest.raises(NoStar):  # a star 20 px away is beyond r = 10
        measure(SKY + gaussian((60, 60), 50.0, 30.0, 2.0, 5000.0), 30, 30, 10)


def test_the_work_is_bounded_by_r_whatever_the_frame() -> None:
    """A star in a 4000 × 4000 frame is measured from a box of (2r + 1)² pixels: as fast as
    in a small frame (well under a second), reading no pixel far from it."""
    frame = np.zeros((4000, 4000), dtype=np.uint16)
    frame[2000 - 20 : 2000 + 21, 3000 - 20 : 3000 + 21] = (
        SKY + gaussian((41, 41), 20.3, 19.8, 2.0, 9000.0)
    ).astype(np.uint16)
    frame[:1900] = 65535  # far away, beyond r: never read
    found = measure(frame, 3000, 2000, star.DEFAULT_RADIUS)
    assert found["x"] == pytest.approx(3000.3, abs=0.05)
    assert found["fwhm"] == pytest.approx(FWHM_PER_SIGMA * 2.0, rel=0.03)


def test_a_colour_star_is_measured_on_the_channel_sum() -> None:
    """RGB: the star is found and fitted on the sum of the channels; peak is its brightest
    pixel's value per channel."""
    mono = 20 + gaussian((50, 50), 25.4, 24.6, 2.0, 200.0)
    frame = np.stack([mono, mono / 2, mono / 4], axis=2).astype(np.uint8)
    found = measure(frame, 25, 25)
    assert found["fwhm"] == pytest.approx(FWHM_PER_SIGMA * 2.0, rel=0.1)
    assert isinstance(found["peak"], list) and len(found["peak"]) == 3


def test_brightest_picks_the_highest_peak_within_r() -> None:
    """The focus aid asks for the brightest star within r: the bright one, though farther."""
    shape = (80, 80)
    frame = (
        SKY + gaussian(shape, 30.0, 40.0, 2.0, 3000.0) + gaussian(shape, 45.0, 40.0, 2.0, 30000.0)
    )
    assert measure(frame, 33, 40, 15, brightest=True)["x"] == pytest.approx(45.0, abs=0.05)
