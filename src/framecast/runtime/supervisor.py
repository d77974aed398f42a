"""Supervised long-lived tasks: an unexpected error is logged with its traceback, counted,
and the task goes on — the server never continues half-dead.

A supervised task is a coroutine *factory*: when the coroutine it made raises anything but
:class:`asyncio.CancelledError`, the :class:`Supervisor` logs the traceback, adds one to
that task's error count (shown in ``/api/status``) and starts a fresh coroutine after a
short, growing delay (so a task that fails at once does not spin). A coroutine that returns
normally ends its task. :meth:`Supervisor.stop` cancels every task it owns.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

from framecast.runtime.deadline import cancel_all

__all__ = ["Supervisor"]

log = logging.getLogger("framecast.supervisor")

#: First delay before a failed task is restarted, doubled on each failure in a row.
RESTART_DELAY = 0.05
MAX_RESTART_DELAY = 5.0
#: A run that lasted this long resets the delay to :data:`RESTART_DELAY`.
_HEALTHY_RUN = 10.0

Factory = Callable[[], Coroutine[Any, Any, None]]


class Supervisor:
    """Owns long-lived tasks; restarts the ones that fail and counts their errors."""

    def __init__(self) -> None:
        self.errors: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, name: str, factory: Factory) -> asyncio.Task[None]:
        """Run ``factory()`` as task ``name`` until it returns or the supervisor stops."""
        task = asyncio.create_task(self._run(name, factory), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, name: str, factory: Factory) -> None:
        loop = asyncio.get_running_loop()
        delay = RESTART_DELAY
        while True:
            began = loop.time()
            try:
                await factory()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                self.errors[name] += 1
                if loop.time() - began > _HEALTHY_RUN:
                    delay = RESTART_DELAY
                log.exception(
                    "task %s failed (error %d); restarting it in %.2f s",
                    name,
                    self.errors[name],
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RESTART_DELAY)

    @property
    def total_errors(self) -> int:
        return sum(self.errors.values())

    @property
    def tasks(self) -> int:
        return len(self._tasks)

    async def stop(self) -> None:
        """Cancel every task and wait for them to end (at most
        :data:`~framecast.runtime.deadline.STOP_WAIT` s: one that ignores its cancellation is named
        in a warning and left behind)."""
        await cancel_all(list(self._tasks), "stopping the supervised tasks")
