"""Answers about a frame's raw data: computed once, bounded, and gone with the frame."""

from __future__ import annotations

import contextlib
import gc
import json
import subprocess
import sys
import threading

import numpy as np

from framecast.science.answers import ENTRY_BYTES, Answers, size_of
from framecast.science.raw import Raw, RawAnswer


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
    assert len(calls) == 2 and len(answers) == 2


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
    one = size_of(b"t" * 1000) + size_of("tile") + ENTRY_BYTES
    answers = Answers(max_bytes=3 * one)
    frames = [raw() for _ in range(5)]
    for frame in frames:
        answers.get(frame, "tile", lambda: b"t" * 1000)
    assert answers.bytes == 3 * one and len(answers) == 3
    del frames[-1], frame
    gc.collect()
    assert answers.bytes == 2 * one and len(answers) == 2


def test_an_answer_costs_what_it_holds() -> None:
    """A 32-byte JSON answer is counted with its object header, its question and the
    entry's bookkeeping (hundreds of bytes, not 32); an array with its data; a broker's
    answer with its body and headers."""
    answers = Answers(1 << 30)
    frame = raw()
    body = b'{"seq":1,"x":10,"y":20,"value":7}'[:32]
    answers.get(frame, ("pixel", 1000, 2000), lambda: body)
    assert answers.bytes >= len(body) + 300
    before = answers.bytes
    answers.get(frame, ("tile", 9, 0, 0, "identity"), lambda: np.zeros((64, 64), np.float32))
    assert answers.bytes - before > 64 * 64 * 4
    remote = RawAnswer(200, "application/json", b"x" * 5000, {"Cache-Control": "no-cache"})
    assert size_of(remote) > 5000 + size_of({"Cache-Control": "no-cache"})


def test_half_the_bound_is_the_largest_answer_kept() -> None:
    """An answer of more than half the bound is returned but not kept (it would push out
    everything else); peek finds only what is kept and computes nothing."""
    answers = Answers(max_bytes=100_000)
    frame = raw()
    assert answers.keeps(50_000) and not answers.keeps(50_001)
    big = answers.get(frame, "big", lambda: b"b" * 60_000)
    assert len(big) == 60_000 and len(answers) == 0 and answers.peek(frame, "big") is None
    answers.get(frame, "small", lambda: b"s" * 10)
    assert answers.peek(frame, "small") == b"s" * 10 and answers.peek(raw(), "small") is None


_FILL = """
import gc, json, sys
import numpy as np, psutil
from framecast.science.answers import Answers
from framecast.science.raw import Raw

frame = Raw(np.zeros((16, 16), np.uint16))
answers = Answers(1 << 40)
process = psutil.Process()
gc.collect()
before = process.memory_info().rss
for i in range(40_000):  # what the analysis routes keep: small JSON answers
    x, y = 300 + i % 5000, 300 + i // 5000
    pixel = {"seq": 1, "x": x, "y": y, "value": i}
    answers.get(frame, ("pixel", x, y), lambda: json.dumps(pixel).encode())
    stats = {"seq": 1, "count": 100, "min": 3, "max": i, "mean": i / 7, "std": i / 9}
    answers.get(frame, ("stats", x, y, 10, 10), lambda: json.dumps(stats).encode())
    line = {"seq": 1, "values": [i, i + 1, i + 2]}
    answers.get(frame, ("profile", x + 0.5, y + 0.5, 20.0, 30.0), lambda: json.dumps(line).encode())
for i in range(400):  # raw tiles (float32 means)
    answers.get(frame, ("tile", 9, i, 0, "identity"), lambda: np.ones((100, 100), np.float32))
gc.collect()
print(json.dumps({"grown": process.memory_info().rss - before, "counted": answers.bytes}))
"""


def test_the_counted_bytes_follow_the_memory_really_used() -> None:
    """The cache's own figure (frame_cache_bytes) is within a factor of 1.5 of the RSS its
    answers take in a fresh process: 120 000 small JSON answers and 400 tiles."""
    done = subprocess.run(
        [sys.executable, "-c", _FILL], capture_output=True, text=True, timeout=100, check=True
    )
    figures = json.loads(done.stdout)
    grown, counted = figures["grown"], figures["counted"]
    print(f"RSS grew {grown / 2**20:.1f} MiB, counted {counted / 2**20:.1f} MiB")
    assert grown / 1.5 <= counted <= grown * 1.5, figures


def test_a_deep_zoom_burst_leaves_the_other_answers_of_the_one_budget() -> None:
    """Tiles, analysis answers and decoded pixels share one budget (max_frame_cache_bytes,
    448 MiB by default): a burst of tiles as large as the old tile budget (64 MiB) pushes out
    neither the statistics asked before it nor a frame's decoded pixels; past the budget,
    the least recently used go first, whatever their kind."""
    from framecast.config.settings import Settings

    budget = Settings().max_frame_cache_bytes
    cache = Answers(budget)
    frame = raw()
    pyramid = type("Pyramid", (), {})()  # a tile's owner, as a frame's pyramid is
    cache.get(frame, ("stats",), lambda: b'{"mean": 1}')
    cache.get(frame, ("decoded pixels",), lambda: np.zeros((3000, 4000), np.uint16))
    tile = bytes(1 << 20)
    for n in range(64):
        cache.get(pyramid, ("tile", 12, n, 0), lambda: tile)
    assert cache.peek(frame, ("stats",)) == b'{"mean": 1}'
    assert cache.peek(frame, ("decoded pixels",)) is not None
    assert 64 << 20 < cache.bytes <= budget
    small = Answers(8 << 20)  # a budget the burst overflows: the oldest entries leave first
    small.get(frame, ("stats",), lambda: b'{"mean": 1}')
    for n in range(16):
        small.get(pyramid, ("tile", 12, n, 0), lambda: tile)
    assert small.peek(frame, ("stats",)) is None and small.bytes <= 8 << 20
