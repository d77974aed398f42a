"""Live frames first: background jobs wait while a frame is being made, never for ever."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from framecast.runtime.priority import BACKGROUND_NICE, BackgroundPool, LiveFirst


def test_a_background_job_starts_after_the_live_frame() -> None:
    """A job submitted while a frame is made starts only once the frame is done."""
    priority = LiveFirst(max_wait=5.0)
    order: list[str] = []
    pool = BackgroundPool(1, priority, name="test-bg")
    entered = threading.Event()
    release = threading.Event()

    def make_frame() -> None:
        with priority.live():
            entered.set()
            release.wait(5)
            order.append("frame")

    maker = threading.Thread(target=make_frame)
    maker.start()
    entered.wait(5)
    future = pool.submit(order.append, "tile")
    deadline = time.monotonic() + 5
    while priority.yielded == 0 and time.monotonic() < deadline:
        time.sleep(0.001)  # polling a counter, not waiting for readiness by sleeping
    release.set()
    future.result(5)
    maker.join(5)
    pool.shutdown()
    assert order == ["frame", "tile"] and priority.yielded == 1


def test_a_busy_encoder_delays_background_work_but_never_starves_it() -> None:
    """With a frame being made all the time, a job still runs after max_wait."""
    priority = LiveFirst(max_wait=0.05)
    pool = BackgroundPool(1, priority, name="test-bg")
    with priority.live():
        started = time.monotonic()
        assert pool.submit(lambda: 42).result(5) == 42
        waited = time.monotonic() - started
    pool.shutdown()
    assert 0.04 <= waited < 2.0


def test_no_wait_when_nothing_is_being_made() -> None:
    """An idle encoder costs a background job nothing."""
    priority = LiveFirst(max_wait=5.0)
    pool = BackgroundPool(1, priority, name="test-bg")
    assert pool.submit(lambda: "ok").result(1) == "ok"
    pool.shutdown()
    assert priority.yielded == 0


def test_a_long_job_pauses_between_pieces_while_a_frame_is_made() -> None:
    """pause() inside a BackgroundPool job waits while a frame is being made (at most
    MAX_PAUSE), and does nothing outside such a job."""
    from framecast.runtime import priority as module

    gate = LiveFirst(max_wait=0.05)
    pool = BackgroundPool(1, gate, name="test-bg")
    module.pause()  # not in a job: returns at once, counts nothing
    assert gate.yielded == 0
    with gate.live():
        started = time.monotonic()
        pool.submit(module.pause).result(5)  # the job's start waits max_wait … then pauses
        waited = time.monotonic() - started
    pool.shutdown()
    assert gate.yielded == 2 and waited >= 0.05 + module.MAX_PAUSE


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice is Linux's")
def test_background_threads_run_at_a_lower_cpu_priority() -> None:
    """A background job's thread is niced below the rest of the process, which keeps its own."""
    pool = BackgroundPool(1, LiveFirst(), name="test-bg")
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    theirs = pool.submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    assert theirs.result(5) == min(19, mine + BACKGROUND_NICE)
    pool.shutdown()
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
