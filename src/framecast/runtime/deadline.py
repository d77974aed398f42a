"""Deadlines on awaits, and cancelling tasks without waiting for ever.

Python 3.11's :func:`asyncio.wait_for` loses a cancellation when the operation it awaits
finishes in the same turn of the loop as the cancel arrives: it returns the result and the
task runs on. A loop that then waits for its next piece of work never ends, and whoever
stops it waits for ever (the broker's fetch loop did that, and a server's ``stop()`` hung
with it). :func:`within` puts the deadline on the task itself with :func:`asyncio.timeout`,
which keeps every cancellation, and raises one that the awaited code swallowed (redis-py
awaits ``wait_for`` inside); framecast never calls ``wait_for`` itself (ruff refuses it).

:func:`cancel_all` cancels tasks and waits for them a bounded time: a task that ignores its
cancellation (a bug, ours or a library's) is named in a warning and left behind, and the
stop goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

__all__ = ["STOP_WAIT", "cancel_all", "within"]

log = logging.getLogger("framecast.deadline")

#: How long :func:`cancel_all` waits, by default, for cancelled tasks to end.
STOP_WAIT = 1.0

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float | None) -> T:
    """``await awaitable``, raising :class:`TimeoutError` after ``seconds`` (``None``: no
    deadline). A cancellation of the caller is never lost: not when ``awaitable`` ends in
    the same turn of the loop, nor when it swallows the cancellation (a library awaiting
    Python 3.11's ``wait_for`` inside, as redis-py does) and answers or fails all the same:
    :class:`asyncio.CancelledError` is raised here."""
    task = asyncio.current_task()
    asked = task.cancelling() if task is not None else 0
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            result = await awaitable
    except asyncio.CancelledError:
        if deadline.expired() and task is not None and task.cancelling() <= asked:
            # Only our deadline cancelled: Python before 3.11.3 leaves this to the caller
            # when the task was already being cancelled (cleanup with a deadline).
            raise TimeoutError from None
        raise
    except BaseException as exc:
        if task is not None and task.cancelling() > asked:
            raise asyncio.CancelledError from exc  # the cancel became another error
        raise
    if task is not None and task.cancelling() > asked:
        raise asyncio.CancelledError  # asked to stop while waiting; the answer came anyway
    return result


async def cancel_all(
    tasks: Iterable[asyncio.Future[Any]], what: str, seconds: float = STOP_WAIT
) -> bool:
    """Cancel ``tasks`` and wait at most ``seconds`` for them to end; their results and
    errors are dropped (those of tasks left behind too, whenever they end). Returns False,
    after a warning naming them, when some did not end."""
    tasks = list(tasks)
    for task in tasks:
        task.add_done_callback(_drop_outcome)
        task.cancel()
    pending = [task for task in tasks if not task.done()]
    if not pending:
        return True
    _done, late = await asyncio.wait(pending, timeout=seconds)
    if late:
        names = ", ".join(sorted(_name(task) for task in late))
        log.warning(
            "%s: %d task(s) did not end within %g s of being cancelled (%s); left behind",
            what,
            len(late),
            seconds,
            names,
        )
        return False
    return True


def _drop_outcome(task: asyncio.Future[Any]) -> None:
    """Retrieve an ended task's error: dropped on purpose, never "never retrieved"."""
    if not task.cancelled():
        task.exception()


def _name(task: asyncio.Future[Any]) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)
