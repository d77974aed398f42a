"""Sky coordinates (docs/science.md, "Sky coordinates"): a celestial WCS in a frame's
metadata gives each image pixel the RA and Dec astropy gives its FITS pixel (rows counted
bottom-up); without one, or without astropy, there are none and nothing fails. Pure."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from astropy.wcs import WCS

from framecast.science.queries import QUESTIONS, Facts
from framecast.science.sky import celestial

HEIGHT, WIDTH = 30, 40
TAN_CD = {
    "CTYPE1": "RA---TAN",
    "CTYPE2": "DEC--TAN",
    "CRVAL1": 83.8221,
    "CRVAL2": -5.3911,
    "CRPIX1": 20.5,
    "CRPIX2": 10.0,
    "CD1_1": -2.8e-4,
    "CD1_2": 3.0e-5,
    "CD2_1": 2.5e-5,
    "CD2_2": 2.8e-4,
    "exposure": 30,
}
TAN_CDELT = {
    "CTYPE1": "RA---TAN",
    "CTYPE2": "DEC--TAN",
    "CRVAL1": 359.99,
    "CRVAL2": 60.0,
    "CRPIX1": 1.0,
    "CRPIX2": 1.0,
    "CDELT1": -0.001,
    "CDELT2": 0.001,
    "PC1_1": 0.9,
    "PC1_2": -0.1,
    "PC2_1": 0.1,
    "PC2_2": 0.9,
}


@pytest.mark.parametrize("header", [TAN_CD, TAN_CDELT], ids=["CD", "CDELT-PC"])
def test_the_four_corners_are_astropys_with_rows_bottom_up(header: dict[str, object]) -> None:
    """At the four corner pixels, /api/pixel's world equals WCS.pixel_to_world_values at
    (x, height - 1 - y): image row 0 is the top, FITS row 1 the bottom."""
    reference = WCS({k: v for k, v in header.items() if k != "exposure"}, naxis=2)
    question = QUESTIONS["pixel"]
    sky = celestial(header)
    assert sky is not None
    facts = Facts((HEIGHT, WIDTH), None, 100, sky=sky)
    frame = np.arange(HEIGHT * WIDTH, dtype=np.uint16).reshape(HEIGHT, WIDTH)
    for x, y in ((0, 0), (WIDTH - 1, 0), (0, HEIGHT - 1), (WIDTH - 1, HEIGHT - 1)):
        _values, compute = question.analysis(question.parse({"x": str(x), "y": str(y)}), facts)
        answer = compute(frame)
        ra, dec = reference.pixel_to_world_values(x, HEIGHT - 1 - y)
        assert answer["value"] == int(frame[y, x])
        assert answer["world"]["ra"] == pytest.approx(float(ra) % 360, abs=1e-9)
        assert answer["world"]["dec"] == pytest.approx(float(dec), abs=1e-9)


def test_without_a_celestial_wcs_there_is_no_world() -> None:
    """No CTYPE, linear CTYPEs, or CRVAL as text: no sky, and /api/pixel has no world."""
    assert celestial({}) is None
    assert celestial({**TAN_CD, "CTYPE1": "LINEAR", "CTYPE2": "LINEAR"}) is None
    assert celestial({**TAN_CD, "CRVAL1": "83.8"}) is None
    question = QUESTIONS["pixel"]
    _values, compute = question.analysis(
        question.parse({"x": "1", "y": "1"}), Facts((4, 4), None, 9)
    )
    assert compute(np.zeros((4, 4), np.uint8)) == {"x": 1, "y": 1, "value": 0}


def test_without_astropy_there_is_no_world_and_no_error() -> None:
    """A server without astropy (the fits extra) answers /api/pixel for a frame with a WCS
    with its value and no world, never an error (a Python where astropy cannot import)."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["astropy"] = None  # as if it were not installed
        import numpy as np
        from framecast.science.queries import QUESTIONS, Facts
        from framecast.science.sky import celestial
        question = QUESTIONS["pixel"]
        facts = Facts((30, 40), None, 100, sky=celestial({TAN_CD!r}))
        _values, compute = question.analysis(question.parse({{"x": "3", "y": "4"}}), facts)
        print(compute(np.full((30, 40), 7, np.uint16)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'x': 3, 'y': 4, 'value': 7}"
