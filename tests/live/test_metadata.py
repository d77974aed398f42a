"""Metadata limits at the door: depth counted without recursion, size measured before parsing."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from framecast.errors import MetadataError
from framecast.live.metadata import check_text_depth, check_text_size, check_value, text_depth


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('{"a": 1}', 1),
        ('{"a": {"b": [1, [2]]}}', 4),
        ('{"a": "[[[[{{{{"}', 1),
        (r'{"a": "\"[[[", "b": [1]}', 2),
        ('{"a": [1], "b": [2], "c": {"d": []}}', 3),
        ("42", 0),
        ('{"open": "[[[', 1),
    ],
)
def test_text_depth_counts_brackets_outside_strings(text: str, depth: int) -> None:
    """Only brackets outside JSON strings (escaped quotes included) count as nesting."""
    assert text_depth(text) == depth


def test_depth_far_beyond_the_parser_recursion_is_refused_by_the_scan() -> None:
    """100 000 levels (json.loads would hit RecursionError) are refused as too deep."""
    text = '{"a": ' * 100_000 + "1" + "}" * 100_000
    with pytest.raises(MetadataError, match=r"max_metadata_depth \(32 levels\)"):
        check_text_depth(text, 32)
    check_text_depth('{"a": ' * 32 + "1" + "}" * 32, 32)


def test_scan_is_linear_on_hostile_strings() -> None:
    """Unterminated strings full of escaped quotes are scanned in linear time."""
    hostile = '"' + '\\"' * 300_000
    started = time.perf_counter()
    assert text_depth(hostile) == 0
    assert text_depth('["' + '\\"[' * 200_000) == 1
    assert time.perf_counter() - started < 2.0


def test_text_size_counts_utf8_bytes() -> None:
    """Size is UTF-8 bytes: 60 two-byte characters are 120 bytes, over a 100-byte limit."""
    check_text_size('{"k": "' + "a" * 80 + '"}', 100)
    with pytest.raises(MetadataError, match=r"max_metadata_bytes \(100\)"):
        check_text_size('{"k": "' + "é" * 60 + '"}', 100)


def test_value_depth_and_size() -> None:
    """A value nested past the limit, one that contains itself, and one too large are refused;
    a normal one (numpy values included) passes."""
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(40):
        node["k"] = {}
        node = node["k"]
    with pytest.raises(MetadataError, match="max_metadata_depth"):
        check_value(deep, max_depth=32, max_bytes=10_000)
    looped: dict[str, Any] = {"list": []}
    looped["list"].append(looped)
    with pytest.raises(MetadataError, match="max_metadata_depth"):
        check_value(looped, max_depth=32, max_bytes=10_000)
    with pytest.raises(MetadataError, match="max_metadata_bytes"):
        check_value({"array": np.zeros(10_000)}, max_depth=32, max_bytes=10_000)
    check_value({"EXPO": np.float32(1.5), "list": [1, (2, 3)]}, max_depth=3, max_bytes=100)
