"""The histogram of a frame's raw data (docs/science.md), as ``numpy.histogram`` of its finite
values — pure.

Read band by band like every whole-frame figure (:mod:`framecast.science.analysis`): 8- and
16-bit integers by counting each value once, other dtypes by their finite range and then
``numpy.histogram`` per band; colour frames give a list per channel. A bin count out of range
raises :class:`~framecast.science.analysis.AnalysisError` naming ``bins``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from framecast.science.analysis import (
    BAND_PIXELS,
    AnalysisError,
    Array,
    channels_of,
    jsonable,
    plane,
    row_bands,
)

__all__ = ["MAX_BINS", "check_bins", "histogram"]

#: Most bins a histogram may have (docs/science.md).
MAX_BINS = 4096


def check_bins(bins: int) -> None:
    """Raise :class:`AnalysisError` unless ``1 <= bins <= MAX_BINS``."""
    if not 1 <= bins <= MAX_BINS:
        raise AnalysisError("bins", f"bins={bins} is out of range: use 1 to {MAX_BINS}")


def _finite_range(array: Array) -> tuple[Any, Any, list[int]]:
    """The finite minimum and maximum of the whole frame (``None`` when there is none) and
    the non-finite count per channel."""
    low: Any = None
    high: Any = None
    channels = channels_of(array)
    nonfinite = [0] * channels
    floating = bool(np.issubdtype(array.dtype, np.floating))
    for _top, band in row_bands(array):
        for channel in range(channels):
            values = plane(band, channel)
            if floating:
                finite = np.isfinite(values)
                bad = values.size - int(np.count_nonzero(finite))
                if bad:
                    nonfinite[channel] += bad
                    values = values[finite]
            if values.size:
                band_low, band_high = values.min(), values.max()
                low = band_low if low is None else min(low, band_low)
                high = band_high if high is None else max(high, band_high)
    return low, high, nonfinite


def _value_counts(array: Array) -> list[Array]:
    """For 8- and 16-bit integers: per channel, how many pixels hold each value (index
    ``i`` is the value ``dtype.min + i``), counted band by band."""
    itemsize = array.dtype.itemsize
    size = 1 << (8 * itemsize)
    signed = np.issubdtype(array.dtype, np.signedinteger)
    bits = array.view(np.dtype(f"u{itemsize}"))
    counts = [np.zeros(size, dtype=np.int64) for _ in range(channels_of(array))]
    # bincount holds the GIL while it counts: small bands keep each hold near a millisecond
    for _top, band in row_bands(bits, BAND_PIXELS // 4):
        for channel, total in enumerate(counts):
            total += np.bincount(plane(band, channel).ravel(), minlength=size)
    if signed:  # bit patterns 0x80…, …, 0xFF… are the negative values, in order
        counts = [np.concatenate((c[size // 2 :], c[: size // 2])) for c in counts]
    return counts


def _small_integer_histogram(array: Array, bins: int) -> tuple[Any, Any, Array, list[Array]]:
    """min, max, edges and counts of 8/16-bit integers from their value counts: numpy's
    own binning applied once to each distinct value, weighted by how often it occurs."""
    by_value = _value_counts(array)
    present = np.flatnonzero(np.add.reduce(by_value))
    first, last = int(present[0]), int(present[-1])
    kind = array.dtype.type
    low, high = (
        kind(int(np.iinfo(array.dtype).min) + first),
        kind(int(np.iinfo(array.dtype).min) + last),
    )
    values = np.arange(int(low), int(high) + 1).astype(array.dtype)
    edges = np.histogram_bin_edges(np.array([low, high], dtype=array.dtype), bins)
    counts = [
        np.histogram(values, bins, range=(low, high), weights=c[first : last + 1])[0].astype(
            np.int64
        )
        for c in by_value
    ]
    return low, high, edges, counts


def histogram(array: Array, bins: int = 256) -> dict[str, Any]:
    """``min``, ``max``, ``edges`` (bins + 1), ``counts`` (bins; a list per channel for
    colour) and ``nonfinite`` of the whole frame, as ``numpy.histogram(finite, bins)``."""
    check_bins(bins)
    if array.dtype == np.bool_:
        array = array.view(np.uint8)
    try:
        with np.errstate(all="ignore"):
            return _histogram(array, bins)
    except ValueError as exc:  # numpy's own refusal, e.g. a range too wide for float64
        raise AnalysisError("bins", f"bins={bins}: {exc}") from None


def _histogram(array: Array, bins: int) -> dict[str, Any]:
    channels = channels_of(array)
    if np.issubdtype(array.dtype, np.integer) and array.dtype.itemsize <= 2 and array.size:
        low, high, edges, counts = _small_integer_histogram(array, bins)
        nonfinite = [0] * channels
    else:
        low, high, nonfinite = _finite_range(array)
        if low is None:  # no finite value: numpy's histogram of nothing
            counts_of_nothing, edges = np.histogram(np.zeros(0, dtype=array.dtype), bins)
            counts = [counts_of_nothing.astype(np.int64) for _ in range(channels)]
        else:
            counts = [np.zeros(bins, dtype=np.int64) for _ in range(channels)]
            edges = np.histogram_bin_edges(np.array([low, high], dtype=array.dtype), bins)
            floating = bool(np.issubdtype(array.dtype, np.floating))
            for _top, band in row_bands(array):
                for channel in range(channels):
                    values = plane(band, channel)
                    if floating:
                        values = values[np.isfinite(values)]
                    found, _ = np.histogram(values, bins, range=(low, high))
                    counts[channel] += found
    return {
        "min": None if low is None else jsonable(low),
        "max": None if high is None else jsonable(high),
        "edges": [float(e) for e in edges],
        "counts": counts[0].tolist() if array.ndim == 2 else [c.tolist() for c in counts],
        "nonfinite": nonfinite[0] if array.ndim == 2 else nonfinite,
    }
