"""Display levels of a frame (docs/analysis.md, ``GET /api/levels``): the black and white
points of each preset the viewer offers, and the quantiles its histogram equalisation uses.
Pure.

Presets, over the **finite** values of the whole frame (every channel of a colour frame):

- ``minmax``: the smallest and largest value;
- ``99.5``, ``99``, ``95``: the range that holds that share of the values, the rest left
  out equally at both ends (``95``: the 2.5th and the 97.5th percentile), as DS9's scale
  limits of the same names;
- ``zscale``: IRAF's ``zscale`` (the algorithm of ``astropy.visualization.ZScaleInterval``
  with its defaults): about 1000 values sampled at an even stride through the finite
  values (in row order), sorted, a straight line fitted to them with iterative 2.5-sigma
  rejection (rejected points grown by 1 % of the sample), and the range the line's slope,
  divided by the contrast 0.25, spans around the sample's median, within the sample's
  range. Sky and noise fill the display; stars, hot pixels and saturation are left out.

Percentiles and quantiles are taken from at most :data:`PERCENTILE_SAMPLES` values sampled
the same way (exact for frames up to that size). Integer data gives integer points: the
black point rounded down, the white point up, so that a typed field reads ``1252``.
Memory: the frame is read in bands (:func:`framecast.science.analysis.row_bands`); only
the samples are copied.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from framecast.science.analysis import jsonable, row_bands
from framecast.science.histogram import _finite_range

__all__ = ["PERCENTILE_SAMPLES", "PRESETS", "QUANTILES", "levels", "sample", "zscale"]

#: The percentile presets: the share of the values each keeps (docs/analysis.md).
PRESETS = {"99.5": 99.5, "99": 99.0, "95": 95.0}
#: Values sampled for the percentiles and the quantiles (a few milliseconds to sort).
PERCENTILE_SAMPLES = 1 << 16
#: How many quantiles (the values at 0, 1/(n-1), …, 1 of the sorted values) are answered.
QUANTILES = 257

Array = np.ndarray[Any, Any]

# zscale's parameters, IRAF's (and astropy's) defaults.
_ZSCALE_SAMPLES = 1000
_CONTRAST = 0.25
_MAX_REJECT = 0.5
_MIN_PIXELS = 5
_KREJ = 2.5
_ITERATIONS = 5


def sample(array: Array, count: int, finite_count: int | None = None) -> Array:
    """At most ``count`` finite values of ``array`` taken at an even stride through its
    finite values in row order (``finite[::stride][:count]``, stride
    ``max(1, int(finite / count))``), read band by band."""
    floating = bool(np.issubdtype(array.dtype, np.floating))
    if finite_count is None:
        finite_count = array.size - (sum(_finite_range(array)[2]) if floating else 0)
    stride = int(max(1.0, finite_count / count))
    if finite_count == array.size and array.flags.c_contiguous:  # a strided view, copied
        picked: Array = array.reshape(-1)[::stride][:count].copy()
        return picked
    taken: list[Array] = []
    seen = 0  # finite values before this band
    want = count
    for _top, band in row_bands(array):
        values = band.ravel()
        if floating:
            values = values[np.isfinite(values)]
        first = (-seen) % stride  # the first index of this band on the stride
        picked = values[first::stride][:want]
        taken.append(picked.copy())
        want -= picked.size
        seen += values.size
        if want <= 0:
            break
    return np.concatenate(taken) if taken else np.zeros(0, dtype=array.dtype)


def _grown(bad: Array, width: int) -> Array:
    """``bad`` with every rejected point grown over a window of ``width`` points (the
    window ``[i - width + 1 + (width - 1) // 2, i + (width - 1) // 2]`` around each ``i``)."""
    ahead = (width - 1) // 2
    behind = width - 1 - ahead
    counts = np.concatenate(([0], np.cumsum(bad, dtype=np.int64)))
    index = np.arange(bad.size)
    high = np.minimum(index + ahead + 1, bad.size)
    low = np.maximum(index - behind, 0)
    grown: Array = (counts[high] - counts[low]) > 0
    return grown


def zscale(samples: Array) -> tuple[float, float] | None:
    """IRAF's zscale range of ``samples`` (finite values, as :func:`sample` takes them), or
    ``None`` when there are none."""
    values = np.sort(samples.astype(np.float64))
    npix = values.size
    if npix == 0:
        return None
    low, high = float(values[0]), float(values[-1])
    minpix = max(_MIN_PIXELS, int(npix * _MAX_REJECT))
    grow = max(1, int(npix * 0.01))
    x = np.arange(npix, dtype=np.float64)
    bad = np.zeros(npix, dtype=bool)
    good, before = npix, npix + 1
    slope = 0.0
    for _ in range(_ITERATIONS):
        if good >= before or good < minpix:
            break
        keep = ~bad
        xs, ys = x[keep], values[keep]
        n = xs.size
        sx, sy = xs.sum(), ys.sum()
        denominator = n * (xs * xs).sum() - sx * sx
        slope = float((n * (xs * ys).sum() - sx * sy) / denominator) if denominator else 0.0
        intercept = (sy - slope * sx) / n
        residuals = values - (intercept + slope * x)
        threshold = _KREJ * float(residuals[keep].std())
        bad |= (residuals < -threshold) | (residuals > threshold)
        bad = _grown(bad, grow)
        before, good = good, int(npix - np.count_nonzero(bad))
    if good >= minpix:
        slope /= _CONTRAST
        centre = (npix - 1) // 2
        median = float(np.median(values))
        low = max(low, median - (centre - 1) * slope)
        high = min(high, median + (npix - centre) * slope)
    return low, high


def _points(black: float, white: float, integer: bool) -> list[Any]:
    """A preset's [black, white] as JSON: integers for integer data (black down, white up)."""
    if integer:
        return [math.floor(black), math.ceil(white)]
    return [jsonable(np.float64(black)), jsonable(np.float64(white))]


def _percentiles(ordered: Array, shares: Any) -> Array:
    """Percentiles of sorted values, as ``numpy.percentile``'s default (linear) method."""
    positions = np.asarray(shares, dtype=np.float64) / 100.0 * (ordered.size - 1)
    found: Array = np.interp(positions, np.arange(ordered.size), ordered.astype(np.float64))
    return found


def levels(array: Array) -> dict[str, Any]:
    """``presets`` (``minmax``, ``99.5``, ``99``, ``95``, ``zscale``: each ``[black,
    white]``, or ``null`` without a finite value), ``quantiles`` (:data:`QUANTILES` values,
    from the smallest to the largest) and ``samples`` (how many values they come from)."""
    if array.dtype == np.bool_:
        array = array.view(np.uint8)
    integer = bool(np.issubdtype(array.dtype, np.integer))
    low, high, nonfinite = _finite_range(array)
    if low is None:
        names = ("minmax", *PRESETS, "zscale")
        return {"presets": dict.fromkeys(names), "quantiles": [], "samples": 0}
    finite = array.size - sum(nonfinite)
    # sorted once in the frame's own dtype (16-bit and smaller integers by radix sort)
    many = np.sort(sample(array, PERCENTILE_SAMPLES, finite), kind="stable")
    presets: dict[str, Any] = {"minmax": _points(float(low), float(high), integer)}
    for name, share in PRESETS.items():
        cut = (100.0 - share) / 2
        black, white = _percentiles(many, [cut, 100.0 - cut])
        presets[name] = _points(float(black), float(white), integer)
    z = zscale(sample(array, _ZSCALE_SAMPLES, finite))
    assert z is not None  # there are finite values
    presets["zscale"] = _points(z[0], z[1], integer)
    quantiles = _percentiles(many, np.linspace(0.0, 100.0, QUANTILES))
    return {
        "presets": presets,
        "quantiles": [float(q) for q in quantiles],
        "samples": int(many.size),
    }
