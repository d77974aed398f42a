"""Circles and polygons over a frame's pixels (docs/analysis.md, "Regions"). Pure.

A shape covers the pixels whose **centres** lie inside it: pixel ``(i, j)`` has its centre
at ``x = i``, ``y = j`` (image pixels, ``y`` down, as every route). A circle ``cx, cy, r``
covers the centres at distance ``<= r`` from ``(cx, cy)``; a polygon covers the centres
inside it by the even-odd rule (a centre exactly on a left or top edge is inside, on a
right or bottom edge outside, so two polygons sharing an edge never both count a pixel).

:meth:`Shape.bounds` is the smallest rectangle of the frame holding every covered pixel;
:meth:`Shape.inside` says which pixels of a band of rows of that rectangle are covered,
band after band, so a shape as large as the frame never needs a mask of the whole frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from framecast.science.analysis import AnalysisError

__all__ = ["MOST_POLYGON_CORNERS", "Shape"]

#: Most corners a polygon can have at all (docs/analysis.md): the highest value of the
#: ``max_polygon_corners`` setting, which the questions check (its corners travel in a URL).
MOST_POLYGON_CORNERS = 400

Array = np.ndarray[Any, Any]


@dataclass(frozen=True, slots=True)
class Shape:
    """A circle (``numbers`` = cx, cy, r) or a polygon (x1, y1, x2, y2, …)."""

    kind: Literal["circle", "polygon"]
    numbers: tuple[float, ...]

    def __post_init__(self) -> None:
        given = f"{self.kind}={','.join(f'{n:g}' for n in self.numbers)}"
        if self.kind == "circle":
            if len(self.numbers) != 3:
                raise AnalysisError("circle", f"{given[:60]}: give circle=cx,cy,r")
            if not self.numbers[2] > 0:
                raise AnalysisError("circle", f"{given}: the radius must be above 0")
        else:
            count = len(self.numbers)
            if count % 2 or not 3 <= count // 2 <= MOST_POLYGON_CORNERS:
                raise AnalysisError(
                    "polygon",
                    f"{given[:60]}: give polygon=x1,y1,x2,y2,x3,y3,… with 3 to "
                    f"{MOST_POLYGON_CORNERS} corners",
                )

    def bounds(self, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """``x, y, w, h`` of the pixels of a frame of ``shape`` whose centres may be
        covered; :class:`AnalysisError` when the shape covers no pixel centre of it."""
        height, width = shape[0], shape[1]
        if self.kind == "circle":
            cx, cy, r = self.numbers
            low_x, high_x, low_y, high_y = cx - r, cx + r, cy - r, cy + r
        else:
            xs, ys = self.numbers[0::2], self.numbers[1::2]
            low_x, high_x, low_y, high_y = min(xs), max(xs), min(ys), max(ys)
        x0, y0 = max(math.ceil(low_x), 0), max(math.ceil(low_y), 0)
        x1, y1 = min(math.floor(high_x), width - 1), min(math.floor(high_y), height - 1)
        if x1 < x0 or y1 < y0:
            raise AnalysisError(
                self.kind,
                f"{self.kind}={','.join(f'{n:g}' for n in self.numbers)[:60]} covers no "
                f"pixel of the frame ({width}×{height}): draw it over the image",
            )
        return x0, y0, x1 - x0 + 1, y1 - y0 + 1

    def inside(self, left: int, top: int, width: int, rows: int) -> Array:
        """Which pixels of the ``rows`` × ``width`` block starting at (left, top) have
        their centres covered (a bool array of that shape)."""
        xs = np.arange(left, left + width, dtype=np.float64)
        ys = np.arange(top, top + rows, dtype=np.float64)
        if self.kind == "circle":
            cx, cy, r = self.numbers
            covered: Array = (xs[None, :] - cx) ** 2 + (ys[:, None] - cy) ** 2 <= r * r
            return covered
        return self._polygon(xs, ys)

    def _polygon(self, xs: Array, ys: Array) -> Array:
        """Even-odd rule, one row at a time: the edges a row's centre line crosses, and the
        spans between pairs of crossings (half-open: ``[a, b)``)."""
        corners = np.array(self.numbers, dtype=np.float64).reshape(-1, 2)
        ax, ay = corners[:, 0], corners[:, 1]
        bx, by = np.roll(ax, -1), np.roll(ay, -1)
        covered = np.zeros((ys.size, xs.size), dtype=bool)
        for row, y in enumerate(ys):
            crosses = (ay <= y) != (by <= y)  # each edge counted for y in [low, high)
            if not crosses.any():
                continue
            t = (y - ay[crosses]) / (by[crosses] - ay[crosses])
            at = np.sort(ax[crosses] + t * (bx[crosses] - ax[crosses]))
            for start, stop in zip(at[0::2], at[1::2], strict=True):
                first = int(np.searchsorted(xs, start, side="left"))
                last = int(np.searchsorted(xs, stop, side="left"))
                covered[row, first:last] = True
        return covered
