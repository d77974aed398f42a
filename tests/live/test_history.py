"""The history ring (pure): bounded by count per stream and by bytes across streams."""

from __future__ import annotations

import numpy as np

from framecast.live.frames import Frame
from framecast.live.history import History, HistoryBudget, weight


def frame(seq: int, size: int = 1000, stream: str = "default") -> Frame:
    """A frame whose JPEG is ``size`` bytes (the rest of its weight is its renderings)."""
    return Frame(
        seq=seq,
        time=1_700_000_000.0 + seq,
        jpeg=bytes([seq % 256]) * size,
        width=4,
        height=3,
        metadata={"n": seq},
        stream=stream,
    )


def seqs(history: History) -> list[int]:
    return [f.seq for f in history.frames()]


def test_weight_counts_jpeg_renderings_and_arrays_once() -> None:
    """A frame weighs its JPEG, every rendering and its array; the same object counts once."""
    plain = frame(1, size=5000)
    renderings = plain.renderings
    rendered = sum(
        len(b)
        for b in (
            renderings.data_json,
            renderings.new_image,
            renderings.ws_message,
            renderings.frames_message,
            renderings.sse_event,
        )
    )
    assert weight(plain) == 5000 + rendered
    array = np.zeros((100, 100, 3), np.uint8)
    with_array = Frame(
        seq=2, time=1.0, jpeg=b"x" * 10, width=4, height=3, metadata={}, original=array
    )
    assert weight(with_array) >= 10 + array.nbytes
    jpeg = b"y" * 3000
    same = Frame(seq=3, time=1.0, jpeg=jpeg, width=4, height=3, metadata={}, original=jpeg)
    assert weight(same) < 3 * 3000  # JPEG + its /frames message; not the original again


def test_keeps_the_last_frames_oldest_first() -> None:
    """Beyond ``limit`` frames the oldest goes; the listing is oldest first, latest last."""
    history = History(3, HistoryBudget(10**9))
    for seq in range(1, 6):
        history.add(frame(seq))
    assert seqs(history) == [3, 4, 5]
    assert history.get(2) is None and history.get(5) is not None
    listing = history.listing()["frames"]
    assert [f["seq"] for f in listing] == [3, 4, 5]
    assert listing[-1] == {"seq": 5, "time": 1_700_000_005.0, "width": 4, "height": 3}


def test_zero_keeps_none() -> None:
    """``history = 0`` keeps nothing and uses none of the budget."""
    budget = HistoryBudget(10**9)
    history = History(0, budget)
    history.add(frame(1))
    assert len(history) == 0 and history.get(1) is None and budget.bytes == 0
    assert history.listing() == {"frames": []}


def test_count_eviction_gives_bytes_back() -> None:
    """Frames dropped by count leave the shared budget."""
    budget = HistoryBudget(10**9)
    history = History(2, budget)
    frames = [frame(seq) for seq in range(1, 5)]
    for f in frames:
        history.add(f)
    assert budget.bytes == weight(frames[2]) + weight(frames[3])
    history.clear()
    assert budget.bytes == 0 and len(history) == 0


def test_bytes_evict_the_oldest_of_any_stream() -> None:
    """Over the shared budget the oldest frames go first, whichever stream they belong to."""
    one = frame(1, 10_000, "cam1")
    budget = HistoryBudget(3 * weight(one) + 100)
    cam1, cam2 = History(100, budget), History(100, budget)
    cam1.add(frame(1, 10_000, "cam1"))
    cam2.add(frame(1, 10_000, "cam2"))
    cam1.add(frame(2, 10_000, "cam1"))
    assert seqs(cam1) == [1, 2] and seqs(cam2) == [1]
    cam2.add(frame(2, 10_000, "cam2"))  # one too many: cam1's frame 1 is the oldest
    assert seqs(cam1) == [2] and seqs(cam2) == [1, 2]
    cam2.add(frame(3, 10_000, "cam2"))  # now cam2's frame 1 is the oldest
    assert seqs(cam1) == [2] and seqs(cam2) == [2, 3]
    assert budget.bytes <= budget.max_bytes


def test_the_latest_frame_of_each_stream_stays() -> None:
    """A latest frame heavier than the whole budget is kept (it is live); the others go."""
    budget = HistoryBudget(1000)
    cam1, cam2 = History(100, budget), History(100, budget)
    cam1.add(frame(1, 5000))
    cam1.add(frame(2, 5000))
    cam2.add(frame(1, 5000))
    assert seqs(cam1) == [2] and seqs(cam2) == [1]
    assert budget.bytes == weight(frame(2, 5000)) + weight(frame(1, 5000))


def test_a_repeated_seq_replaces_the_kept_frame() -> None:
    """A frame numbered again (numbering restarted) replaces the old one, counted once."""
    budget = HistoryBudget(10**9)
    history = History(5, budget)
    history.add(frame(1, 100))
    history.add(frame(1, 200))
    assert len(history) == 1 and budget.bytes == weight(frame(1, 200))
    kept = history.get(1)
    assert kept is not None and len(kept.jpeg) == 200
