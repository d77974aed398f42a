"""What a ``/ws`` viewer says about presenting (docs/together.md): it may present.

Who presents, what they show and the alerts reach the viewer as notices through its
subscription to the stream's hub (:mod:`framecast.live.hub`; a viewer who connects while
someone presents hears it at once, the hub's standing notice). What it sends is read here:
``present`` (start presenting, or the presenter's new view) and ``stop_presenting``; anything
else is ignored, as ``/ws`` always did. Presenting needs the operator token when one is set
(in the message's ``token`` or the socket's own ``?token=``); a view larger than
``max_view_bytes`` is refused. The answer to ``present`` (``presenting``, with the
presentation's number or an error) is sent when presenting starts or is refused, not for
every change. When the socket closes, a presenter stops presenting.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from framecast.live import protocol
from framecast.live.streams import Stream
from framecast.web.guards import request_token, token_matches
from framecast.web.liveclient import LiveClient

__all__ = ["PresentingViewer", "join"]

log = logging.getLogger("framecast.web")

#: Bytes a ``present`` message may hold beyond its view (its type, a token, JSON's quotes).
_ENVELOPE = 1024


class PresentingViewer:
    """One ``/ws`` viewer of a stream, who may present."""

    __slots__ = ("_client", "_ident", "_stream", "_ws")

    def __init__(self, client: LiveClient, ws: web.WebSocketResponse[bool], stream: Stream):
        self._client = client
        self._ws = ws
        self._stream = stream
        self._ident: int | None = None  # the presentation this viewer started, if any

    async def heard(self, data: bytes) -> None:
        limit = self._client.context.settings.max_view_bytes
        parsed = protocol.parse_viewer_message(data, limit + _ENVELOPE)
        if parsed is None:
            if len(data) > limit + _ENVELOPE:
                await self._refuse(self._too_large())
            return
        kind, fields = parsed
        if kind == protocol.PRESENT:
            await self._present(fields)
        elif kind == protocol.STOP_PRESENTING:
            self._ident = None
            self._stream.presenter.stop(self._client)

    async def _present(self, fields: dict[str, Any]) -> None:
        view = fields.get("view")
        if not isinstance(view, str):
            await self._refuse("present needs the view: the page's URL fragment, as text")
            return
        if len(view.encode()) > self._client.context.settings.max_view_bytes:
            await self._refuse(self._too_large())
            return
        if self._ident is None:
            refusal = self._may_not_present(fields.get("token"))
            if refusal is not None:
                await self._refuse(refusal)
                return
        presenter = self._stream.presenter
        ident = presenter.present(self._client, view)
        if ident != self._ident:
            self._ident = ident
            log.info("a viewer of stream %r presents (presentation %d)", self._stream.name, ident)
            # The notice of it may reach this viewer first (an idle socket takes it at once):
            # the page holds it until this answer tells it its number (js/follow.js).
            await self._client.send(self._ws.send_str(protocol.presenting_reply(ident)))

    def _may_not_present(self, token: Any) -> str | None:
        """Why this viewer may not present, or ``None``."""
        expected = self._client.context.settings.token
        if expected is None:
            return None
        given = token if isinstance(token, str) else request_token(self._client.request)
        if token_matches(given, expected):
            return None
        return "presenting needs the operator token; open the page with ?token=OPERATOR_TOKEN"

    def _too_large(self) -> str:
        limit = self._client.context.settings.max_view_bytes
        return f"the view is larger than max_view_bytes ({limit} bytes); present a simpler view"

    async def _refuse(self, error: str) -> None:
        await self._client.send(self._ws.send_str(protocol.presenting_reply(None, error)))

    def leave(self) -> None:
        self._stream.presenter.stop(self._client)


def join(client: LiveClient, ws: web.WebSocketResponse[bool], stream: Stream) -> PresentingViewer:
    """The listener of a new ``/ws`` socket (:class:`~framecast.web.liveclient.SocketFormat`)."""
    return PresentingViewer(client, ws, stream)
