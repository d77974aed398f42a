"""The shape vocabulary of overlays and marks (docs/together.md): what is drawn, and each
refusal naming the shape and its field. Pure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from framecast.errors import FramecastError, ShapeError
from framecast.live.shapes import (
    SHAPES,
    ShapeLimits,
    check_overlays,
    check_shape,
    parse_json,
    parse_overlays,
)

LIMITS = ShapeLimits(max_shapes=3, max_points=4, max_bytes=2000)


def shape(value: Any, **extra: Any) -> dict[str, Any]:
    return check_shape(value, max_points=4, **extra)


def test_every_shape_is_kept_as_given_with_its_text_and_colour() -> None:
    """Each of the six shapes comes back with its fields (numbers as given, ints stay ints),
    its text and its colour; nothing else is added."""
    given = [
        {"shape": "circle", "x": 512, "y": 384.5, "r": 12, "text": "beam", "colour": "#0f0"},
        {"shape": "rectangle", "x": 1, "y": 2, "w": 3, "h": 4, "colour": "#00ff88"},
        {"shape": "line", "points": [[0, 0], [10, 5]], "colour": "red"},
        {"shape": "polygon", "points": [[0, 0], [10, 0], [5, 8]]},
        {"shape": "point", "x": 3, "y": 4},
        {"shape": "text", "x": 3, "y": 4, "text": "M31"},
    ]
    assert [shape(s)["shape"] for s in given] == list(SHAPES)
    assert [shape(s) for s in given] == given
    assert check_overlays(given[:3], LIMITS) == tuple(given[:3])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"shape": "star", "x": 1, "y": 1}, 'overlay 0: shape is "star"; use one of circle'),
        ({"x": 1, "y": 1}, "overlay 0: shape is missing"),
        ({"shape": "circle", "x": "1", "y": 1, "r": 2}, '(circle): x is not a number ("1")'),
        ({"shape": "circle", "x": True, "y": 1, "r": 2}, "(circle): x is not a number (bool)"),
        ({"shape": "circle", "x": 1, "y": 1}, "(circle): r is missing"),
        ({"shape": "circle", "x": 1, "y": 1, "r": -2}, "(circle): r is -2; a size is 0 or more"),
        ({"shape": "point", "x": 1e12, "y": 1}, "(point): x is 1e+12; give a finite number"),
        ({"shape": "point", "x": 1, "y": 1, "radius": 3}, 'unknown field "radius"'),
        ({"shape": "point", "x": 1, "y": 1, "text": "x" * 201}, "text is 201 characters"),
        ({"shape": "point", "x": 1, "y": 1, "text": 5}, "(point): text is int; give a string"),
        ({"shape": "text", "x": 1, "y": 1}, "(text): text is missing"),
        ({"shape": "point", "x": 1, "y": 1, "colour": "#12"}, 'colour is "#12"; give #rgb'),
        ({"shape": "point", "x": 1, "y": 1, "colour": "teal"}, 'colour is "teal"'),
        ({"shape": "line", "points": [[0, 0]]}, "a line needs 2 points or more, not 1"),
        ({"shape": "polygon", "points": [[0, 0], [1, 1]]}, "a polygon needs 3 points"),
        ({"shape": "line", "points": [[0, 0], [1]]}, "points[1] is not an [x, y] pair"),
        ({"shape": "line", "points": [[0, 0], [1, "a"]]}, "points[1] is not a number"),
        ({"shape": "line", "points": [[0, 0]] * 5}, "5 points, more than max_shape_points (4)"),
        ("circle", "overlay 0 is not a JSON object"),
    ],
)
def test_each_bad_shape_is_refused_naming_its_field(value: Any, message: str) -> None:
    """A shape framecast cannot draw is a ShapeError (a FramecastError) whose one line names
    the shape's place, its kind and the bad field."""
    with pytest.raises(ShapeError) as caught:
        check_overlays([value], LIMITS)
    assert message in str(caught.value)
    assert isinstance(caught.value, FramecastError)
    assert "\n" not in str(caught.value)


def test_the_count_and_the_bytes_are_limited() -> None:
    """More shapes than max_overlays, or more JSON than max_overlay_bytes, are refused
    naming the setting; no list at all is no overlays."""
    point = {"shape": "point", "x": 1, "y": 1}
    with pytest.raises(ShapeError, match=r"4 overlays, more than max_overlays \(3\)"):
        check_overlays([point] * 4, LIMITS)
    wordy = {**point, "text": "w" * 200}
    with pytest.raises(ShapeError, match="more than max_overlay_bytes"):
        check_overlays([wordy] * 3, ShapeLimits(max_shapes=3, max_points=4, max_bytes=500))
    with pytest.raises(ShapeError, match="overlays must be a list of shapes, not a dict"):
        check_overlays(point, LIMITS)
    assert check_overlays(None, LIMITS) == ()


def test_text_is_measured_and_its_nesting_counted_before_it_is_parsed() -> None:
    """JSON text over the byte limit, nested deeper than shapes nest, or not JSON at all
    is refused before (or instead of) parsing; good text gives checked shapes."""
    with pytest.raises(ShapeError, match="2001 bytes of JSON, more than max_overlay_bytes"):
        parse_overlays(" " * 2001, LIMITS)
    with pytest.raises(ShapeError, match="nest deeper than a list of shapes"):
        parse_overlays("[" * 10 + "]" * 10, LIMITS)
    with pytest.raises(ShapeError, match="not valid JSON"):
        parse_overlays('[{"shape": "point", "x": NaN, "y": 1}]', LIMITS)
    text = json.dumps([{"shape": "point", "x": 1, "y": 2}])
    assert parse_overlays(text, LIMITS) == ({"shape": "point", "x": 1, "y": 2},)
    assert parse_json(b'{"a": 1}', "mark", max_bytes=100) == {"a": 1}


def test_extra_fields_are_the_callers() -> None:
    """A caller that reads more fields (a mark's seq) names them; they are not in the shape."""
    assert shape({"shape": "point", "x": 1, "y": 1, "seq": 4}, extra=("seq",)) == {
        "shape": "point",
        "x": 1,
        "y": 1,
    }
