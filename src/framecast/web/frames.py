"""``/frames``: each new image as one binary WebSocket message of JPEG bytes (SPEC §4.5).

A page can show it straight from a ``Blob`` without fetching ``web_image.jpg``. The same
rules as ``/ws`` apply: only images published after connecting, newest wins per client, a
client that stops reading is disconnected, no compression (JPEG does not deflate), and
``{"type": "disconnect"}`` as a text message before the server stops.
"""

from __future__ import annotations

from aiohttp import web

from ..frames import Frame
from .ws import stream_frames

__all__ = ["frames_handler"]


def _jpeg(frame: Frame) -> bytes:
    return frame.jpeg


async def frames_handler(request: web.Request) -> web.WebSocketResponse:
    """``GET /frames``: binary JPEG messages."""
    return await stream_frames(request, "frames", _jpeg)
