"""``/ws``: a ``{"type": "new_image", ...}`` text message after each new image (the ALS
protocol), the stream's notices — ``marks`` after each change of its shared marks,
``presenter`` and ``alert`` (docs/together.md) — and ``{"type": "disconnect"}`` before the
server stops.

Everything about the connection — admission, the latest-wins slot, the deadline on each
write, eviction, the goodbye and the fast path — is :mod:`framecast.web.liveclient`'; this
module only says what a frame is sent as: its prebuilt ``new_image`` message.
"""

from __future__ import annotations

from aiohttp import WSMsgType, web

from framecast.live.frames import Frame
from framecast.live.protocol import Notice
from framecast.web.liveclient import SocketFormat, stream_to_socket
from framecast.web.presenting import join

__all__ = ["NOTIFY", "notify_handler"]


def _wire(frame: Frame) -> bytes:
    return frame.renderings.ws_message


def _message(frame: Frame) -> bytes:
    return frame.renderings.new_image


def _notice(notice: Notice) -> bytes:
    return notice.text


#: A viewer on ``/ws`` hears the stream's notices (marks, who presents, alerts) and may
#: present (:mod:`framecast.web.presenting`).
NOTIFY = SocketFormat(
    "ws", wire=_wire, message=_message, opcode=WSMsgType.TEXT, listen=join, notice=_notice
)


async def notify_handler(request: web.Request) -> web.StreamResponse:
    """``GET /ws``: a ``new_image`` text message after each new image."""
    return await stream_to_socket(request, NOTIFY)
