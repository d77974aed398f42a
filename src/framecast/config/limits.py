"""The limits and timeouts of a server: what any input from outside may cost (bytes, pixels,
connections, commands, time) and the byte budgets of what is kept (docs/reliability.md).

One area of the one settings table (:class:`framecast.config.settings.Settings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from framecast.config.options import option

__all__ = ["LimitSettings"]


@dataclass(frozen=True)
class LimitSettings:
    """Every ``max_*`` limit and every timeout."""

    # limits and timeouts
    keepalive_timeout: float = field(
        default=15.0,
        metadata=option(
            help="Seconds an idle HTTP keep-alive connection is kept.", group="limits", above=0
        ),
    )
    heartbeat: float | None = field(
        default=10.0,
        metadata=option(
            help="Seconds between WebSocket pings ('off' disables).", group="limits", above=0
        ),
    )
    send_timeout: float = field(
        default=10.0,
        metadata=option(
            help="Seconds a client may take to accept one live message, or to take 64 KiB of an "
            "HTTP answer, before it is disconnected.",
            group="limits",
            above=0,
        ),
    )
    max_message_bytes: int = field(
        default=65536,
        metadata=option(
            help="Largest message accepted from a WebSocket client.", group="limits", at_least=1
        ),
    )
    max_view_bytes: int = field(
        default=4096,
        metadata=option(
            help="Largest view (the URL fragment's text) a presenter may share with its "
            "followers; a larger one is refused with a message.",
            group="limits",
            at_least=1,
        ),
    )
    max_clients: int = field(
        default=2000,
        metadata=option(
            help="Most simultaneous live connections; more are refused with 503.",
            group="limits",
            at_least=1,
        ),
    )
    max_ingest_bytes: int = field(
        default=64 * 1024 * 1024,
        metadata=option(
            help="Largest image body accepted by POST /api/frames.", group="limits", at_least=1
        ),
    )
    max_clients_per_address: int = field(
        default=256,
        metadata=option(
            help="Most simultaneous live connections from one client address; more are refused "
            "with 503.",
            group="limits",
            at_least=1,
        ),
    )
    max_image_pixels: int = field(
        default=100_000_000,
        metadata=option(
            help="Largest image (width x height) accepted from any input; checked in the file "
            "header before decoding, refused with 413 over HTTP.",
            group="limits",
            at_least=1,
        ),
    )
    max_metadata_bytes: int = field(
        default=1024 * 1024,
        metadata=option(
            help="Largest metadata accepted with one image (as JSON text).",
            group="limits",
            at_least=1,
        ),
    )
    max_metadata_depth: int = field(
        default=32,
        metadata=option(
            help="Deepest nesting of lists and objects accepted in metadata and control messages.",
            group="limits",
            at_least=1,
        ),
    )
    max_overlays: int = field(
        default=1000,
        metadata=option(
            help="Most overlay shapes published with one image (docs/together.md); more are "
            "refused and the image is not published.",
            group="limits",
            at_least=1,
        ),
    )
    max_shape_points: int = field(
        default=1000,
        metadata=option(
            help="Most points of one line or polygon, in an overlay or a mark.",
            group="limits",
            at_least=2,
        ),
    )
    max_overlay_bytes: int = field(
        default=256 * 1024,
        metadata=option(
            help="Largest JSON text of one image's overlays.", group="limits", at_least=1
        ),
    )
    max_mark_bytes: int = field(
        default=4096,
        metadata=option(
            help="Largest JSON text of one shared mark (every viewer gets all of a stream's "
            "marks at each change: at most max_marks of these).",
            group="limits",
            at_least=64,
        ),
    )
    max_marks: int = field(
        default=1000,
        metadata=option(
            help="Most shared marks on one stream (docs/together.md); one more is refused "
            "with 400 until some are deleted.",
            group="limits",
            at_least=1,
        ),
    )
    max_command_rate: float = field(
        default=10.0,
        metadata=option(
            help="Commands per second one /control connection may send, on average (after a "
            "burst of max_command_burst); more are answered ok:false ('too many commands') "
            "and not run.",
            group="limits",
            above=0,
        ),
    )
    max_command_burst: int = field(
        default=20,
        metadata=option(
            help="Commands one /control connection may send at once before max_command_rate "
            "applies.",
            group="limits",
            at_least=1,
        ),
    )
    max_stream_command_rate: float = field(
        default=20.0,
        metadata=option(
            help="Commands per second one stream takes from all its /control clients together, "
            "on average (after a burst of max_stream_command_burst); counted on the node that "
            "publishes the stream. More are answered ok:false and not run.",
            group="limits",
            above=0,
        ),
    )
    max_stream_command_burst: int = field(
        default=40,
        metadata=option(
            help="Commands one stream takes at once, from all its clients, before "
            "max_stream_command_rate applies.",
            group="limits",
            at_least=1,
        ),
    )
    max_snapshots_bytes: int = field(
        default=1024 * 1024 * 1024,
        metadata=option(
            help="Most bytes the snapshots folder (<work folder>/snapshots, every stream's and "
            "earlier runs' files included) may hold; snapshot_now is refused once the next "
            "snapshot would not fit (0 refuses every snapshot).",
            group="limits",
            at_least=0,
        ),
    )
    max_uploads: int = field(
        default=16,
        metadata=option(
            help="Most image uploads (POST /api/frames) received at once; more are refused "
            "with 503.",
            group="limits",
            at_least=1,
        ),
    )
    max_downloads: int = field(
        default=8,
        metadata=option(
            help="Most whole-frame downloads (raw .npy and .fits files, rectangles of a level) "
            "made or sent at once; more are refused with 503 and Retry-After.",
            group="limits",
            at_least=1,
        ),
    )
    max_downloads_per_address: int = field(
        default=4,
        metadata=option(
            help="Most whole-frame downloads made or sent at once for one client address; "
            "more are refused with 503 and Retry-After.",
            group="limits",
            at_least=1,
        ),
    )
    max_streams: int = field(
        default=64,
        metadata=option(
            help="Most streams (cameras) one server carries; ingest that would create more is "
            "refused with 409.",
            group="limits",
            at_least=1,
        ),
    )
    max_frame_cache_bytes: int = field(
        default=448 * 1024 * 1024,
        metadata=option(
            help="Most bytes of what is derived from frames and kept with them, for all frames "
            "of every stream together: deep-zoom tiles, answers about raw data (raw tiles, "
            "lower levels of the raw pyramid, statistics, profiles, histograms) and the decoded "
            "pixels of JPEG frames, each counted with what it costs in memory and computed at "
            "most once per frame. The least recently used go first, and each leaves with its "
            "frame (0 keeps nothing: every question is computed again).",
            group="limits",
            at_least=0,
        ),
    )
    max_tile_cache_bytes: int | None = field(
        default=None,
        metadata=option(
            help="Deprecated (removed in the next release): tiles share max_frame_cache_bytes; "
            "given, it is added to the others' old defaults to make that budget, with a warning.",
            group="limits",
            at_least=0,
        ),
    )
    max_answer_cache_bytes: int | None = field(
        default=None,
        metadata=option(
            help="Deprecated (removed in the next release): answers share "
            "max_frame_cache_bytes; given, it is added to the others' old defaults to make that "
            "budget, with a warning.",
            group="limits",
            at_least=0,
        ),
    )
    max_decoded_cache_bytes: int | None = field(
        default=None,
        metadata=option(
            help="Deprecated (removed in the next release): decoded pixels share "
            "max_frame_cache_bytes; given, it is added to the others' old defaults to make that "
            "budget, with a warning.",
            group="limits",
            at_least=0,
        ),
    )
    max_profile_points: int = field(
        default=16384,
        metadata=option(
            help="Most points of a line profile (GET /api/profile); a longer line is refused "
            "with 400.",
            group="limits",
            at_least=1,
        ),
    )
    max_polygon_corners: int = field(
        default=100,
        metadata=option(
            help="Most corners of a polygon region (GET /api/stats?polygon=, the viewer's "
            "Polygon tool and DS9 region files it opens); more are refused with 400. At most "
            "400: the corners travel in the request's URL.",
            group="limits",
            at_least=3,
            at_most=400,
        ),
    )
    max_star_radius: int = field(
        default=50,
        metadata=option(
            help="Largest r of GET /api/star (pixels around the point where a star is looked "
            "for and measured); a larger r is refused with 400.",
            group="limits",
            at_least=1,
        ),
    )
    encode_threads: int = field(
        default=2,
        metadata=option(
            help="Threads that encode images, shared by every stream.", group="limits", at_least=1
        ),
    )
    body_timeout: float = field(
        default=30.0,
        metadata=option(
            help="Seconds a client may take to send a whole request body before it is refused "
            "(408).",
            group="limits",
            above=0,
        ),
    )
    handshake_timeout: float = field(
        default=10.0,
        metadata=option(
            help="Seconds a new HTTPS connection may take to finish its TLS handshake.",
            group="limits",
            above=0,
        ),
    )
