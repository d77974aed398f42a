"""The supervisor: failing tasks are logged, counted and restarted; cancelled ones stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from framecast.runtime.supervisor import Supervisor


async def test_a_failing_task_is_logged_counted_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected exception is logged with its traceback, counted, and the task runs again."""
    supervisor = Supervisor()
    runs: list[int] = []
    done = asyncio.Event()

    async def body() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError(f"boom {len(runs)}")
        done.set()

    with caplog.at_level(logging.ERROR, logger="framecast.supervisor"):
        supervisor.spawn("framecast-test", body)
        await asyncio.wait_for(done.wait(), 5)
    assert len(runs) == 3
    assert supervisor.errors["framecast-test"] == 2
    assert supervisor.total_errors == 2
    failures = [r for r in caplog.records if "framecast-test" in r.getMessage()]
    assert len(failures) == 2
    assert all(r.exc_info is not None for r in failures)
    await supervisor.stop()


async def test_stop_cancels_running_tasks() -> None:
    """stop() ends a task that would otherwise wait forever, without counting an error."""
    supervisor = Supervisor()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = supervisor.spawn("framecast-forever", forever)
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(supervisor.stop(), 5)
    assert task.cancelled()
    assert supervisor.total_errors == 0
    assert supervisor.tasks == 0
