"""The listening side of the server: what happens before a request reaches a route.

- :class:`Site` listens like aiohttp's ``TCPSite`` but gives a TLS connection
  ``handshake_timeout`` seconds to finish its handshake (a client that never sends a
  ClientHello is closed then, not after asyncio's 60 s), and puts the HTTP send deadline
  (:mod:`framecast.web.senddeadline`, ``send_timeout``) in front of every connection.
- :func:`request_error_log` is the logger aiohttp's request handler writes to: a malformed
  request (bad request line, bad header) is one short line, not a traceback, so flooding the
  log with garbage is not cheap. Server bugs keep their traceback.
- :class:`AcceptErrorLog` is a loop exception handler that reports "cannot accept" (too many
  open files) at most once per interval, with a count.
- :func:`raise_open_file_limit` lifts the soft limit of open files to the hard limit.
- :func:`tls_context` reads the certificate and key; :func:`listen` serves an application on
  the configured host and port and says which port it got.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import ssl
import sys
from collections.abc import Callable, MutableMapping
from ssl import SSLContext
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from framecast.config.settings import Settings
from framecast.errors import ConfigError, PortInUseError, spell
from framecast.runtime.throttle import LogThrottle
from framecast.web.context import CONTEXT
from framecast.web.senddeadline import CutOffLog, DeadlineProtocol

__all__ = [
    "AcceptErrorLog",
    "Site",
    "listen",
    "raise_open_file_limit",
    "request_error_log",
    "tls_context",
]

log = logging.getLogger("framecast.http")

_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: Shortest time between two "cannot accept" log lines.
ACCEPT_ERROR_INTERVAL = 10.0
#: Seconds a refused request's unread body is still read (and dropped) before closing, so
#: the client can see the answer; aiohttp's default of 10 s lets slow clients hold sockets.
LINGER = 2.0


class Site(web.TCPSite):
    """A TCP site whose TLS handshakes must finish within ``handshake_timeout`` seconds and
    whose clients must take each piece of an answer within ``send_timeout`` seconds
    (``None``: no deadline)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        ssl_context: SSLContext | None,
        handshake_timeout: float | None,
        send_timeout: float | None = None,
    ) -> None:
        super().__init__(runner, host, port, ssl_context=ssl_context, reuse_address=True)
        self.handshake_timeout = handshake_timeout
        self.send_timeout = send_timeout

    def _cut_off(self) -> None:
        """Count one client cut off by the send deadline in the server's status."""
        app = getattr(self._runner, "app", None)
        if isinstance(app, web.Application) and CONTEXT in app:
            app[CONTEXT].counters.http_answers_cut_off += 1

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        factory: Callable[[], asyncio.Protocol] = server
        timeout = self.send_timeout
        if timeout is not None:
            cut = CutOffLog(timeout, self._cut_off)
            factory = lambda: DeadlineProtocol(server(), timeout, cut)  # noqa: E731
        tls = self._ssl_context is not None
        self._server = await asyncio.get_running_loop().create_server(
            factory,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
            ssl_handshake_timeout=self.handshake_timeout if tls else None,
        )


def _printable(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:limit].encode("ascii", "backslashreplace").decode()


class _RequestErrorLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's request handler logs every error with ``exception()``; a client's malformed
    request becomes one line here, anything else keeps its traceback."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if isinstance(exc, HttpProcessingError):
            remote = args[0] if args else "a client"
            self.logger.info(
                "bad request from %s: %s %s", remote, exc.code, _printable(exc.message)
            )
            return
        self.logger.error(msg, *args, exc_info=exc_info, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs


def request_error_log() -> logging.Logger:
    """The ``logger`` to give aiohttp's request handler (``AppRunner(logger=...)``)."""
    # Typed as a Logger for aiohttp: it only calls debug(), exception() and isEnabledFor().
    return _RequestErrorLog(log)  # type: ignore[return-value]


class AcceptErrorLog:
    """Loop exception handler: accept errors (out of file descriptors, buffers or memory) are
    logged at most once per ``interval`` seconds, with how many there were; every other
    error goes to the previous handler (or the loop's default one)."""

    def __init__(
        self,
        previous: Any = None,
        interval: float = ACCEPT_ERROR_INTERVAL,
    ) -> None:
        self.previous = previous
        self._throttle = LogThrottle(interval)

    @property
    def seen(self) -> int:
        return self._throttle.seen

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if not (isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRNOS):
            if self.previous is not None:
                self.previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        count = self._throttle.due()
        if count is None:
            return
        log.error(
            "cannot accept connections: %s (%d time(s) since the last report); "
            "raise the open-file limit (ulimit -n) or lower --max-clients",
            exc.strerror or exc,
            count,
        )

    @classmethod
    def install(cls, loop: asyncio.AbstractEventLoop) -> AcceptErrorLog:
        """Put one in front of ``loop``'s current exception handler."""
        handler = cls(loop.get_exception_handler())
        loop.set_exception_handler(handler)
        return handler


def raise_open_file_limit() -> None:
    """Lift the soft limit of open files to the hard limit, so a crowd of viewers meets the
    ``max_clients`` cap rather than the default soft limit (often 1024)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard or soft == resource.RLIM_INFINITY:
        return
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if target <= soft:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:  # pragma: no cover - e.g. macOS OPEN_MAX
        log.debug("cannot raise the open-file limit from %d to %d: %s", soft, target, exc)


def tls_context(settings: Settings) -> SSLContext | None:
    """The server's TLS context (``None`` without ``--certfile`` and ``--keyfile``); files
    that cannot be used are a one-line :class:`ConfigError`."""
    if settings.certfile is None or settings.keyfile is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.certfile, settings.keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot use certificate {str(settings.certfile)!r} with key "
            f"{str(settings.keyfile)!r}: {exc}; check both are PEM files that belong together"
        ) from None
    return context


async def listen(
    app: web.Application, settings: Settings, ssl_context: SSLContext | None
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on the configured host and port; returns its runner and the bound port
    (the real one when port 0 was asked). A port that cannot be bound is a one-line
    :class:`ConfigError` (:class:`PortInUseError` when another process holds it)."""
    runner = web.AppRunner(
        app,
        handle_signals=False,
        keepalive_timeout=settings.keepalive_timeout,
        shutdown_timeout=0.5,
        access_log=None,
        logger=request_error_log(),
        lingering_time=LINGER,
    )
    await runner.setup()
    site = Site(
        runner,
        settings.host,
        settings.port,
        ssl_context=ssl_context,
        handshake_timeout=settings.handshake_timeout,
        send_timeout=settings.send_timeout,
    )
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES) or "in use" in str(exc):
            raise PortInUseError(settings.port, exc.strerror or "") from None
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}; "
            f"check {spell('host')} and {spell('port')}"
        ) from None
    return runner, _bound_port(runner, settings.port)


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address_info in runner.addresses:
        if isinstance(address_info, tuple) and len(address_info) >= 2:
            return int(address_info[1])
    return asked
