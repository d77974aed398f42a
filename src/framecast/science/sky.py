"""Sky coordinates of a frame's pixels (docs/science.md, "Sky coordinates"). Pure.

A frame carries a celestial WCS when its metadata hold the FITS header keywords of one
(``CTYPE1``/``CTYPE2`` naming RA and Dec, ``CRVAL``, ``CRPIX``, and ``CD`` or ``CDELT``/``PC``
matrices): given as metadata by the publisher, or read from the header of a published FITS
file (:func:`framecast.imaging.formats.fits_wcs`). The keywords follow FITS's
convention: pixel ``(1, 1)`` is the centre of the **bottom-left** pixel. framecast's image
pixels run from ``(0, 0)`` at the centre of the **top-left** pixel, ``y`` down, so image
pixel ``(x, y)`` of a frame ``height`` rows high is FITS pixel ``(x + 1, height - y)``, i.e.
``(x, height - 1 - y)`` in astropy's 0-based ``pixel_to_world_values``.

The conversion is astropy's (``astropy.wcs``, the ``fits`` extra). Without astropy on the
server there are no sky coordinates: :meth:`Sky.world` gives ``None``, never an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from framecast.imaging.fits import WCS_KEYWORD

__all__ = ["Sky", "celestial"]

_NUMBERS = ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class Sky:
    """A frame's celestial WCS: the header ``cards`` it is made of (hashable)."""

    cards: tuple[tuple[str, Any], ...]

    def world(self, x: float, y: float, height: int) -> tuple[float, float] | None:
        """(RA, Dec) in degrees of image pixel (x, y) of a frame ``height`` rows high, or
        ``None`` without astropy or when the WCS gives no finite position there."""
        try:
            from astropy.wcs import WCS  # the optional dependency, only when asked
        except ImportError:
            return None
        try:
            wcs = WCS(dict(self.cards), naxis=2)
            first, second = wcs.pixel_to_world_values(float(x), float(height - 1 - y))
        except Exception:  # astropy refuses a malformed WCS in many ways: no position
            return None
        ra, dec = float(first), float(second)
        if str(dict(self.cards)["CTYPE1"]).upper().startswith("DEC"):
            ra, dec = dec, ra
        if not (math.isfinite(ra) and math.isfinite(dec)):
            return None
        return ra % 360.0, dec


def celestial(metadata: Mapping[str, Any]) -> Sky | None:
    """The celestial WCS ``metadata`` describe, or ``None`` when they hold none (CTYPE1 and
    CTYPE2 naming RA and Dec, with numeric CRVAL1/2 and CRPIX1/2)."""
    cards = {key: value for key, value in metadata.items() if WCS_KEYWORD.fullmatch(str(key))}
    types = [str(cards.get(f"CTYPE{i}", "")).upper() for i in (1, 2)]
    if sorted(t[:4] for t in types) != ["DEC-", "RA--"]:
        return None
    if not all(_number(cards.get(key)) for key in _NUMBERS):
        return None
    kept = {
        key: value
        for key, value in cards.items()
        if _number(value) or (isinstance(value, str) and len(value) <= 70)
    }
    return Sky(tuple(sorted(kept.items())))
