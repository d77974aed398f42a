"""Answers about a frame's raw data: computed once, bounded, and gone with the frame."""

from __future__ import annotations

import contextlib
import gc
import threading

import numpy as np

from framecast.science.answers import Answers
from framecast.science.raw import Raw


def raw() -> Raw:
    return Raw(np.zeros((4, 4), np.uint16))


def test_a_question_is_computed_once_per_frame() -> None:
    """The same question about the same frame is answered from the cache; another frame's
    is computed anew."""
    answers = Answers(1 << 20)
    calls: list[str] = []
    first, second = raw(), raw()
    for frame in (first, first, second):
        answers.get(frame, "stats", lambda: calls.append("x") or b"42")
    assert len(calls) == 2 and answers.bytes == 4


def test_concurrent_askers_wait_for_one_computation() -> None:
    """Ten threads asking at once run the computation once and all get its answer."""
    answers = Answers(1 << 20)
    frame = raw()
    gate = threading.Event()
    calls: list[int] = []

    def slow() -> bytes:
        calls.append(1)
        gate.wait(5)
        return b"answer"

    got: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: got.append(answers.get(frame, "q", slow)))
        for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(5)
    assert calls == [1] and got == [b"answer"] * 10


def test_errors_are_not_kept() -> None:
    """A computation that raises is retried by the next asker."""
    answers = Answers(1 << 20)
    frame = raw()

    def fail() -> bytes:
        raise ValueError("bad")

    for _ in range(2):
        with contextlib.suppress(ValueError):
            answers.get(frame, "q", fail)
    assert answers.get(frame, "q", lambda: b"ok") == b"ok"


def test_the_bound_holds_and_answers_leave_with_their_frame() -> None:
    """Least recently used answers go beyond the bound; a freed frame's answers go at once."""
    answers = Answers(max_bytes=3000)
    frames = [raw() for _ in range(5)]
    for frame in frames:
        answers.get(frame, "tile", lambda: b"t" * 1000)
    assert answers.bytes == 3000 and len(answers) == 3
    del frames[-1], frame
    gc.collect()
    assert answers.bytes == 2000 and len(answers) == 2
