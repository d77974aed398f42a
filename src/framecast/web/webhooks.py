"""POSTing alerts to webhooks (docs/together.md, "Alerts"), never on the live path.

Each webhook URL has its own bounded queue (``max_alert_backlog``) and its own sender task:
a firing is put in every queue at once and the caller goes on; the sender POSTs it as JSON
with ``alert_webhook_timeout`` on the whole request, and tries again after
:data:`RETRY_DELAYS` when the hook fails (no answer in time, refused, a status not 2xx). A hook
that hangs or is down therefore delays only its own queue: never fan-out, never another hook.
A full queue drops the new firing (counted in ``alerts_dropped``, logged at most once per
:data:`LOG_INTERVAL`); a firing given up after its retries is counted in ``alerts_failed``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from framecast.errors import ConfigError, spell
from framecast.runtime.supervisor import Supervisor
from framecast.runtime.throttle import LogThrottle

__all__ = ["LOG_INTERVAL", "RETRY_DELAYS", "Webhooks", "check_webhook"]

log = logging.getLogger("framecast.alerts")

#: Seconds waited before the second and the third try of one POST.
RETRY_DELAYS = (1.0, 2.0)
#: A failing or overflowing hook is logged at most once per this many seconds.
LOG_INTERVAL = 30.0


def check_webhook(url: str) -> str:
    """``url`` if it is an http:// or https:// URL with a host, else a :class:`ConfigError`."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"alert webhook {url!r} is not an http:// or https:// URL; fix "
            f"{spell('alert_webhooks')}, e.g. http://ops.lab:9000/hook"
        )
    return url


class Webhooks:
    """The webhooks of a running server, each with its queue and sender."""

    def __init__(self, urls: tuple[str, ...], *, timeout: float, backlog: int) -> None:
        self._queues = {url: asyncio.Queue[dict[str, Any]](maxsize=backlog) for url in urls}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._throttle = LogThrottle(LOG_INTERVAL)
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def start(self, supervisor: Supervisor) -> None:
        if not self._queues:
            return
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        for number, (url, queue) in enumerate(self._queues.items(), 1):
            supervisor.spawn(f"alert webhook {number}", functools.partial(self._send, url, queue))

    async def close(self) -> None:
        """After the supervisor stopped the senders: close their connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def post(self, firing: dict[str, Any]) -> None:
        """Queue ``firing`` for every webhook; never waits."""
        for url, queue in self._queues.items():
            try:
                queue.put_nowait(firing)
            except asyncio.QueueFull:
                self.dropped += 1
                if self._throttle.due() is not None:
                    log.warning(
                        "alert webhook %s is %d alerts behind: new alerts are dropped; "
                        "check that it answers, or raise %s",
                        _shown(url),
                        queue.qsize(),
                        spell("max_alert_backlog"),
                    )

    async def _send(self, url: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            firing = await queue.get()
            reason = ""
            for delay in (0.0, *RETRY_DELAYS):
                if delay:
                    await asyncio.sleep(delay)
                reason = await self._post_once(url, firing)
                if not reason:
                    self.sent += 1
                    break
            else:
                self.failed += 1
                if self._throttle.due() is not None:
                    log.warning(
                        "alert webhook %s failed %d times (%s); alert %r of stream %r given up",
                        _shown(url),
                        1 + len(RETRY_DELAYS),
                        reason,
                        firing["rule"],
                        firing["stream"],
                    )

    async def _post_once(self, url: str, firing: dict[str, Any]) -> str:
        """POST once; '' when the hook took it, else why not."""
        session = self._session
        assert session is not None
        try:
            async with session.post(url, json=firing) as answer:  # its body is not read
                if 200 <= answer.status < 300:
                    return ""
                return f"status {answer.status}"
        except TimeoutError:
            return f"no answer within {self._timeout.total:g} s"
        except aiohttp.ClientError as exc:
            return type(exc).__name__


def _shown(url: str) -> str:
    """A webhook's URL without credentials or query (they may hold a secret)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
