"""The numbers of a frame's raw data (docs/science.md): pixel, stats, profile. Pure.

Every function takes the raw array as published (mono H×W or colour H×W×C, any integer or
float dtype) and returns plain Python values ready for JSON: integers stay ``int`` (the sum
of integer data is exact), NaN becomes ``None`` and ±inf ``"inf"``/``"-inf"`` in pixel
values. The definitions are numpy's: population standard deviation over the finite values
only (``nonfinite`` counts the others); the histogram is :mod:`framecast.science.histogram`'s,
read band by band the same way. Colour frames give a list per channel for every figure but
``roi`` and ``centroid``, which is taken on the sum of the channels.

Memory: a whole-frame figure is computed in bands of rows of about :data:`BAND_PIXELS`
pixels, so one question about a 60-megapixel frame needs a few bands of ``float64`` at a
time, never a ``float64`` copy of the frame. Standard deviations combine the bands' sums of
squared deviations with Chan's parallel formula (numerically sound, one pass). Nothing
calls BLAS, whose own threads would take the machine's other cores from the event loop.

A question that does not fit the frame (a point outside it, a region too large, a line with
too many points, a bin count out of range) raises :class:`AnalysisError`, which names the
parameter at fault.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from framecast.runtime.priority import pause

__all__ = [
    "BAND_PIXELS",
    "MAX_RADIUS",
    "AnalysisError",
    "Array",
    "around",
    "channels_of",
    "check_point",
    "check_profile",
    "check_region",
    "jsonable",
    "pixel",
    "plane",
    "profile",
    "profile_length",
    "row_bands",
    "saturation_level",
    "stats",
]

#: Pixels per band of rows: small enough that a band's float64 temporaries stay a few MB,
#: large enough that numpy's per-call overhead is negligible.
BAND_PIXELS = 1 << 20
#: The largest ``r`` of ``/api/pixel``: the pixels around one, a 17 × 17 table at most.
MAX_RADIUS = 8

Array = np.ndarray[Any, Any]


class AnalysisError(ValueError):
    """A question that does not fit the frame; :attr:`parameter` names the culprit."""

    #: The HTTP status of the refusal: the question does not fit (400) unless said otherwise.
    status = 400

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


# -- JSON values -------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """A raw value (numpy scalar or a pixel's channels) as JSON: ints as ``int``, finite
    floats as ``float``, NaN as ``None``, ±inf as ``"inf"``/``"-inf"``; arrays as lists."""
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.integer | np.bool_ | int):
        return int(value)
    number = float(value)
    if math.isnan(number):
        return None
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return number


def channels_of(array: Array) -> int:
    """How many channels ``array`` has: 1 for mono, C for H×W×C."""
    return int(array.shape[2]) if array.ndim == 3 else 1


def plane(array: Array, channel: int) -> Array:
    """Channel ``channel`` of ``array`` (mono: the array itself)."""
    return array[:, :, channel] if array.ndim == 3 else array


# -- checks ------------------------------------------------------------------------------------
def check_point(shape: tuple[int, ...], x: float, y: float, names: tuple[str, str]) -> None:
    """Raise :class:`AnalysisError` unless (x, y) lies on a pixel of a frame of ``shape``."""
    height, width = shape[0], shape[1]
    for name, value, size in ((names[0], x, width), (names[1], y, height)):
        if not 0 <= value <= size - 1:
            raise AnalysisError(
                name,
                f"{name}={value:g} is outside the frame: use 0 to {size - 1} ({width}×{height})",
            )


def check_region(shape: tuple[int, ...], x: int, y: int, w: int, h: int) -> None:
    """Raise :class:`AnalysisError` unless the region lies inside a frame of ``shape``."""
    height, width = shape[0], shape[1]
    check_point(shape, x, y, ("x", "y"))
    for name, start, length, size in (("w", x, w, width), ("h", y, h, height)):
        if length < 1 or start + length > size:
            raise AnalysisError(
                name,
                f"{name}={length} does not fit the frame: use 1 to {size - start} "
                f"({width}×{height}, region starting at x={x}, y={y})",
            )


def saturation_level(dtype: np.dtype[Any], metadata: Mapping[str, Any]) -> float | int | None:
    """The level at or above which a pixel is saturated: the publisher's ``saturation``
    metadata (a number) when given, else the integer dtype's maximum, else ``None``."""
    given = metadata.get("saturation")
    if isinstance(given, int | float) and not isinstance(given, bool) and math.isfinite(given):
        return given
    if np.issubdtype(dtype, np.integer):
        return int(np.iinfo(dtype).max)
    return None


# -- pixel and profile -------------------------------------------------------------------------
def pixel(array: Array, x: int, y: int) -> Any:
    """The raw value at column ``x``, row ``y``: a number, or a list per channel."""
    check_point(array.shape, x, y, ("x", "y"))
    return jsonable(array[y, x])


def around(array: Array, x: int, y: int, r: int) -> dict[str, Any]:
    """The raw values of the pixels within ``r`` of (x, y) (a square of 2r + 1, cut at the
    frame's edges): ``{"x", "y"}`` its top-left pixel and ``"values"``, its rows."""
    check_point(array.shape, x, y, ("x", "y"))
    x0, y0 = max(0, x - r), max(0, y - r)
    block = array[y0 : y + r + 1, x0 : x + r + 1]
    return {"x": x0, "y": y0, "values": [[jsonable(v) for v in row] for row in block]}


def profile_length(x0: float, y0: float, x1: float, y1: float) -> int:
    """The number of points of the profile from (x0, y0) to (x1, y1): ``round(length) + 1``."""
    return round(math.hypot(x1 - x0, y1 - y0)) + 1


def check_profile(
    shape: tuple[int, ...], x0: float, y0: float, x1: float, y1: float, *, max_points: int
) -> int:
    """The number of points of the line, or :class:`AnalysisError` when an end lies outside
    a frame of ``shape`` or the line has more than ``max_points`` points."""
    check_point(shape, x0, y0, ("x0", "y0"))
    check_point(shape, x1, y1, ("x1", "y1"))
    count = profile_length(x0, y0, x1, y1)
    if count > max_points:
        raise AnalysisError(
            "x1",
            f"x1={x1:g}, y1={y1:g}: the line from ({x0:g}, {y0:g}) has {count} points, more "
            f"than max_profile_points ({max_points}); draw a shorter line",
        )
    return count


def profile(
    array: Array, x0: float, y0: float, x1: float, y1: float, *, max_points: int
) -> list[Any]:
    """The raw values of the pixels nearest to ``round(length) + 1`` evenly spaced points
    from (x0, y0) to (x1, y1), both ends included (nearest: numpy's rounding)."""
    count = check_profile(array.shape, x0, y0, x1, y1, max_points=max_points)
    xs = np.rint(np.linspace(x0, x1, count)).astype(np.intp)
    ys = np.rint(np.linspace(y0, y1, count)).astype(np.intp)
    return [jsonable(v) for v in array[ys, xs]]


# -- statistics --------------------------------------------------------------------------------
def row_bands(array: Array, pixels: int = 0) -> Iterator[tuple[int, Array]]:
    """(first row, view) of bands of about ``pixels`` (:data:`BAND_PIXELS`) pixels."""
    height = array.shape[0]
    per_row = max(1, int(np.prod(array.shape[1:])) // channels_of(array))
    rows = max(1, (pixels or BAND_PIXELS) // per_row)
    for top in range(0, height, rows):
        pause()  # a live frame on its way goes first (framecast.runtime.priority)
        yield top, array[top : top + rows]


def _exact_sum(values: Array) -> int:
    """The exact sum of integer ``values`` (at most ~2^31 of them) as a Python int."""
    if values.dtype.itemsize < 8:
        return int(np.add.reduce(values, axis=None, dtype=np.int64))
    # 64-bit integers: add the high and the low 32 bits apart, so that nothing overflows.
    high = int(np.add.reduce(values >> 32, axis=None, dtype=np.int64))
    low = int(np.add.reduce(values & 0xFFFFFFFF, axis=None, dtype=np.int64))
    return (high << 32) + low


@dataclass
class _Moments:
    """Running figures of one channel, band after band."""

    count: int = 0
    nonfinite: int = 0
    total: int | float = 0
    low: Any = None
    high: Any = None
    mean: float = 0.0  # floats: about ``shift``
    m2: float = 0.0  # sum of squared deviations from the mean
    #: Floats: the first value seen. Their moments are taken about it, so that a small spread
    #: on a large offset keeps its digits when bands are combined (band means near 1e9 differ
    #: by less than their own rounding).
    shift: float = 0.0
    saturated: int = 0

    def add(
        self,
        values: Array,
        integer: bool,
        level: float | int | None,
        known_total: int | None = None,
    ) -> None:
        """Add a band; ``known_total`` is its exact sum when the caller has it already."""
        if not integer:
            finite = np.isfinite(values)
            bad = values.size - int(np.count_nonzero(finite))
            if bad:
                self.nonfinite += bad
                values = values[finite]
        n = values.size
        if n == 0:
            return
        total: int | float
        if known_total is not None:
            total = known_total
        elif integer:
            total = _exact_sum(values)
        else:
            total = float(np.add.reduce(values, axis=None, dtype=np.float64))
        low, high = values.min(), values.max()
        if integer:
            mean = total / n
            deviations = np.subtract(values, mean, dtype=np.float64).ravel()
        else:
            if self.count == 0:
                self.shift = float(values.flat[0])
            deviations = np.subtract(values, self.shift, dtype=np.float64).ravel()
            mean = float(np.add.reduce(deviations)) / n
            deviations -= mean
        # einsum, not dot: BLAS would start threads of its own (which spin on the other
        # core when done) for what is one memory-bound pass
        m2 = float(np.einsum("i,i->", deviations, deviations))
        if not integer:  # corrected two-pass: the float mean's own rounding taken back
            drift = float(np.add.reduce(deviations))
            mean += drift / n
            m2 -= drift * drift / n
        del deviations
        if level is not None and high >= level:
            self.saturated += int(np.count_nonzero(values >= level))
        if self.count == 0:
            self.mean, self.m2, self.low, self.high = mean, m2, low, high
        else:  # Chan et al.: combine two sets' means and sums of squared deviations
            both = self.count + n
            delta = mean - self.mean
            self.mean += delta * n / both
            self.m2 += m2 + delta * delta * self.count * n / both
            self.low, self.high = min(self.low, low), max(self.high, high)
        self.count += n
        self.total += total

    def figures(self, integer: bool) -> dict[str, Any]:
        empty = self.count == 0
        # integers: the exact sum divided once; floats: the combined running mean
        mean = int(self.total) / self.count if integer and not empty else self.shift + self.mean
        return {
            "count": self.count,
            "min": None if empty else jsonable(self.low),
            "max": None if empty else jsonable(self.high),
            "mean": None if empty else jsonable(float(mean)),
            "std": None if empty else jsonable(math.sqrt(max(self.m2, 0.0) / self.count)),
            "sum": int(self.total) if integer else jsonable(float(self.total)),
            "saturated": self.saturated,
            "nonfinite": self.nonfinite,
        }


def _intensity(band: Array, integer: bool) -> Array:
    """A band's per-pixel intensity for the centroid: the channel sum, non-finite as 0."""
    if not integer:
        band = np.where(np.isfinite(band), band, 0)
    if band.ndim == 3:
        summed: Array = np.add.reduce(band, axis=2, dtype=np.float64)
        return summed
    return band


#: Which pixels of a band of a region count (a circle, a polygon): ``inside(left, top,
#: width, rows)`` is a bool array of ``rows`` × ``width`` (framecast.science.regions).
Inside = Callable[[int, int, int, int], Array]


def stats(
    array: Array,
    region: tuple[int, int, int, int] | None = None,
    *,
    saturation: float | int | None = None,
    inside: Inside | None = None,
) -> dict[str, Any]:
    """Statistics of ``region`` (x, y, w, h; the whole frame without it): ``roi``,
    ``count``, ``min``, ``max``, ``mean``, ``std``, ``sum``, ``centroid``, ``saturated``,
    ``nonfinite`` (docs/science.md). ``saturation`` is the level from :func:`saturation_level`.
    With ``inside``, only the pixels of the region it covers count."""
    height, width = array.shape[0], array.shape[1]
    x, y, w, h = region if region is not None else (0, 0, width, height)
    check_region(array.shape, x, y, w, h)
    with np.errstate(all="ignore"):  # figures beyond float64 come out as "inf" or null
        return _stats(array, x, y, w, h, saturation, inside)


def _stats(
    array: Array,
    x: int,
    y: int,
    w: int,
    h: int,
    saturation: float | int | None,
    inside: Inside | None = None,
) -> dict[str, Any]:
    view = array[y : y + h, x : x + w]
    integer = bool(np.issubdtype(view.dtype, np.integer) or view.dtype == np.bool_)
    if view.dtype == np.bool_:
        view = view.view(np.uint8)
    channels = channels_of(view)
    moments = [_Moments() for _ in range(channels)]
    rows = np.zeros(h, dtype=np.float64)
    columns = np.zeros(w, dtype=np.float64)
    for top, band in row_bands(view):
        if inside is not None:
            covered = inside(x, y + top, w, band.shape[0])
            for channel, moment in enumerate(moments):
                moment.add(plane(band, channel)[covered], integer, saturation)
            weights = np.where(covered, _intensity(band, integer), 0)
            rows[top : top + band.shape[0]] = np.add.reduce(weights, axis=1, dtype=np.float64)
            columns += np.add.reduce(weights, axis=0, dtype=np.float64)
            del weights, covered
            continue
        if integer and channels == 1 and band.dtype.itemsize <= 4:
            # one pass gives the row sums (centroid) and the band's exact sum (moments)
            row_sums = np.add.reduce(band, axis=1, dtype=np.int64)
            moments[0].add(band, integer, saturation, known_total=int(row_sums.sum()))
            rows[top : top + band.shape[0]] = row_sums
            columns += np.add.reduce(band, axis=0, dtype=np.float64)
            continue
        for channel, moment in enumerate(moments):
            moment.add(plane(band, channel), integer, saturation)
        weights = _intensity(band, integer)
        rows[top : top + band.shape[0]] = np.add.reduce(weights, axis=1, dtype=np.float64)
        columns += np.add.reduce(weights, axis=0, dtype=np.float64)
        del weights
    weight = float(rows.sum())
    if weight != 0 and math.isfinite(weight):
        centroid: list[float | None] = [
            x + float(np.einsum("i,i->", columns, np.arange(w, dtype=np.float64))) / weight,
            y + float(np.einsum("i,i->", rows, np.arange(h, dtype=np.float64))) / weight,
        ]
    else:
        centroid = [None, None]
    figures = [m.figures(integer) for m in moments]
    out: dict[str, Any] = {"roi": [x, y, w, h]}
    for key in ("count", "min", "max", "mean", "std", "sum"):
        out[key] = figures[0][key] if array.ndim == 2 else [f[key] for f in figures]
    out["centroid"] = centroid
    for key in ("saturated", "nonfinite"):
        out[key] = figures[0][key] if array.ndim == 2 else [f[key] for f in figures]
    return out
