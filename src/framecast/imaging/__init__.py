"""Images in, browser-ready JPEG out: decode, map to 8-bit for display, downscale, encode.

Pure and CPU-bound: no sockets, no asyncio. Three parts, each owning one thing:

:mod:`.formats` and :mod:`.decode`
    which format bytes are in, the size their header claims (refused above
    ``max_pixels`` before any decoding), and decoding to a numpy array (FITS, TIFF,
    16-bit PNG, anything Pillow opens); :mod:`.fits` reads FITS headers by hand.
:mod:`.display`
    stretch (``auto``, ``midtones``, ``none``) and colormaps: any dtype to 8-bit.
:mod:`.encode`
    downscale and JPEG-encode, full-size snapshots, the placeholder picture.

The core calls :func:`check` on the publisher's thread (cheap: header only) and
:func:`encode` on a worker thread (the expensive part).
"""

from __future__ import annotations

from framecast.imaging.decode import ImageInput, check, load
from framecast.imaging.display import COLORMAPS, STRETCHES, DisplayOptions, to_display
from framecast.imaging.encode import Encoded, encode, placeholder_jpeg, snapshot_jpeg
from framecast.imaging.formats import DEFAULT_MAX_PIXELS, check_pixels, sniff

__all__ = [
    "COLORMAPS",
    "DEFAULT_MAX_PIXELS",
    "STRETCHES",
    "DisplayOptions",
    "Encoded",
    "ImageInput",
    "check",
    "check_pixels",
    "encode",
    "load",
    "placeholder_jpeg",
    "snapshot_jpeg",
    "sniff",
    "to_display",
]
