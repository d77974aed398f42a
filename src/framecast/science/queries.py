"""The questions one may ask about a frame, declared once (docs/science.md,
docs/analysis.md, docs/tiles.md). Pure.

A question about one frame — a raw file or tile, a number behind the picture, a deep-zoom
tile — is asked over HTTP, of another node through the broker (for a frame that node
published), and by :class:`framecast.Client`. Each is declared here once, as a
:class:`Question`: its name (what the broker carries), its URL under a stream's prefix
(:attr:`Question.path`: ``{seq}`` and the other ``{names}`` in it are read from the path,
every other parameter from the query), its parameters with their type and bounds, what it
needs of the frame (its raw data or its deep-zoom pyramid) and, for the analysis questions,
the function that computes the answer from the raw array. Everything that lists questions
reads :data:`QUESTIONS`: the web routes, the broker's codec (the routes and parameters a
request may carry), the node that answers, and the client.

Parameters arrive as text and are parsed strictly (:meth:`Question.parse`): a missing or
malformed one, or one out of its bounds, raises :class:`QuestionError` (a 400) whose one line
starts with the parameter's name. Checks that need the frame (a point inside it, a level of
its pyramid) come after, with the frame.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from framecast.errors import FramecastError
from framecast.science import analysis, histogram, star
from framecast.science import levels as display_levels
from framecast.science.regions import MOST_POLYGON_CORNERS, Shape
from framecast.science.sky import Sky

__all__ = [
    "JPEG_TILE",
    "QUESTIONS",
    "Facts",
    "Parameter",
    "Question",
    "QuestionError",
    "Work",
]

#: The deep-zoom JPEG tile (docs/tiles.md), asked of the node that publishes its frame.
JPEG_TILE = "jpeg-tile"

#: What a parameter holds: a count (digits only), a whole number (maybe negative), a
#: decimal, or decimals separated by commas (at most ``high`` of them).
Kind = Literal["count", "integer", "number", "numbers"]
_DECIMAL = r"-?[0-9]{1,10}(\.[0-9]{1,12})?"
_PATTERNS: Mapping[Kind, re.Pattern[str]] = {
    "count": re.compile(r"[0-9]{1,10}"),
    "integer": re.compile(r"-?[0-9]{1,10}"),
    "number": re.compile(_DECIMAL),
    "numbers": re.compile(rf"{_DECIMAL}(,{_DECIMAL})*"),
}
_PATH_NAME = re.compile(r"\{([a-z][a-z0-9]*)\}")

Array = np.ndarray[Any, Any]
Args = Mapping[str, Any]


class QuestionError(FramecastError, ValueError):
    """A parameter missing, malformed or out of bounds: a 400 whose one line names it."""


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter of a question: its ``name``, ``kind``, the words a refusal uses for it
    (``what``), and optional bounds ``low``/``high`` (inclusive)."""

    name: str
    kind: Kind
    what: str = "in image pixels"
    low: int | None = None
    high: int | None = None

    def parse(self, text: str | None) -> int | float | tuple[float, ...]:
        """``text`` as this parameter's value, or :class:`QuestionError` saying why not."""
        name = self.name
        if text is None:
            raise QuestionError(f"{name} is missing: add ?{name}=<value>")
        if self.kind == "numbers":
            return self._numbers(text)
        if not _PATTERNS[self.kind].fullmatch(text):
            shown = f"{name}={text[:40]!r}"
            if self.kind == "count":
                raise QuestionError(f"{shown} is not a {self.what}")
            if self.kind == "integer":
                raise QuestionError(f"{shown} is not a whole number: give {name} {self.what}")
            raise QuestionError(
                f"{shown} is not a number: give {name} {self.what} (e.g. 12 or 12.5)"
            )
        value: int | float = float(text) if self.kind == "number" else int(text)
        low = self.low if self.low is not None else value
        high = self.high if self.high is not None else value
        if not low <= value <= high:
            raise QuestionError(f"{name}={value} is out of range: use {low} to {high}")
        return value

    def _numbers(self, text: str) -> tuple[float, ...]:
        """Comma-separated decimals, at most :attr:`high` of them (counted before parsing)."""
        most = self.high or 1
        if text.count(",") >= most:
            raise QuestionError(
                f"{self.name} has more than {most} numbers: give {self.name} {self.what}"
            )
        if not _PATTERNS["numbers"].fullmatch(text):
            raise QuestionError(
                f"{self.name}={text[:40]!r} is not a list of numbers: give {self.name} {self.what}"
            )
        return tuple(float(part) for part in text.split(","))


@dataclass(frozen=True, slots=True)
class Facts:
    """What an analysis answer needs to know of its frame besides the array: its
    ``shape``, its ``saturation`` level, the server's ``max_profile_points``,
    ``max_star_radius`` and ``max_polygon_corners``, and its celestial WCS (``sky``) when it
    has one."""

    shape: tuple[int, ...]
    saturation: float | int | None
    max_profile_points: int
    max_star_radius: int = 50
    sky: Sky | None = None
    max_polygon_corners: int = 100


#: How an analysis question is answered: from its parsed arguments and the frame's facts
#: (checked there, before any work: :class:`~framecast.science.analysis.AnalysisError`),
#: the values that tell this answer from others about the same frame, and the function
#: that computes it from the raw array (blocking: run it in a worker).
Work = tuple[tuple[Hashable, ...], Callable[[Array], dict[str, Any]]]
Analysis = Callable[[Args, Facts], Work]


@dataclass(frozen=True, slots=True)
class Question:
    """One question about a frame (see the module's docstring)."""

    name: str
    #: The URL under a stream's prefix ("" or ``/s/<name>``), with ``{names}`` in the path.
    path: str
    #: What it needs of the frame: its raw data, or its deep-zoom pyramid.
    needs: Literal["raw", "pyramid"]
    params: tuple[Parameter, ...] = ()
    #: Parameters that may be left out (their value is then ``None``).
    optional: frozenset[str] = frozenset()
    #: Parameters given all together or none (a region's x, y, w and h).
    together: tuple[str, ...] = ()
    #: Computes an analysis answer (``None``: the web layer answers it from the frame).
    analysis: Analysis | None = None
    #: Quick enough to answer on the event loop when the array is in memory.
    quick: bool = False
    #: Names in the path (``seq`` included when the frame is named there).
    in_path: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "in_path", tuple(_PATH_NAME.findall(self.path)))

    @property
    def names(self) -> tuple[str, ...]:
        """Every parameter the question takes as text, ``seq`` first when it is one of the
        query (then the answer is about that frame for good, else about the latest)."""
        own = tuple(p.name for p in self.params)
        return own if "seq" in self.in_path else ("seq", *own)

    def given(self, path: Mapping[str, str], query: Mapping[str, str]) -> dict[str, str]:
        """The parameters' text in a request: from its ``path`` match for the names in
        :attr:`path`, from its ``query`` for the others (what it does not take is left)."""
        found = {}
        for name in self.names:
            source = path if name in self.in_path else query
            if name in source:
                found[name] = source[name]
        return found

    def parse(self, given: Mapping[str, str]) -> dict[str, Any]:
        """Each parameter's value (``None`` for one left out), or :class:`QuestionError`
        naming the first one at fault."""
        grouped = any(name in given for name in self.together)
        values: dict[str, Any] = {}
        for parameter in self.params:
            text = given.get(parameter.name)
            left_out = parameter.name in self.together and not grouped
            if text is None and (left_out or parameter.name in self.optional):
                values[parameter.name] = None
            else:
                values[parameter.name] = parameter.parse(text)
        return values

    def url(self, **values: object) -> str:
        """The question's URL for these path values, relative to a stream's prefix."""
        return self.path.format(**values).lstrip("/")


# -- the analysis questions (docs/analysis.md) -------------------------------------------------
def _pixel(args: Args, facts: Facts) -> Work:
    x, y, r = args["x"], args["y"], args["r"]
    analysis.check_point(facts.shape, x, y, ("x", "y"))
    sky, height = facts.sky, facts.shape[0]

    def compute(array: Array) -> dict[str, Any]:
        answer = {"x": x, "y": y, "value": analysis.pixel(array, x, y)}
        if r is not None:  # the pixels around it too (the viewer's pixel table and loupe)
            answer["around"] = analysis.around(array, x, y, r)
        world = sky.world(x, y, height) if sky is not None else None
        if world is not None:  # a celestial WCS, and astropy to read it (docs/science.md)
            answer["world"] = {"ra": world[0], "dec": world[1]}
        return answer

    return (x, y, r), compute


def _levels(args: Args, facts: Facts) -> Work:
    return (), display_levels.levels


def _stats(args: Args, facts: Facts) -> Work:
    x, y, w, h = (args[name] for name in ("x", "y", "w", "h"))
    polygon, most = args["polygon"], facts.max_polygon_corners
    if polygon is not None and len(polygon) > 2 * most:
        raise analysis.AnalysisError(
            "polygon",
            f"polygon: {len(polygon) // 2} corners, more than max_polygon_corners ({most});"
            " draw it with fewer corners",
        )
    shapes = [Shape(kind, args[kind]) for kind in ("circle", "polygon") if args[kind] is not None]
    if len(shapes) + (x is not None) > 1:
        name = "polygon" if args["polygon"] is not None else "circle"
        raise analysis.AnalysisError(
            name, f"{name}: give one region: x, y, w, h, or circle, or polygon"
        )
    level = facts.saturation
    if shapes:
        shape = shapes[0]
        bounds = shape.bounds(facts.shape)

        def compute(array: Array) -> dict[str, Any]:
            figures = analysis.stats(array, bounds, saturation=level, inside=shape.inside)
            return {shape.kind: list(shape.numbers), **figures}

        return (shape.kind, shape.numbers), compute
    if x is None:  # none given: the whole frame
        x, y, w, h = 0, 0, facts.shape[1], facts.shape[0]
    else:
        analysis.check_region(facts.shape, x, y, w, h)
    region = (x, y, w, h)
    return region, lambda array: analysis.stats(array, region, saturation=level)


def _star(args: Args, facts: Facts) -> Work:
    x, y = args["x"], args["y"]
    r = star.DEFAULT_RADIUS if args["r"] is None else args["r"]
    analysis.check_point(facts.shape, x, y, ("x", "y"))
    if r > facts.max_star_radius:
        raise analysis.AnalysisError(
            "r",
            f"r={r} is more than max_star_radius ({facts.max_star_radius}): give a smaller r "
            "around the star",
        )
    brightest = bool(args["brightest"])
    return (x, y, r, brightest), lambda array: star.measure(array, x, y, r, brightest=brightest)


def _profile(args: Args, facts: Facts) -> Work:
    x0, y0, x1, y1 = (args[name] for name in ("x0", "y0", "x1", "y1"))
    limit = facts.max_profile_points
    analysis.check_profile(facts.shape, x0, y0, x1, y1, max_points=limit)

    def compute(array: Array) -> dict[str, Any]:
        return {"values": analysis.profile(array, x0, y0, x1, y1, max_points=limit)}

    return (x0, y0, x1, y1), compute


def _histogram(args: Args, facts: Facts) -> Work:
    bins = 256 if args["bins"] is None else args["bins"]
    return (bins,), lambda array: histogram.histogram(array, bins)


def _integers(*names: str) -> tuple[Parameter, ...]:
    return tuple(Parameter(name, "integer") for name in names)


def _counts(what: str, *names: str) -> tuple[Parameter, ...]:
    return tuple(Parameter(name, "count", what or f"tile {name}") for name in names)


_RECT = ("x", "y", "w", "h")
_TILE = ("level", "col", "row")

#: Every question about a frame, by name.
QUESTIONS: Mapping[str, Question] = {
    question.name: question
    for question in (
        # raw data (docs/science.md): whole-frame files, the raw pyramid and its tiles
        Question(
            "npy",
            "/raw/{seq}.npy",
            "raw",
            (*_counts("pyramid level", "level"), *_counts("pixel count", *_RECT)),
            optional=frozenset({"level"}),
            together=_RECT,
        ),
        Question("fits", "/raw/{seq}.fits", "raw"),
        Question("dzi", "/raw/{seq}.dzi", "raw"),
        Question("tile", "/raw/{seq}_files/{level}/{col}_{row}.npy", "raw", _counts("", *_TILE)),
        # the numbers behind the picture (docs/analysis.md)
        Question(
            "pixel",
            "/api/pixel",
            "raw",
            (
                *_integers("x", "y"),
                Parameter("r", "integer", "as a count from 0 to 8", 0, analysis.MAX_RADIUS),
            ),
            optional=frozenset({"r"}),
            analysis=_pixel,
            quick=True,
        ),
        Question(
            "stats",
            "/api/stats",
            "raw",
            (
                *_integers(*_RECT),
                Parameter("circle", "numbers", "as cx,cy,r in image pixels", 3, 3),
                Parameter(
                    "polygon",
                    "numbers",
                    "as x1,y1,x2,y2,… in image pixels (3 corners or more)",
                    6,
                    2 * MOST_POLYGON_CORNERS,
                ),
            ),
            optional=frozenset({"circle", "polygon"}),
            together=_RECT,
            analysis=_stats,
        ),
        Question(
            "star",
            "/api/star",
            "raw",
            (
                Parameter("x", "number"),
                Parameter("y", "number"),
                Parameter("r", "integer", "in image pixels from 1", 1),
                Parameter("brightest", "count", "1 (the brightest star) or 0 (the nearest)", 0, 1),
            ),
            optional=frozenset({"r", "brightest"}),
            analysis=_star,
        ),
        Question(
            "profile",
            "/api/profile",
            "raw",
            tuple(Parameter(name, "number") for name in ("x0", "y0", "x1", "y1")),
            analysis=_profile,
        ),
        Question(
            "histogram",
            "/api/histogram",
            "raw",
            (Parameter("bins", "integer", "as a count from 1 to 4096", 1, histogram.MAX_BINS),),
            optional=frozenset({"bins"}),
            analysis=_histogram,
        ),
        Question("levels", "/api/levels", "raw", analysis=_levels),
        # a deep-zoom tile of the frame's display image (docs/tiles.md)
        Question(
            JPEG_TILE, "/tiles/{seq}_files/{level}/{col}_{row}.jpg", "pyramid", _counts("", *_TILE)
        ),
    )
}
