"""A star measured where it was clicked (docs/science.md, "Stars and focus"). Pure.

:func:`measure` finds the star nearest to a point within ``r`` pixels and gives its refined
centroid, peak, local background, FWHM along x and y (a 2-D Gaussian fitted by least
squares), the half-flux diameter and a signal-to-noise ratio, plus its radial profile. The
work is bounded by ``r`` (a box of ``(2r + 1)²`` pixels around the point, then one of the
same size around the star), whatever the frame's size; the caller caps ``r``.

How, step by step:

1. The box around the point (colour: the sum of the channels), its sky level and noise
   from the median and the median absolute deviation. Non-finite pixels count as sky.
2. Stars are the local maxima of the box smoothed over 3 × 3 pixels (noise alone
   does not make one) that stand five noise levels above the sky; the one nearest to the
   point, within ``r``, is the star (or the brightest one there, for the focus aid).
   None: :class:`NoStar`; so is a fit narrower than :data:`MIN_SIGMA` (a hot pixel or a
   cosmic ray: one pixel, no star).
3. A box of the same size around that star. Pixels nearer to another star than to this
   one are left out, so a neighbour does not widen the fit.
4. Moments give a first guess; a few damped Gauss–Newton steps (Levenberg–Marquardt on
   numpy's least squares) fit ``B + A·exp(-(x-x0)²/2σx² - (y-y0)²/2σy²)`` to the pixels
   within 4σ of the star. FWHM = 2·√(2 ln 2)·σ.
5. Half-flux diameter: twice the radius around the centroid that holds half of the
   star's flux above the fitted background, each pixel counted as 4 × 4 sub-pixels.
   For a Gaussian it equals the FWHM; a defocused star (a ring) has a larger HFD.
6. ``snr``: the star's flux divided by the sky noise over the pixels that hold it,
   ``flux / (noise · √n)`` (background-limited; no gain is known).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from framecast.science.analysis import AnalysisError, check_point, jsonable

__all__ = ["DEFAULT_RADIUS", "FWHM_PER_SIGMA", "NoStar", "measure"]

#: ``r`` when the question leaves it out (docs/science.md).
DEFAULT_RADIUS = 15
#: FWHM of a Gaussian in units of its σ: 2·√(2 ln 2).
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: How many noise levels above the sky a star's smoothed peak must stand.
DETECTION_SIGMAS = 5.0
#: The narrowest σ a star may have: narrower is one pixel (hot, or a cosmic ray).
MIN_SIGMA = 0.4
_STEPS = 30
_SUBPIXELS = 4

Array = np.ndarray[Any, Any]


class NoStar(AnalysisError):
    """No star stands out near the point: a 404 that says so."""

    status = 404


def _box(array: Array, x: float, y: float, r: int) -> tuple[Array, int, int]:
    """The pixels within ``r`` of (x, y) along each axis as float64 (colour summed), and
    the frame coordinates of its top-left pixel."""
    height, width = array.shape[0], array.shape[1]
    cx, cy = round(x), round(y)
    x0, y0 = max(cx - r, 0), max(cy - r, 0)
    x1, y1 = min(cx + r + 1, width), min(cy + r + 1, height)
    part = array[y0:y1, x0:x1]
    if part.dtype == np.bool_:
        part = part.view(np.uint8)
    box = part.astype(np.float64)
    if box.ndim == 3:
        box = box.sum(axis=2)
    return box, x0, y0


def _grid(shape: tuple[int, ...]) -> tuple[Array, Array]:
    """Row and column indices of every pixel of a box of ``shape``."""
    rows: Array = np.arange(shape[0])[:, None] + np.zeros(shape[1], dtype=np.intp)
    columns: Array = np.arange(shape[1])[None, :] + np.zeros((shape[0], 1), dtype=np.intp)
    return rows, columns


def _sky(values: Array) -> tuple[float, float]:
    """Median and noise (1.4826 × the median absolute deviation) of finite ``values``."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 0.0
    level = float(np.median(finite))
    noise = 1.4826 * float(np.median(np.abs(finite - level)))
    if noise == 0.0:  # more than half the pixels equal: their spread is their std
        noise = float(np.std(finite))
    return level, noise


def _peaks(box: Array, level: float, noise: float) -> Array:
    """Row, column of the local maxima of ``box`` smoothed over 3 × 3 pixels that stand
    :data:`DETECTION_SIGMAS` noise levels above the sky (the smoothing lowers it by 3)."""
    padded = np.pad(box, 1, mode="edge")
    height, width = box.shape
    smooth = np.zeros_like(box)
    for dy in range(3):
        for dx in range(3):
            smooth += padded[dy : dy + height, dx : dx + width]
    smooth /= 9.0
    around = np.pad(smooth, 1, mode="constant", constant_values=-np.inf)
    highest = np.full_like(smooth, -np.inf)
    for dy in range(3):
        for dx in range(3):
            if dy != 1 or dx != 1:
                highest = np.maximum(highest, around[dy : dy + height, dx : dx + width])
    threshold = level + DETECTION_SIGMAS * noise / 3.0
    found = (smooth >= highest) & (smooth > threshold)
    return np.argwhere(found)


def _nearest_star(array: Array, x: float, y: float, r: int, brightest: bool) -> tuple[float, float]:
    box, left, top = _box(array, x, y, r)
    box = np.where(np.isfinite(box), box, np.nan)
    level, noise = _sky(box)
    box = np.where(np.isnan(box), level, box)
    peaks = _peaks(box, level, noise)
    if peaks.size:
        distance = np.hypot(peaks[:, 1] + left - x, peaks[:, 0] + top - y)
        near = distance <= r
        if near.any():
            if brightest:  # the focus aid: the brightest star of a region
                heights = box[peaks[near][:, 0], peaks[near][:, 1]]
                row, column = peaks[near][int(np.argmax(heights))]
            else:
                row, column = peaks[near][int(np.argmin(distance[near]))]
            return float(column + left), float(row + top)
    raise NoStar(
        "x",
        f"no star within r={r} of x={x:g}, y={y:g}: nothing stands {DETECTION_SIGMAS:g} "
        "times the noise above the sky there; point nearer a star or give a larger r",
    )


def _gaussian(params: Array, xs: Array, ys: Array) -> tuple[Array, Array]:
    """The model at (xs, ys) and its Jacobian (n × 6) for B, A, x0, y0, σx, σy."""
    b, a, x0, y0, sx, sy = params
    dx, dy = xs - x0, ys - y0
    e = np.exp(-0.5 * ((dx / sx) ** 2 + (dy / sy) ** 2))
    model = b + a * e
    jac = np.empty((xs.size, 6))
    jac[:, 0] = 1.0
    jac[:, 1] = e
    jac[:, 2] = a * e * dx / sx**2
    jac[:, 3] = a * e * dy / sy**2
    jac[:, 4] = a * e * dx**2 / sx**3
    jac[:, 5] = a * e * dy**2 / sy**3
    return model, jac


def _fit(values: Array, xs: Array, ys: Array, start: Array) -> Array:
    """Levenberg–Marquardt from ``start``: the parameters with the least squared error."""
    params = start.astype(np.float64)
    damping = 1e-3
    model, jac = _gaussian(params, xs, ys)
    cost = float(np.sum((values - model) ** 2))
    for _ in range(_STEPS):
        residual = values - model
        normal = jac.T @ jac
        gradient = jac.T @ residual
        scaled = normal + damping * np.diag(np.diag(normal) + 1e-12)
        try:
            step = np.linalg.solve(scaled, gradient)
        except np.linalg.LinAlgError:
            break
        trial = params + step
        if trial[4] <= 0.05 or trial[5] <= 0.05 or not np.all(np.isfinite(trial)):
            damping *= 10.0
            continue
        trial_model, trial_jac = _gaussian(trial, xs, ys)
        trial_cost = float(np.sum((values - trial_model) ** 2))
        if trial_cost < cost:
            done = cost - trial_cost <= 1e-10 * cost
            params, model, jac, cost = trial, trial_model, trial_jac, trial_cost
            damping = max(damping / 10.0, 1e-9)
            if done:
                break
        else:
            damping *= 10.0
            if damping > 1e9:
                break
    return params


def _half_flux_diameter(
    box: Array, own: Array, left: int, top: int, cx: float, cy: float, b: float, radius: float
) -> tuple[float, float, int]:
    """HFD around (cx, cy) within ``radius``, the flux there above ``b``, and its pixels."""
    rows, columns = _grid(box.shape)
    inside = own & (np.hypot(columns + left - cx, rows + top - cy) <= radius)
    flux_per_pixel = box[inside] - b
    n = int(inside.sum())
    total = float(flux_per_pixel.sum())
    if n == 0 or total <= 0:
        return math.nan, total, n
    offsets = (np.arange(_SUBPIXELS) + 0.5) / _SUBPIXELS - 0.5
    sub_x = (columns[inside] + left)[:, None, None] + offsets[None, None, :]
    sub_y = (rows[inside] + top)[:, None, None] + offsets[None, :, None]
    distance = np.hypot(sub_x - cx, sub_y - cy).ravel()
    share = np.repeat(flux_per_pixel / _SUBPIXELS**2, _SUBPIXELS**2)
    order = np.argsort(distance)
    cumulative = np.cumsum(share[order])
    half = int(np.searchsorted(cumulative, total / 2.0))
    half = min(half, distance.size - 1)
    return 2.0 * float(distance[order][half]), total, n


def _profile(
    box: Array, own: Array, left: int, top: int, cx: float, cy: float, r: int
) -> dict[str, list[Any]]:
    """Mean value in rings of one pixel around (cx, cy): ``r`` (ring centres), ``value``."""
    rows, columns = _grid(box.shape)
    distance = np.hypot(columns + left - cx, rows + top - cy)
    ring = np.floor(distance[own]).astype(np.intp)
    keep = ring <= r
    counts = np.bincount(ring[keep], minlength=r + 1)
    sums = np.bincount(ring[keep], weights=box[own][keep], minlength=r + 1)
    filled = counts > 0
    centres = (np.arange(r + 1) + 0.5)[filled]
    means = sums[filled] / counts[filled]
    return {"r": [float(c) for c in centres], "value": [jsonable(float(m)) for m in means]}


def measure(
    array: Array, x: float, y: float, r: int = DEFAULT_RADIUS, *, brightest: bool = False
) -> dict[str, Any]:
    """The star nearest to (x, y) within ``r`` pixels (``brightest``: the one with the
    highest peak there): ``x``, ``y`` (refined centroid, image
    pixels), ``peak`` (the highest raw value of the star), ``background``, ``fwhm_x``,
    ``fwhm_y``, ``fwhm`` (their mean), ``hfd``, ``snr`` and ``profile`` (the radial
    profile). Raises :class:`NoStar` when none stands out there."""
    check_point(array.shape, x, y, ("x", "y"))
    with np.errstate(all="ignore"):
        return _measure(array, x, y, r, brightest)


def _measure(array: Array, x: float, y: float, r: int, brightest: bool) -> dict[str, Any]:
    sx_, sy_ = _nearest_star(array, x, y, r, brightest)
    box, left, top = _box(array, sx_, sy_, r)
    finite = np.isfinite(box)
    level, noise = _sky(box)
    box = np.where(finite, box, level)
    rows, columns = _grid(box.shape)
    fx, fy = columns + left, rows + top
    # leave out what is nearer to another star than to this one
    own = finite.copy()
    for row, column in _peaks(box, level, noise):
        px, py = column + left, row + top
        if abs(px - sx_) + abs(py - sy_) > 2:
            nearer = np.hypot(fx - px, fy - py) < np.hypot(fx - sx_, fy - sy_)
            own &= ~nearer
    above = np.where(own, np.maximum(box - level, 0.0), 0.0)
    # moments in a shrinking aperture give the first guess
    cx, cy, sigma_x, sigma_y = sx_, sy_, 2.0, 2.0
    for _ in range(3):
        aperture = np.hypot(fx - cx, fy - cy) <= max(3.0 * max(sigma_x, sigma_y), 3.0)
        weights = above * aperture
        total = float(weights.sum())
        if total <= 0:
            break
        cx = float((weights * fx).sum() / total)
        cy = float((weights * fy).sum() / total)
        sigma_x = max(math.sqrt(max(float((weights * (fx - cx) ** 2).sum() / total), 0.0)), 0.5)
        sigma_y = max(math.sqrt(max(float((weights * (fy - cy) ** 2).sum() / total), 0.0)), 0.5)
    peak_value = float(box[round(sy_) - top, round(sx_) - left])
    fit_radius = min(max(4.0 * max(sigma_x, sigma_y), 4.0), float(r))
    chosen = own & (np.hypot(fx - cx, fy - cy) <= fit_radius)
    start = np.array([level, max(peak_value - level, 1e-12), cx, cy, sigma_x, sigma_y])
    b, a, x0, y0, sigma_x, sigma_y = _fit(box[chosen], fx[chosen], fy[chosen], start)
    if not (a > 0 and abs(x0 - sx_) <= r and abs(y0 - sy_) <= r and max(sigma_x, sigma_y) < r):
        raise NoStar(
            "x",
            f"no star within r={r} of x={x:g}, y={y:g}: what stands out there is not "
            "shaped like a star (the fit failed); point at a star or give a larger r",
        )
    if min(sigma_x, sigma_y) < MIN_SIGMA:
        raise NoStar(
            "x",
            f"no star within r={r} of x={x:g}, y={y:g}: what stands out there is one pixel "
            "(a hot pixel or a cosmic ray), narrower than a star; point at a star or give a "
            "larger r",
        )
    fwhm_x, fwhm_y = FWHM_PER_SIGMA * abs(sigma_x), FWHM_PER_SIGMA * abs(sigma_y)
    hfd_radius = min(max(1.5 * max(fwhm_x, fwhm_y), 4.0), float(r))
    hfd, flux, n = _half_flux_diameter(box, own, left, top, x0, y0, b, hfd_radius)
    sky = own & (np.hypot(fx - x0, fy - y0) > hfd_radius)
    sky_noise = _sky(box[sky])[1] if int(sky.sum()) >= 16 else noise
    snr = flux / (sky_noise * math.sqrt(n)) if sky_noise > 0 and n else math.inf
    star_pixels = own & (np.hypot(fx - x0, fy - y0) <= hfd_radius)
    part = array[top : top + box.shape[0], left : left + box.shape[1]]
    raw_peak = _raw_peak(part, star_pixels)
    return {
        "x": float(x0),
        "y": float(y0),
        "peak": raw_peak,
        "background": jsonable(float(b)),
        "fwhm_x": jsonable(fwhm_x),
        "fwhm_y": jsonable(fwhm_y),
        "fwhm": jsonable((fwhm_x + fwhm_y) / 2.0),
        "hfd": jsonable(hfd),
        "snr": jsonable(float(snr)),
        "profile": _profile(box, own, left, top, float(x0), float(y0), r),
    }


def _raw_peak(part: Array, where: Array) -> Any:
    """The highest finite raw value of ``part`` at ``where`` (colour: of the channel sum's
    brightest pixel, per channel), as JSON."""
    values = part.astype(np.float64).sum(axis=2) if part.ndim == 3 else part
    if part.dtype.kind == "f":
        where = where & np.isfinite(values)
    if not where.any():
        return None
    flat = np.flatnonzero(where)
    best = flat[int(np.argmax(values.ravel()[flat]))]
    row, column = divmod(int(best), part.shape[1])
    return jsonable(part[row, column])
