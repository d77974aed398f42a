"""The counters objects: every number a stream or the server counts, with one reset each."""

from __future__ import annotations

import dataclasses
import threading

from framecast.live.counters import ServerCounters, StreamCounters
from framecast.live.frames import Frame
from framecast.live.hub import Hub


def test_reset_zeroes_every_stream_counter() -> None:
    """A stream's reset() sets every one of its counters back to zero, whatever its name."""
    counters = StreamCounters()
    names = [item.name for item in dataclasses.fields(counters) if item.init]
    for number, name in enumerate(names, start=1):
        setattr(counters, name, number)
    counters.submitted(superseding=True)
    counters.reset()
    assert {name: getattr(counters, name) for name in names} == dict.fromkeys(names, 0)
    counters.submitted(superseding=False)
    assert (counters.frames_submitted, counters.frames_superseded) == (1, 0)


def test_reset_zeroes_every_server_counter() -> None:
    """The server's reset() sets every one of its counters back to zero."""
    counters = ServerCounters(*range(1, len(dataclasses.fields(ServerCounters)) + 1))
    counters.reset()
    assert counters == ServerCounters()


def test_images_submitted_from_many_threads_are_all_counted() -> None:
    """publish() may be called from any thread: every image submitted is counted once, and
    every one that replaced a waiting one as superseded."""
    counters = StreamCounters()

    def submit() -> None:
        for n in range(5000):
            counters.submitted(superseding=n % 2 == 0)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert (counters.frames_submitted, counters.frames_superseded) == (20000, 10000)


def test_a_hub_counts_into_the_stream_counters_it_is_given() -> None:
    """The hub counts frames published and frames a slow client skipped into its stream's
    counters, the object the stream's reset() zeroes."""
    counters = StreamCounters()
    hub = Hub(counters)
    hub.subscribe()
    for seq in (1, 2, 3):
        hub.publish(Frame(seq=seq, time=0.0, jpeg=b"", width=1, height=1, metadata={}))
    assert (counters.frames_published, counters.client_frames_skipped) == (3, 2)
    counters.reset()
    assert (counters.frames_published, counters.client_frames_skipped) == (0, 0)
