"""The typed keyword arguments of ``ImageServer(...)`` and of one stream's sources: the
fields of :class:`framecast.config.settings.Settings` by name, so that editors and mypy see them
(``ImageServer(port="x")`` is a type error).

Generated from the settings declarations by ``scripts/settings-doc``; do not edit: a test checks
it is what the script writes."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TypedDict

__all__ = ["ServerOptions", "StreamOptions"]


class ServerOptions(TypedDict, total=False):
    """The keyword arguments of ``ImageServer(...)``: :class:`Settings`' fields, by name.

    Paths may be given as ``str``, and ``allowed_origins`` and ``trusted_proxies`` as a
    comma-separated ``str`` or any iterable of strings; everything else has the field's type
    (a test checks it exactly).
    """

    work_folder: str | os.PathLike[str]
    web_folder: str | os.PathLike[str] | None
    host: str
    port: int
    displayed_address: str
    certfile: str | os.PathLike[str] | None
    keyfile: str | os.PathLike[str] | None
    allowed_origins: str | Iterable[str]
    trusted_proxies: str | Iterable[str]
    token: str | None
    viewer_token: str | None
    jpeg_quality: int
    stretch: str
    colormap: str | None
    max_web_size: int
    max_file_rate: float
    history: int
    max_history_bytes: int
    keep_raw: bool
    keepalive_timeout: float
    heartbeat: float | None
    send_timeout: float
    max_message_bytes: int
    max_view_bytes: int
    max_clients: int
    max_ingest_bytes: int
    max_clients_per_address: int
    max_image_pixels: int
    max_metadata_bytes: int
    max_metadata_depth: int
    max_overlays: int
    max_shape_points: int
    max_overlay_bytes: int
    max_mark_bytes: int
    max_marks: int
    max_command_rate: float
    max_command_burst: int
    max_stream_command_rate: float
    max_stream_command_burst: int
    max_snapshots_bytes: int
    max_uploads: int
    max_downloads: int
    max_downloads_per_address: int
    max_streams: int
    max_frame_cache_bytes: int
    max_tile_cache_bytes: int | None
    max_answer_cache_bytes: int | None
    max_decoded_cache_bytes: int | None
    max_profile_points: int
    max_polygon_corners: int
    max_star_radius: int
    encode_threads: int
    body_timeout: float
    handshake_timeout: float
    broker: str | None
    broker_namespace: str
    broker_answer_timeout: float
    presenter_lease: float
    watch: str | os.PathLike[str] | None
    existing: bool
    zmq: str | None
    zmq_mode: str
    zmq_image_channel: str | None
    simulate: bool
    simulate_rate: float
    alerts: str | Iterable[str]
    alert_webhooks: str | Iterable[str]
    alert_webhook_timeout: float
    max_alert_backlog: int
    max_alerts_kept: int


class StreamOptions(TypedDict, total=False):
    """The source settings of one named stream (``ImageServer(streams={name: {...}})``,
    a config file's ``[streams.NAME]`` table): :data:`SOURCE_KEYS`, typed as in
    :class:`ServerOptions`."""

    watch: str | os.PathLike[str] | None
    existing: bool
    zmq: str | None
    zmq_mode: str
    zmq_image_channel: str | None
    simulate: bool
    simulate_rate: float
