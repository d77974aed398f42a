"""Alert rules and their crossings (docs/together.md, "Alerts") — pure, no I/O.

A rule is ``KEY>NUMBER`` or ``KEY<NUMBER``, optionally prefixed ``STREAM:`` (else it watches
every stream). ``KEY`` is a numeric metadata key (letters, digits, ``_``, ``-`` and dots,
which are part of the name as in data.json), or one of :data:`FRAME_KEYS`: the whole frame's
statistics of docs/analysis.md (``min``, ``max``, ``mean``, ``saturated``; for a colour frame
the lowest minimum, highest maximum, the channels' mean and their saturated pixels together).

A rule fires once per crossing: on the first frame where its condition holds after a frame
where it did not (or after the start), never again while it keeps holding. A frame without
a number for the key (missing, text, not finite) says nothing: the rule keeps its state.
:class:`Watch` keeps that state per rule and stream, and the newest firings per stream.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from framecast.config.streamname import NAME_PATTERN

__all__ = ["FRAME_KEYS", "Rule", "RuleError", "Watch", "frame_figures", "parse_rule"]

#: The keys that are the whole frame's statistics rather than metadata.
FRAME_KEYS = ("frame.min", "frame.max", "frame.mean", "frame.saturated")

_RULE = re.compile(
    r"^(?:(?P<stream>[^:<>\s]+):)?(?P<key>[A-Za-z_][\w.-]*)\s*(?P<op>[<>])\s*(?P<number>\S+)$"
)
_MAX_RULE = 200


class RuleError(ValueError):
    """A rule that cannot be read; the message says why and shows the form."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert rule, as written and as read."""

    text: str
    stream: str | None
    key: str
    above: bool  # ``>``; else ``<``
    threshold: float

    @property
    def on_frame(self) -> bool:
        """True when the key is the frame's statistics (computed only for such a rule)."""
        return self.key in FRAME_KEYS

    def watches(self, stream: str) -> bool:
        return self.stream is None or self.stream == stream

    def holds(self, value: float) -> bool:
        return value > self.threshold if self.above else value < self.threshold


def parse_rule(text: str) -> Rule:
    """Read one rule, or raise :class:`RuleError` saying what is wrong with it."""
    form = "write KEY>NUMBER or KEY<NUMBER, optionally STREAM:KEY>NUMBER, e.g. temperature>25"
    if not isinstance(text, str) or not text.strip() or len(text) > _MAX_RULE:
        raise RuleError(f"alert rule {text!r} is not a rule; {form}")
    found = _RULE.match(text.strip())
    if found is None:
        raise RuleError(f"alert rule {text!r} is not a rule; {form}")
    stream, key, number = found["stream"], found["key"], found["number"]
    if stream is not None and not NAME_PATTERN.fullmatch(stream):
        raise RuleError(f"alert rule {text!r} names stream {stream!r}, which is not a stream name")
    if key.startswith("frame.") and key not in FRAME_KEYS:
        raise RuleError(
            f"alert rule {text!r}: {key!r} is not one of the frame's figures "
            f"({', '.join(FRAME_KEYS)})"
        )
    try:
        threshold = float(number)
    except ValueError:
        threshold = math.nan
    if not math.isfinite(threshold):
        raise RuleError(f"alert rule {text!r}: {number!r} is not a number; {form}")
    return Rule(text.strip(), stream, key, found["op"] == ">", threshold)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def frame_figures(stats: Mapping[str, Any]) -> dict[str, float | None]:
    """The values of :data:`FRAME_KEYS` from a whole-frame ``stats`` answer
    (:func:`framecast.science.analysis.stats`; colour frames give a list per channel)."""

    def values(name: str) -> list[float]:
        raw = stats.get(name)
        items = raw if isinstance(raw, list) else [raw]
        return [n for n in map(_number, items) if n is not None]

    lows, highs, means, saturated = (values(k) for k in ("min", "max", "mean", "saturated"))
    return {
        "frame.min": min(lows) if lows else None,
        "frame.max": max(highs) if highs else None,
        "frame.mean": sum(means) / len(means) if means else None,
        "frame.saturated": sum(saturated) if saturated else None,
    }


class Watch:
    """Every rule's state on every stream, and each stream's newest firings."""

    def __init__(self, rules: Iterable[Rule], *, kept: int) -> None:
        self.rules = tuple(rules)
        self._kept = kept
        self._holding: set[tuple[int, str]] = set()  # (rule's index, stream) now true
        self._fired: dict[str, deque[dict[str, Any]]] = {}

    def rules_for(self, stream: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.watches(stream)]

    def needs_figures(self, stream: str) -> bool:
        """True when a rule on ``stream`` needs the frame's statistics."""
        return any(rule.on_frame for rule in self.rules_for(stream))

    def check(
        self,
        stream: str,
        seq: int,
        time: float,
        metadata: Mapping[str, Any],
        figures: Mapping[str, float | None] | None = None,
    ) -> list[dict[str, Any]]:
        """The firings of one frame (each the webhook's JSON), kept as the newest."""
        fired: list[dict[str, Any]] = []
        for index, rule in enumerate(self.rules):
            if not rule.watches(stream):
                continue
            source: Mapping[str, Any] = (figures or {}) if rule.on_frame else metadata
            value = _number(source.get(rule.key))
            if value is None:
                continue
            state = (index, stream)
            if not rule.holds(value):
                self._holding.discard(state)
                continue
            if state in self._holding:
                continue
            self._holding.add(state)
            fired.append(
                {
                    "stream": stream,
                    "seq": seq,
                    "rule": rule.text,
                    "key": rule.key,
                    "value": value,
                    "threshold": rule.threshold,
                    "time": round(time, 6),
                }
            )
        for firing in fired:
            self.record(firing)
        return fired

    def record(self, firing: dict[str, Any]) -> None:
        """Keep ``firing`` as its stream's newest (this node's, or another node's)."""
        stream = str(firing["stream"])
        self._fired.setdefault(stream, deque(maxlen=self._kept)).append(firing)

    def recent(self, stream: str) -> list[dict[str, Any]]:
        """The stream's kept firings, newest first."""
        return list(reversed(self._fired.get(stream, ())))
