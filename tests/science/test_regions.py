"""Circles and polygons (docs/analysis.md, "Regions"): the statistics cover exactly the pixels
whose centres lie inside, as numpy says over the same mask; the questions refuse what does not
make a shape with a line naming the parameter. Pure."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from framecast.science import analysis
from framecast.science.queries import QUESTIONS, Facts, QuestionError
from framecast.science.regions import MOST_POLYGON_CORNERS, Shape

RNG = np.random.default_rng(5)
FRAME = RNG.integers(0, 65536, (60, 80), dtype=np.uint16)


def even_odd(corners: list[tuple[float, float]], x: float, y: float) -> bool:
    """A centre inside a polygon, by a ray to the right (the classic test, written apart)."""
    inside = False
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        if (ay <= y) != (by <= y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
            inside = not inside
    return inside


def ask(array: np.ndarray, given: dict[str, str]) -> dict[str, Any]:
    question = QUESTIONS["stats"]
    _values, compute = question.analysis(question.parse(given), Facts(array.shape, 65535, 100))
    return compute(array)


def expected(array: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    values = array[mask]
    ys, xs = np.nonzero(mask)
    weights = values.astype(np.float64)
    return {
        "count": int(mask.sum()),
        "min": int(values.min()),
        "max": int(values.max()),
        "mean": pytest.approx(values.mean(dtype=np.float64), rel=1e-12),
        "std": pytest.approx(values.std(dtype=np.float64), rel=1e-10),
        "sum": int(values.astype(np.int64).sum()),
        "centroid": [
            pytest.approx((weights * xs).sum() / weights.sum(), rel=1e-12),
            pytest.approx((weights * ys).sum() / weights.sum(), rel=1e-12),
        ],
        "saturated": int((values >= 65535).sum()),
        "nonfinite": 0,
    }


def test_a_circle_covers_the_centres_within_its_radius() -> None:
    """circle=40.5,30.2,10: the figures of the pixels with (x-cx)² + (y-cy)² <= r², and the
    circle and its bounding box given back."""
    rows, columns = np.indices(FRAME.shape)
    mask = (columns - 40.5) ** 2 + (rows - 30.2) ** 2 <= 100
    answer = ask(FRAME, {"circle": "40.5,30.2,10"})
    assert answer["circle"] == [40.5, 30.2, 10.0]
    assert answer["roi"] == [31, 21, 20, 20]
    assert {k: answer[k] for k in expected(FRAME, mask)} == expected(FRAME, mask)


def test_a_circle_over_the_edge_counts_the_pixels_in_the_frame() -> None:
    """A circle around the top-left corner covers the quarter inside the frame."""
    rows, columns = np.indices(FRAME.shape)
    mask = columns**2 + rows**2 <= 25
    answer = ask(FRAME, {"circle": "0,0,5"})
    assert answer["count"] == int(mask.sum()) == 26
    assert answer["sum"] == int(FRAME[mask].astype(np.int64).sum())


@pytest.mark.parametrize(
    "corners",
    [
        [(10.0, 5.0), (60.5, 12.25), (30.0, 50.0)],  # a triangle
        [(5, 5), (70, 5), (70, 15), (20, 15), (20, 55), (5, 55)],  # concave: an L
        [(10, 10), (70, 50), (70, 10), (10, 50)],  # a bow tie: crossing edges
    ],
)
def test_a_polygon_covers_the_centres_inside_it(corners: list[tuple[float, float]]) -> None:
    """polygon=x1,y1,…: the figures of the pixels whose centres the even-odd rule puts
    inside, concave and self-crossing polygons included."""
    mask = np.array(
        [[even_odd(corners, x, y) for x in range(FRAME.shape[1])] for y in range(FRAME.shape[0])]
    )
    text = ",".join(f"{v:g}" for corner in corners for v in corner)
    answer = ask(FRAME, {"polygon": text})
    assert answer["polygon"] == [float(v) for corner in corners for v in corner]
    assert {k: answer[k] for k in expected(FRAME, mask)} == expected(FRAME, mask)


def test_polygons_sharing_an_edge_never_count_a_pixel_twice() -> None:
    """Two triangles halving a rectangle, with pixel centres on their shared diagonal and
    edges: together they count each pixel of the rectangle exactly once."""
    left = Shape("polygon", (10, 10, 30, 10, 10, 30))
    right = Shape("polygon", (30, 10, 30, 30, 10, 30))
    whole = Shape("polygon", (10, 10, 30, 10, 30, 30, 10, 30))
    a, b, c = (s.inside(0, 0, 40, 40) for s in (left, right, whole))
    assert not (a & b).any()
    assert ((a | b) == c).all()
    assert int(c.sum()) == 20 * 20  # top and left edges in, bottom and right out


def test_a_colour_circle_gives_a_figure_per_channel() -> None:
    """RGB: a list per channel, over the same pixels."""
    rgb = RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    rows, columns = np.indices(rgb.shape[:2])
    mask = (columns - 20) ** 2 + (rows - 15) ** 2 <= 36
    answer = ask(rgb, {"circle": "20,15,6"})
    assert answer["count"] == [int(mask.sum())] * 3
    assert answer["sum"] == [int(rgb[:, :, c][mask].sum()) for c in range(3)]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"circle": "1,2"}, "circle=1,2: give circle=cx,cy,r"),
        ({"circle": "1,2,3,4"}, "circle has more than 3 numbers"),
        ({"circle": "1,2,0"}, "circle=1,2,0: the radius must be above 0"),
        ({"circle": "1,2,x"}, "circle='1,2,x' is not a list of numbers"),
        ({"polygon": "1,2,3,4"}, "polygon=1,2,3,4: give polygon=x1,y1,x2,y2,x3,y3"),
        ({"polygon": ",".join(["1"] * (2 * MOST_POLYGON_CORNERS + 1))}, "polygon has more"),
        (
            {"polygon": ",".join(["1,2"] * 101)},
            "polygon: 101 corners, more than max_polygon_corners (100); draw it with fewer",
        ),
        ({"circle": "-50,-50,3"}, "circle=-50,-50,3 covers no pixel of the frame (80×60)"),
        ({"circle": "5,5,3", "x": "0", "y": "0", "w": "2", "h": "2"}, "circle: give one region"),
    ],
)
def test_what_is_not_a_shape_is_refused_naming_it(given: dict[str, str], message: str) -> None:
    """A shape with the wrong count of numbers, no area, outside the frame, or given with
    another region is a 400 whose one line starts with the parameter's name."""
    with pytest.raises((QuestionError, analysis.AnalysisError)) as refused:
        ask(FRAME, given)
    assert str(refused.value).startswith(message)
