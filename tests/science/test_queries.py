"""The questions about a frame, declared once: parameters parsed strictly, read from the
path or the query, computed from the array, and carried by the broker as declared. Pure."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from framecast.broker.codec import Limits, RawRequest, decode_control, encode_raw_request
from framecast.science import analysis
from framecast.science.queries import JPEG_TILE, QUESTIONS, Facts, QuestionError

LIMITS = Limits(
    max_frame_bytes=1 << 20, max_metadata_bytes=4096, max_metadata_depth=8, max_pixels=1 << 24
)


@pytest.mark.parametrize(
    ("route", "given", "message"),
    [
        ("tile", {"level": "-1", "col": "0", "row": "0"}, "level='-1' is not a tile level"),
        ("tile", {"level": "1", "col": "1.5", "row": "0"}, "col='1.5' is not a tile col"),
        ("npy", {"level": "x"}, "level='x' is not a pyramid level"),
        ("npy", {"x": "0", "y": "0", "w": "10"}, "h is missing: add ?h=<value>"),
        ("pixel", {"x": "1.5", "y": "2"}, "x='1.5' is not a whole number: give x in image"),
        ("pixel", {"x": "1"}, "y is missing: add ?y=<value>"),
        ("profile", {"x0": "0", "y0": "0", "x1": "nan", "y1": "0"}, "x1='nan' is not a number"),
        ("profile", {"x0": "1e3", "y0": "0", "x1": "0", "y1": "0"}, "x0='1e3' is not a number"),
        ("histogram", {"bins": "0"}, "bins=0 is out of range: use 1 to 4096"),
        ("histogram", {"bins": "4097"}, "bins=4097 is out of range: use 1 to 4096"),
        ("histogram", {"bins": "9" * 14}, "bins='99999999999999' is not a whole number"),
        ("stats", {"x": "0", "y": "0", "w": "5"}, "h is missing: add ?h=<value>"),
    ],
)
def test_a_parameter_at_fault_is_named_first(
    route: str, given: dict[str, str], message: str
) -> None:
    """A missing, malformed or out-of-range parameter is refused with one line that starts
    with its name and says what to give instead."""
    with pytest.raises(QuestionError) as refused:
        QUESTIONS[route].parse(given)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


def test_values_are_parsed_to_their_kind_and_left_out_ones_are_none() -> None:
    """Whole numbers where pixels are meant (negative ones too, for a check against the
    frame), decimals for a profile's ends; an optional parameter or a region left out
    entirely is None."""
    assert QUESTIONS["pixel"].parse({"x": "-3", "y": "7"}) == {"x": -3, "y": 7, "r": None}
    ends = QUESTIONS["profile"].parse({"x0": "0", "y0": "1.25", "x1": "-2.5", "y1": "3"})
    assert ends == {"x0": 0.0, "y0": 1.25, "x1": -2.5, "y1": 3.0}
    assert QUESTIONS["stats"].parse({}) == dict.fromkeys(("x", "y", "w", "h", "circle", "polygon"))
    assert QUESTIONS["histogram"].parse({}) == {"bins": None}
    assert QUESTIONS["npy"].parse({"level": "2"}) == {"level": 2, **dict.fromkeys("xywh")}


def test_a_request_gives_path_names_from_its_path_and_the_rest_from_its_query() -> None:
    """The tile's level, column and row come from the URL's path, an analysis question's
    seq and parameters from its query; what a question does not take is left behind."""
    path = {"stream": "cam1", "seq": "4", "level": "3", "col": "1", "row": "0"}
    query = {"level": "9", "x": "2"}
    assert QUESTIONS["tile"].given(path, query) == {"level": "3", "col": "1", "row": "0"}
    assert QUESTIONS[JPEG_TILE].given(path, query) == {"level": "3", "col": "1", "row": "0"}
    assert QUESTIONS["npy"].given(path, query) == {"level": "9", "x": "2"}
    pixel = {"seq": "4", "x": "1", "y": "2", "bins": "8"}
    assert QUESTIONS["pixel"].given({"stream": "cam1"}, pixel) == {"seq": "4", "x": "1", "y": "2"}


def test_urls_come_from_the_declaration() -> None:
    """The client's URL of a raw array and every route's path under a stream's prefix."""
    assert QUESTIONS["npy"].url(seq=12) == "raw/12.npy"
    tile = QUESTIONS["tile"].url(seq=5, level=3, col=1, row=0)
    assert tile == "raw/5_files/3/1_0.npy"
    assert QUESTIONS["histogram"].url() == "api/histogram"


@pytest.mark.parametrize("route", sorted(QUESTIONS))
def test_every_question_crosses_the_broker_with_its_parameters(route: str) -> None:
    """Each declared question, with every parameter it takes, is a raw request the broker
    carries as it was sent; a parameter another question takes is refused."""
    params = {name: "1" for name in QUESTIONS[route].names}
    request = RawRequest("ab12", "node-2", "cam1", 9, route, params, False)
    assert decode_control(encode_raw_request(request), LIMITS) == request
    foreign = RawRequest("ab12", "node-2", "cam1", 9, route, {"x0": "1"}, False)
    if "x0" not in params:
        with pytest.raises(ValueError, match="takes no parameter"):
            decode_control(encode_raw_request(foreign), LIMITS)


def test_an_analysis_is_checked_against_the_frame_and_computed_from_the_array() -> None:
    """An analysis question checks its parameters against the frame's shape before any
    work, and computes what numpy says from the raw array; stats without a region are
    about the whole frame."""
    array = np.arange(24, dtype=np.uint16).reshape(4, 6)
    facts = Facts(array.shape, None, max_profile_points=10)
    stats = QUESTIONS["stats"]
    assert stats.analysis is not None
    values, compute = stats.analysis(stats.parse({}), facts)
    assert values == (0, 0, 6, 4)
    body: dict[str, Any] = compute(array)
    assert body["mean"] == array.mean() and body["max"] == 23
    pixel = QUESTIONS["pixel"]
    assert pixel.analysis is not None
    with pytest.raises(analysis.AnalysisError, match="x=6 is outside the frame"):
        pixel.analysis(pixel.parse({"x": "6", "y": "0"}), facts)
    profile = QUESTIONS["profile"]
    assert profile.analysis is not None
    too_long = profile.parse({"x0": "0", "y0": "0", "x1": "5", "y1": "3"})
    with pytest.raises(analysis.AnalysisError, match="max_profile_points"):
        profile.analysis(too_long, Facts(array.shape, None, max_profile_points=3))
