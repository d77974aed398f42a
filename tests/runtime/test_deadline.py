"""Deadlines on awaits keep every cancellation; cancelling tasks never waits for ever."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Coroutine
from typing import Any

import pytest

from framecast.runtime.deadline import cancel_all, within
from framecast.runtime.supervisor import Supervisor


async def _cancel(task: asyncio.Task[Any]) -> asyncio.Task[Any]:
    """Let ``task`` reach its first wait, then cancel it."""
    await asyncio.sleep(0)
    task.cancel()
    return task


async def _fails_when_cancelled(error: Exception) -> None:
    """Wait until cancelled, then fail with ``error`` instead (a library turning a cancel
    into an error of its own)."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        raise error from None


async def _waits_then_idles(answer: asyncio.Future[int], got: list[int]) -> None:
    """Wait for ``answer`` within a deadline, then idle until cancelled (a fetch loop waiting
    for its next piece of work)."""
    got.append(await within(answer, 5))
    await asyncio.Event().wait()


async def test_a_cancel_arriving_with_the_answer_is_kept() -> None:
    """The answer and the cancel land in the same turn of the loop: the task still ends.
    (Python 3.11's asyncio.wait_for returns the answer and loses the cancel here, and the
    task then idles for ever: a server's stop() hung on exactly that.)"""
    answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    got: list[int] = []
    task = asyncio.create_task(_waits_then_idles(answer, got))
    await asyncio.sleep(0)  # the task now waits for the answer
    answer.set_result(7)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert task in done, "the cancellation was lost: the task idles on"
    assert task.cancelled()
    assert got == []


async def test_a_cancel_swallowed_by_the_awaited_code_is_raised_all_the_same() -> None:
    """Awaited code that swallows the caller's cancel and answers anyway (redis-py awaits
    Python 3.11's wait_for inside): the caller still ends cancelled."""
    swallowed: list[str] = []

    async def swallows() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            swallowed.append("yes")
        return "answer anyway"

    async def caller() -> None:
        await within(swallows(), 5)
        await asyncio.Event().wait()  # a loop waiting for its next piece of work

    task = await _cancel(asyncio.create_task(caller()))
    done, _ = await asyncio.wait([task], timeout=5)
    assert swallowed == ["yes"]
    assert task in done and task.cancelled()


async def test_cleanup_after_a_cancel_gets_answers_and_timeouts() -> None:
    """A task already cancelled, cleaning up with deadlines, gets its answer (only a cancel
    that arrives during the call counts), and a deadline that expires is a TimeoutError."""
    outcome: list[str] = []

    async def session() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            outcome.append(await within(asyncio.sleep(0, "closed"), 1))
            try:
                await within(asyncio.Event().wait(), 0.05)
            except TimeoutError:
                outcome.append("timed out")

    task = await _cancel(asyncio.create_task(session()))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == ["closed", "timed out"]


async def test_a_cancel_turned_into_another_error_is_raised_as_a_cancel() -> None:
    """Awaited code that turns the caller's cancel into another error (a library that
    catches it and raises a connection error): the caller still ends cancelled, even when
    it ignores that error and goes round its loop."""
    rounds: list[int] = []

    async def loop_that_ignores_os_errors() -> None:
        reset = OSError("connection reset")
        for make in (lambda: _fails_when_cancelled(reset), lambda: asyncio.sleep(0)):
            rounds.append(1)
            with contextlib.suppress(OSError):
                await within(make(), 5)

    task = await _cancel(asyncio.create_task(loop_that_ignores_os_errors()))
    done, _ = await asyncio.wait([task], timeout=5)
    assert task in done and task.cancelled(), "the cancel was lost: the loop went on"
    assert rounds == [1]


async def test_a_cancel_handled_for_good_raises_nothing() -> None:
    """A cancel that the awaited code handled for good (uncancel) raises nothing here."""

    async def handles_its_cancel() -> str:
        task = asyncio.current_task()
        assert task is not None
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            task.uncancel()
        return "handled"

    async def caller() -> str:
        return await within(handles_its_cancel(), 5)

    task = await _cancel(asyncio.create_task(caller()))
    assert await task == "handled"


async def test_cancel_all_leaves_no_error_unretrieved() -> None:
    """Errors of cancelled tasks are dropped on purpose, never reported as "never
    retrieved": a task that fails as it is cancelled, one left behind that fails later,
    and those of a caller that is itself cancelled while it waits."""
    reported: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context["message"]))
    release = asyncio.Event()

    def fails_when_cancelled() -> Coroutine[Any, Any, None]:
        return _fails_when_cancelled(RuntimeError("failed while stopping"))

    async def fails_later() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await release.wait()
            raise RuntimeError("failed much later") from None

    try:
        tasks = [asyncio.create_task(fails_when_cancelled()), asyncio.create_task(fails_later())]
        await asyncio.sleep(0)
        assert await cancel_all(tasks, "test", 0.1) is False
        release.set()
        await asyncio.wait(tasks)
        failing = asyncio.create_task(fails_when_cancelled())
        stopper = await _cancel(asyncio.create_task(cancel_all([failing], "test", 5)))
        await asyncio.wait([stopper])
        for _ in range(3):
            await asyncio.sleep(0)
        del tasks, stopper, failing
        gc.collect()
        assert not [m for m in reported if "never retrieved" in m]
    finally:
        loop.set_exception_handler(None)


async def test_the_deadline_raises_timeout_and_cancels_what_it_awaited() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def slow() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    began = time.monotonic()
    with pytest.raises(TimeoutError):
        await within(slow(), 0.05)
    assert started.is_set() and cancelled.is_set()
    assert time.monotonic() - began < 2
    assert await within(asyncio.sleep(0, "on time"), 5) == "on time"
    assert await within(asyncio.sleep(0, "no deadline"), None) == "no deadline"


async def _stubborn(release: asyncio.Event) -> None:
    """A task that ignores its first cancellation (a bug, ours or a library's)."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        await release.wait()


async def test_cancel_all_leaves_a_stubborn_task_behind_and_names_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()
    stubborn = asyncio.create_task(_stubborn(release), name="the-stubborn-one")
    polite = asyncio.create_task(asyncio.Event().wait(), name="the-polite-one")
    ended_already = asyncio.create_task(asyncio.sleep(0, "done"), name="ended-already")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert ended_already.done()
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="framecast.deadline"):
        ended = await cancel_all(
            [stubborn, polite, ended_already, polite], "stopping the test", 0.2
        )
    assert time.monotonic() - began < 2
    assert ended is False
    assert polite.cancelled()
    assert not stubborn.done()
    [warning] = [r.getMessage() for r in caplog.records if r.name == "framecast.deadline"]
    assert "stopping the test" in warning and "the-stubborn-one" in warning
    assert "the-polite-one" not in warning and "ended-already" not in warning
    assert ended_already.result() == "done"
    release.set()
    await stubborn
    assert await cancel_all([polite, stubborn], "again", 0.2) is True


async def test_a_supervisor_stops_even_when_a_task_ignores_its_cancellation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    supervisor = Supervisor()
    release = asyncio.Event()
    supervisor.spawn("stubborn", lambda: _stubborn(release))
    await asyncio.sleep(0)
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="framecast.deadline"):
        await supervisor.stop()
    assert time.monotonic() - began < 3
    assert "stubborn" in caplog.text
    release.set()
