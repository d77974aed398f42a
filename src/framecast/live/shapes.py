"""The shapes framecast draws over an image: the overlays a producer sends with a frame and
the marks viewers share (docs/together.md). Pure: values in, checked values or one
:class:`~framecast.errors.ShapeError` out.

A shape is a JSON object in the frame's full-resolution image pixels (``x`` across, ``y``
down, from the top-left corner)::

    {"shape": "circle",    "x": X, "y": Y, "r": R}
    {"shape": "rectangle", "x": X, "y": Y, "w": W, "h": H}     (x, y): the top-left corner
    {"shape": "line",      "points": [[X, Y], [X, Y], ...]}     2 points or more
    {"shape": "polygon",   "points": [[X, Y], [X, Y], ...]}     3 points or more
    {"shape": "point",     "x": X, "y": Y}
    {"shape": "text",      "x": X, "y": Y, "text": "..."}

each with an optional ``text`` (at most :data:`MAX_TEXT` characters) and ``colour``
(``#rgb``, ``#rrggbb`` or one of :data:`COLOUR_NAMES`). Numbers are finite and within
:data:`MAX_COORDINATE` of the origin; sizes (``r``, ``w``, ``h``) are 0 or more.

Every limit is checked before the work it bounds: the bytes of a text before it is parsed,
its nesting before the parser sees it, the count of shapes before they are read and the
count of a shape's points before they are. A refusal names the shape and its field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from framecast.errors import ShapeError, spell
from framecast.live.metadata import text_depth

if TYPE_CHECKING:
    from framecast.config.settings import Settings

__all__ = [
    "COLOUR_NAMES",
    "FIELDS",
    "MAX_COORDINATE",
    "MAX_TEXT",
    "SHAPES",
    "ShapeLimits",
    "check_overlays",
    "check_shape",
    "parse_json",
    "parse_overlays",
]

#: The longest ``text`` of a shape, in characters.
MAX_TEXT = 200
#: No coordinate or size is further than this from 0 (no image is that large).
MAX_COORDINATE = 1e9
#: The colour names a shape may use besides ``#rgb`` and ``#rrggbb``.
COLOUR_NAMES = ("red", "green", "blue", "yellow", "cyan", "magenta", "orange", "white", "black")
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
#: Each shape's own fields (besides ``shape``, ``text`` and ``colour``).
FIELDS: dict[str, tuple[str, ...]] = {
    "circle": ("x", "y", "r"),
    "rectangle": ("x", "y", "w", "h"),
    "line": ("points",),
    "polygon": ("points",),
    "point": ("x", "y"),
    "text": ("x", "y"),
}
SHAPES = tuple(FIELDS)
_SIZES = frozenset({"r", "w", "h"})
_LEAST_POINTS = {"line": 2, "polygon": 3}
_COMMON = ("text", "colour")
#: Nesting of a list of shapes: the list, a shape, its points, a point.
_DEPTH = 4


@dataclass(frozen=True, slots=True)
class ShapeLimits:
    """What one frame's overlays (and, but for its bytes, one mark) may hold (the server's
    settings)."""

    #: Shapes in one frame's overlays (``max_overlays``).
    max_shapes: int = 1000
    #: Points of one line or polygon (``max_shape_points``).
    max_points: int = 1000
    #: Bytes of the JSON text of one frame's overlays (``max_overlay_bytes``; a mark's
    #: are ``max_mark_bytes``, :class:`~framecast.live.markbook.MarkBook`'s).
    max_bytes: int = 256 * 1024

    @classmethod
    def of(cls, settings: Settings) -> ShapeLimits:
        """The limits a server's settings set."""
        return cls(settings.max_overlays, settings.max_shape_points, settings.max_overlay_bytes)


def _number(value: object, where: str, name: str, *, size: bool) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShapeError(f"{where}: {name} is not a number ({_shown(value)}); give image pixels")
    if not math.isfinite(value) or abs(value) > MAX_COORDINATE:
        raise ShapeError(f"{where}: {name} is {value:g}; give a finite number of image pixels")
    if size and value < 0:
        raise ShapeError(f"{where}: {name} is {value:g}; a size is 0 or more")
    return value


def _shown(value: object) -> str:
    text = json.dumps(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _points(value: object, where: str, kind: str, max_points: int) -> list[list[int | float]]:
    least = _LEAST_POINTS[kind]
    if not isinstance(value, list | tuple):
        raise ShapeError(f"{where}: points is not a list of [x, y] pairs ({_shown(value)})")
    if len(value) > max_points:
        raise ShapeError(
            f"{where}: {len(value)} points, more than max_shape_points ({max_points}); "
            f"simplify it or raise {spell('max_shape_points')}"
        )
    if len(value) < least:
        raise ShapeError(f"{where}: a {kind} needs {least} points or more, not {len(value)}")
    points = []
    for i, pair in enumerate(value):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ShapeError(f"{where}: points[{i}] is not an [x, y] pair ({_shown(pair)})")
        points.append([_number(c, where, f"points[{i}]", size=False) for c in pair])
    return points


def check_shape(
    value: object, *, max_points: int, where: str = "shape", extra: Iterable[str] = ()
) -> dict[str, Any]:
    """``value`` as a checked shape (a new dict: ``shape``, its fields, then ``text`` and
    ``colour`` when given), or :class:`ShapeError` naming ``where`` and the bad field.
    ``extra``: other field names the caller reads itself (they are left out of the result)."""
    if not isinstance(value, Mapping):
        raise ShapeError(f'{where} is not a JSON object like {{"shape": "point", ...}}')
    kind = value.get("shape")
    if not isinstance(kind, str) or kind not in FIELDS:
        known = ", ".join(SHAPES)
        shown = "missing" if kind is None else _shown(kind)
        raise ShapeError(f"{where}: shape is {shown}; use one of {known}")
    where = f"{where} ({kind})"
    fields = FIELDS[kind]
    allowed = {"shape", *fields, *_COMMON, *extra}
    for name in value:
        if name not in allowed:
            takes = ", ".join((*fields, *_COMMON))
            raise ShapeError(f"{where}: unknown field {_shown(name)}; a {kind} takes {takes}")
    shape: dict[str, Any] = {"shape": kind}
    for name in fields:
        if name not in value:
            raise ShapeError(f"{where}: {name} is missing")
        if name == "points":
            shape[name] = _points(value[name], where, kind, max_points)
        else:
            shape[name] = _number(value[name], where, name, size=name in _SIZES)
    text = value.get("text")
    if text is None and kind == "text":
        raise ShapeError(f"{where}: text is missing")
    if text is not None:
        if not isinstance(text, str) or (kind == "text" and not text):
            raise ShapeError(f"{where}: text is {_shown(text)}; give a string")
        if len(text) > MAX_TEXT:
            raise ShapeError(
                f"{where}: text is {len(text)} characters, more than {MAX_TEXT}; shorten it"
            )
        shape["text"] = text
    colour = value.get("colour")
    if colour is not None:
        if not isinstance(colour, str) or not (_HEX.fullmatch(colour) or colour in COLOUR_NAMES):
            raise ShapeError(
                f"{where}: colour is {_shown(colour)}; give #rgb, #rrggbb or one of "
                + ", ".join(COLOUR_NAMES)
            )
        shape["colour"] = colour
    return shape


def check_overlays(value: object, limits: ShapeLimits) -> tuple[dict[str, Any], ...]:
    """One frame's overlays (a list of shapes) checked, or :class:`ShapeError`: the count
    before the shapes are read, each shape, then the size of the whole as JSON."""
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ShapeError(f"overlays must be a list of shapes, not a {type(value).__name__}")
    if len(value) > limits.max_shapes:
        raise ShapeError(
            f"{len(value)} overlays, more than max_overlays ({limits.max_shapes}); "
            f"send fewer or raise {spell('max_overlays')}"
        )
    shapes = tuple(
        check_shape(item, max_points=limits.max_points, where=f"overlay {i}")
        for i, item in enumerate(value)
    )
    size = len(json.dumps(shapes, separators=(",", ":")))
    if size > limits.max_bytes:
        raise ShapeError(_too_many_bytes("overlays", size, limits.max_bytes))
    return shapes


def _too_many_bytes(what: str, size: int, limit: int) -> str:
    return (
        f"the {what} are {size} bytes of JSON, more than max_overlay_bytes ({limit}); "
        f"send less or raise {spell('max_overlay_bytes')}"
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON can carry")


def parse_json(text: str | bytes, what: str, *, max_bytes: int, depth: int = _DEPTH) -> Any:
    """The JSON value of ``text`` (overlays, a mark), refused as :class:`ShapeError` when it
    is over ``max_bytes`` or nests deeper than ``depth`` (both checked before parsing), or is
    not JSON."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ShapeError(_too_many_bytes(what, size, max_bytes))
    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError:
        raise ShapeError(f"the {what} are not UTF-8 text") from None
    if text_depth(decoded, stop_above=depth) > depth:
        raise ShapeError(f"the {what} nest deeper than a list of shapes with points")
    try:
        return json.loads(decoded, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "not JSON"
        raise ShapeError(f"the {what} are not valid JSON ({detail})") from None


def parse_overlays(text: str | bytes, limits: ShapeLimits) -> tuple[dict[str, Any], ...]:
    """One frame's overlays from JSON text (ingest's ``?overlays=``), checked."""
    return check_overlays(parse_json(text, "overlays", max_bytes=limits.max_bytes), limits)
