"""Limits on the metadata that comes with an image: nesting depth and size. Pure.

Metadata arrives as JSON text (``POST /api/frames``: a header or ``?metadata=``) or as
Python values (``ImageServer.publish(metadata=...)``). Both are checked before any work
that the input could make expensive:

- text is measured, and its brackets are counted by one linear scan, *before* it is parsed,
  so a deep nesting never reaches the recursive JSON parser;
- values are walked with an explicit stack (no recursion), which also stops a structure
  that contains itself; on the way, a value with no text of its own (``object()``, an
  instance of a class without ``__str__`` or ``__repr__``), which JSON would only carry as
  ``<… object at 0x…>``, is refused naming its key.

Each check raises :class:`~framecast.errors.MetadataError` with one line naming the limit
or the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from framecast.errors import MetadataError, spell
from framecast.live.frames import jsonable

__all__ = ["check_text_depth", "check_text_size", "check_value", "text_depth"]

# A JSON string (also one left open at the end of the text) or one bracket. The possessive
# quantifiers make the scan linear: a string is consumed once and never re-tried.
_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)|[\[\]{}]')
_OPENING = frozenset("[{")
_CLOSING = frozenset("]}")


def _too_deep(limit: int) -> MetadataError:
    return MetadataError(
        f"metadata nests deeper than max_metadata_depth ({limit} levels); "
        f"flatten it or raise {spell('max_metadata_depth')}"
    )


def text_depth(text: str, stop_above: int | None = None) -> int:
    """The deepest nesting of ``[`` and ``{`` in the JSON ``text`` (brackets inside strings
    do not count); the scan stops early once ``stop_above`` is exceeded."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in _OPENING:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        elif token in _CLOSING:
            depth = max(depth - 1, 0)
    return deepest


def check_text_size(text: str, max_bytes: int) -> None:
    """Refuse JSON ``text`` over ``max_bytes`` (UTF-8 bytes)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise MetadataError(
            f"metadata is {size} bytes, more than max_metadata_bytes ({max_bytes}); "
            f"send less or raise {spell('max_metadata_bytes')}"
        )


def check_text_depth(text: str, max_depth: int) -> None:
    """Refuse JSON ``text`` whose lists and objects nest deeper than ``max_depth``."""
    if text_depth(text, stop_above=max_depth) > max_depth:
        raise _too_deep(max_depth)


def _textless(value: Any) -> bool:
    """True for a value whose only text is Python's default ``<X object at 0x…>``."""
    kind: Any = type(value)
    return kind.__str__ is object.__str__ and kind.__repr__ is object.__repr__


def _where(path: tuple[Any, ...]) -> str:
    return "metadata" + "".join(f"[{step!r}]" for step in path)


def check_value(metadata: Mapping[str, Any], *, max_depth: int, max_bytes: int | None) -> None:
    """Refuse a metadata mapping nested deeper than ``max_depth`` (the mapping itself is
    level 1), larger than ``max_bytes`` once written as JSON (``None``: no such limit), or
    holding a value that has no text of its own (named by its key: ``metadata['gain']``)."""
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(metadata, 1, ())]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.items()
        elif isinstance(value, list | tuple):
            children = enumerate(value)
        else:
            if _textless(value):
                raise MetadataError(
                    f"{_where(path)} is a {type(value).__qualname__}, which has no JSON form "
                    "(it would show as '<… object at 0x…>'); give a number, text, a list or a "
                    "dict (str() it to send a text)"
                )
            continue
        if depth > max_depth:
            raise _too_deep(max_depth)
        stack.extend((child, depth + 1, (*path, key)) for key, child in children)
    if max_bytes is not None:
        # Depth is bounded now, so the (recursive) conversion and serialisation are safe.
        check_text_size(json.dumps(jsonable(metadata), allow_nan=False), max_bytes)
