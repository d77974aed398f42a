"""``/frames``: each new image as one binary WebSocket message of JPEG bytes (docs/control.md).

A page can show it straight from a ``Blob`` without fetching ``web_image.jpg``. The same
rules as ``/ws`` apply (they live in :mod:`framecast.web.liveclient`): only images published
after connecting, newest wins per client, a client that stops reading is disconnected, no
compression (JPEG does not deflate), and ``{"type": "disconnect"}`` as a text message
before the server stops.
"""

from __future__ import annotations

from aiohttp import WSMsgType, web

from framecast.live.frames import Frame
from framecast.web.liveclient import SocketFormat, stream_to_socket

__all__ = ["JPEG", "frames_handler"]


def _wire(frame: Frame) -> bytes:
    return frame.renderings.frames_message


def _message(frame: Frame) -> bytes:
    return frame.jpeg


JPEG = SocketFormat("frames", wire=_wire, message=_message, opcode=WSMsgType.BINARY)


async def frames_handler(request: web.Request) -> web.StreamResponse:
    """``GET /frames``: binary JPEG messages."""
    return await stream_to_socket(request, JPEG)
