"""Who may open what: Origin checks for WebSockets, tokens, connection caps."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from aiohttp import web

from framecast.errors import spell
from framecast.network.clientaddress import client_address
from framecast.web.context import WebContext
from framecast.web.origins import how_to_allow, origin_key

__all__ = [
    "admit_live",
    "check_capacity",
    "check_operator",
    "check_origin",
    "check_viewer",
    "client_of",
    "request_token",
    "token_matches",
]

log = logging.getLogger("framecast.web")


def check_origin(request: web.Request, context: WebContext) -> None:
    """Refuse (403) a request sent by a browser page of another origin.

    Same origin is decided against the server's own names (``context.origins``: its
    addresses, ``localhost``, the displayed address, the bound port and
    ``allowed_origins``), never against the ``Host`` header, which a rebound DNS name
    controls. Clients that send no Origin (scripts, other servers) are allowed: the check
    protects against foreign web pages using a viewer's browser, not against programs.
    """
    origin = request.headers.get("Origin")
    if origin is None or "*" in context.origins:
        return
    if origin_key(origin) in context.origins:
        return
    shown = origin[:200].encode("ascii", "backslashreplace").decode()
    line = context.origin_refusals.report(shown)  # each origin once: the operator's clue
    if line is not None:
        log.warning("%s", line)
    raise web.HTTPForbidden(text=f"origin {shown} is not this server's; {how_to_allow(shown)}\n")


def request_token(request: web.Request) -> str | None:
    """The token a client presents: ``?token=`` or ``Authorization: Bearer <token>``."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.query.get("token")


def token_matches(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; no expected token means everyone matches."""
    if expected is None:
        return True
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def check_viewer(request: web.Request, context: WebContext) -> None:
    """With a viewer token set, watching needs it (the operator token works too)."""
    settings = context.settings
    if settings.viewer_token is None:
        return
    given = request_token(request) or request.cookies.get("framecast_token")
    if token_matches(given, settings.viewer_token) or (
        settings.token is not None and token_matches(given, settings.token)
    ):
        return
    raise web.HTTPUnauthorized(
        text="this framecast session is private; open the link with its token\n"
    )


def check_operator(request: web.Request, context: WebContext, what: str) -> None:
    """With an operator token set, ``what`` (commands, ingest) needs it: 401 when it is
    missing or wrong (with a ``WWW-Authenticate: Bearer`` challenge). The token itself is
    never logged. Without an operator token, a viewer token (if any) is enough."""
    expected = context.settings.token
    if expected is None:
        check_viewer(request, context)
        return
    given = request_token(request)
    if token_matches(given, expected):
        return
    reason = "needs the operator token" if given is None else "got a wrong operator token"
    raise web.HTTPUnauthorized(
        text=f"{what} {reason}; pass it as ?token=... or 'Authorization: Bearer ...'\n",
        headers={"WWW-Authenticate": 'Bearer realm="framecast"'},
    )


def admit_live(
    request: web.Request,
    context: WebContext,
    check_access: Callable[[web.Request, WebContext], None] = check_viewer,
) -> str:
    """Everything a new live connection (socket or event stream) must pass: access, the
    connection caps, and not arriving while the server stops. Returns the client's address
    (what ``max_clients_per_address`` counts)."""
    check_access(request, context)
    address = client_of(request, context)
    check_capacity(context, address)
    if context.closing.is_set():
        raise web.HTTPServiceUnavailable(text="server is stopping\n")
    return address


def client_of(request: web.Request, context: WebContext) -> str:
    """The client's address: the connection's, or behind a trusted proxy (``trusted_proxies``)
    the one its ``X-Forwarded-For`` names (:mod:`framecast.network.clientaddress`)."""
    # Every line of the header, in order: a proxy may add its own line after the client's.
    forwarded = ", ".join(request.headers.getall("X-Forwarded-For", ()))
    return client_address(request.remote or "", forwarded or None, context.trusted_proxies)


def check_capacity(context: WebContext, address: str) -> None:
    """Refuse a new live connection (503) once ``max_clients`` are connected, or once
    ``max_clients_per_address`` are connected from ``address``."""
    settings, live = context.settings, context.live
    if len(live) >= settings.max_clients:
        reason = "too many viewers are connected; try again later"
    elif live.by_address[address] >= settings.max_clients_per_address:
        reason = (
            "too many connections from this address; close some (or raise "
            f"{spell('max_clients_per_address')}) and try again"
        )
    else:
        return
    context.counters.clients_refused += 1
    count = live.refusals.due()
    if count is not None:
        log.warning(
            "refused a live connection from %s: %s (%d refusal(s) since the last report)",
            address or "?",
            reason,
            count,
        )
    raise web.HTTPServiceUnavailable(text=reason + "\n", headers={"Retry-After": "5"})
