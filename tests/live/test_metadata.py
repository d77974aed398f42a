"""Metadata limits at the door: depth counted without recursion, size measured before parsing."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from framecast import Client, ImageServer
from framecast.errors import MetadataError
from framecast.live.metadata import check_text_depth, check_text_size, check_value, text_depth
from tests.conftest import LOCAL


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


class _Plain:
    """An object with no text of its own (neither __str__ nor __repr__)."""


@pytest.mark.parametrize(
    ("metadata", "where"),
    [
        ({"gain": object()}, "metadata['gain'] is a object"),
        ({"a": {"b": [1, _Plain()]}}, "metadata['a']['b'][1] is a _Plain"),
    ],
)
def test_a_value_without_text_is_refused_naming_its_key(
    metadata: dict[str, Any], where: str
) -> None:
    """A value JSON could carry only as '<… object at 0x…>' is refused, naming its key."""
    with pytest.raises(MetadataError, match=re.escape(where) + ", which has no JSON form"):
        check_value(metadata, max_depth=32, max_bytes=10_000)


def test_values_with_their_own_text_pass() -> None:
    """Paths, dates, decimals, enums, dataclasses and numpy values keep being sent as text."""

    @dataclasses.dataclass
    class Point:
        x: int

    check_value(
        {
            "file": Path("/data/m31.fits"),
            "when": datetime.datetime(2026, 3, 21, 22, 15),
            "price": decimal.Decimal("1.5"),
            "mode": enum.Enum("Mode", "FAST")["FAST"],
            "point": Point(1),
            "pixel": np.uint16(7),
        },
        max_depth=32,
        max_bytes=10_000,
    )


async def test_publish_and_client_refuse_metadata_without_text(work: Path) -> None:
    """ImageServer.publish and Client.publish raise MetadataError for object() metadata before
    anything is published or sent."""
    async with ImageServer(work_folder=work, port=0, displayed_address=LOCAL) as server:
        with pytest.raises(MetadataError, match=r"metadata\['gain'\] is a object"):
            server.publish(np.zeros((4, 4), np.uint8), metadata={"gain": object()})
        with pytest.raises(MetadataError, match=r"metadata\['gain'\] is a object"):
            await Client(f"http://127.0.0.1:{server.port}").apublish(
                np.zeros((4, 4), np.uint8), metadata={"gain": object()}
            )
        assert server.status()["frames_submitted"] == 0
        assert server.status()["frames_ingested"] == 0
