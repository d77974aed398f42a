"""Alert rules (docs/together.md, "Alerts"): how they are read, and that each fires once per
crossing."""

from __future__ import annotations

import pytest

from framecast.live.alerts import Rule, RuleError, Watch, frame_figures, parse_rule


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("temperature>25", Rule("temperature>25", None, "temperature", True, 25.0)),
        ("cam1:frame.max < 1e3", Rule("cam1:frame.max < 1e3", "cam1", "frame.max", False, 1000.0)),
        ("stage.x<-0.5", Rule("stage.x<-0.5", None, "stage.x", False, -0.5)),
    ],
)
def test_a_rule_is_read_with_its_stream_key_direction_and_threshold(text: str, rule: Rule) -> None:
    """KEY>N, KEY<N and STREAM:KEY<N read as written (dots belong to the key)."""
    assert parse_rule(text) == rule


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("temperature", "is not a rule"),
        ("temperature>=25", "is not a number"),
        ("temperature>warm", "is not a number"),
        ("temperature>nan", "is not a number"),
        ("frame.median>3", "frame's figures"),
        ("-cam:t>3", "not a stream name"),
        ("", "is not a rule"),
    ],
)
def test_a_malformed_rule_is_refused_naming_it(text: str, says: str) -> None:
    """The refusal quotes the rule and says what is wrong."""
    with pytest.raises(RuleError) as info:
        parse_rule(text)
    assert repr(text) in str(info.value) and says in str(info.value)


def test_a_rule_fires_once_per_crossing_and_only_on_its_stream() -> None:
    """Rising above the threshold fires; staying above does not; falling back and rising again
    fires again; a frame without the key changes nothing; other streams are not watched."""
    watch = Watch([parse_rule("cam1:temperature>25")], kept=10)
    temps = [20, 26, 27, None, 28, 24, "hot", 30]
    fired = [
        watch.check("cam1", seq, 100.0 + seq, {} if t is None else {"temperature": t})
        for seq, t in enumerate(temps, 1)
    ]
    assert [len(f) for f in fired] == [0, 1, 0, 0, 0, 0, 0, 1]
    assert fired[1] == [
        {
            "stream": "cam1",
            "seq": 2,
            "rule": "cam1:temperature>25",
            "key": "temperature",
            "value": 26.0,
            "threshold": 25.0,
            "time": 102.0,
        }
    ]
    assert watch.check("cam2", 1, 0.0, {"temperature": 99}) == []
    assert [f["seq"] for f in watch.recent("cam1")] == [8, 2]  # newest first


def test_frame_rules_read_the_frames_figures_and_colour_frames_combine_channels() -> None:
    """frame.* keys come from the frame's statistics; a colour frame's channels combine."""
    figures = frame_figures(
        {"min": [1, 0, 5], "max": [200, 255, 9], "mean": [1.0, 2.0, 3.0], "saturated": [0, 4, 1]}
    )
    assert figures == {
        "frame.min": 0.0,
        "frame.max": 255.0,
        "frame.mean": 2.0,
        "frame.saturated": 5.0,
    }
    watch = Watch([parse_rule("frame.saturated>3")], kept=2)
    assert watch.needs_figures("any") is True
    assert watch.check("any", 1, 0.0, {"frame.saturated": 99}, None) == []  # not metadata
    assert len(watch.check("any", 2, 0.0, {}, figures)) == 1
