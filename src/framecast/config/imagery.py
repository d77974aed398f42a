"""The settings of how images are shown and kept: the web image's JPEG quality, stretch,
colormap and size, how often the web files are rewritten, and each stream's history
(docs/settings.md, docs/history.md).

One area of the one settings table (:class:`framecast.config.settings.Settings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from framecast.config.options import option

__all__ = ["STRETCHES", "ImagerySettings"]

STRETCHES = ("auto", "midtones", "none")


@dataclass(frozen=True)
class ImagerySettings:
    """The web image and the history of frames."""

    # images
    jpeg_quality: int = field(
        default=85,
        metadata=option(
            help="JPEG quality of the web image, 1-100.",
            group="images",
            expects="a whole number from 1 to 100",
            at_least=1,
            at_most=100,
        ),
    )
    stretch: str = field(
        default="auto",
        metadata=option(
            help="Mapping of non-8-bit data to display: auto (robust percentiles), midtones "
            "(astro-style), none (full range).",
            group="images",
            choices=STRETCHES,
        ),
    )
    colormap: str | None = field(
        default=None,
        metadata=option(help="Colormap for mono data (gray, viridis, inferno, …).", group="images"),
    )
    max_web_size: int = field(
        default=4096,
        metadata=option(
            help="Longest edge in pixels of the web image; larger frames are downscaled for the "
            "browser (snapshots keep full size).",
            group="images",
            at_least=16,
        ),
    )
    max_file_rate: float = field(
        default=2.0,
        metadata=option(
            help="Most times per second web_image.jpg/data.json are rewritten.",
            group="images",
            above=0,
        ),
    )
    # history (docs/history.md)
    history: int = field(
        default=100,
        metadata=option(
            help="Frames each stream keeps in memory for GET /api/history and /history/SEQ.jpg "
            "(0 keeps none).",
            group="history",
            at_least=0,
        ),
    )
    max_history_bytes: int = field(
        default=512 * 1024 * 1024,
        metadata=option(
            help="Most bytes the histories of all streams hold together (JPEG, renderings and "
            "arrays of each frame); the oldest frames of any stream go first, the latest "
            "frame of each stream always stays.",
            group="history",
            at_least=0,
        ),
    )
    keep_raw: bool = field(
        default=True,
        metadata=option(
            help="Keep each frame's raw array as published (its own dtype) for /raw, "
            "/api/pixel, /api/stats, /api/profile and /api/histogram; it counts towards "
            "max_history_bytes ('false' keeps none and those routes answer 404).",
            group="history",
        ),
    )
