"""The hub: latest-wins slots, no replay, close semantics."""

from __future__ import annotations

import asyncio

from framecast.frames import Frame
from framecast.hub import Hub


def frame(seq: int) -> Frame:
    return Frame(seq=seq, time=float(seq), jpeg=b"x", width=1, height=1, metadata={})


async def test_subscriber_gets_only_frames_published_after_it_subscribed() -> None:
    """A late subscriber is not replayed the frame already published."""
    hub = Hub()
    hub.publish(frame(1))
    sub = hub.subscribe()
    waiter = asyncio.create_task(sub.next())
    await asyncio.sleep(0)
    assert not waiter.done()
    hub.publish(frame(2))
    got = await asyncio.wait_for(waiter, 1)
    assert got is not None and got.seq == 2


async def test_slow_subscriber_keeps_only_the_newest_frame() -> None:
    """Frames published while a client is busy replace each other; skips are counted."""
    hub = Hub()
    sub = hub.subscribe()
    for seq in range(1, 101):
        hub.publish(frame(seq))
    got = await asyncio.wait_for(sub.next(), 1)
    assert got is not None and got.seq == 100
    assert sub.skipped == 99 and hub.skipped == 99


async def test_close_wakes_waiters_with_none() -> None:
    """Closing the hub ends every waiting subscription with None."""
    hub = Hub()
    subs = [hub.subscribe() for _ in range(3)]
    waiters = [asyncio.create_task(s.next()) for s in subs]
    await asyncio.sleep(0)
    hub.close()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [None, None, None]
    assert hub.clients == 0
    late = hub.subscribe()
    assert await asyncio.wait_for(late.next(), 1) is None


async def test_closed_subscription_leaves_the_hub() -> None:
    """A closed subscription no longer counts as a client and gets no frames."""
    hub = Hub()
    sub = hub.subscribe("frames")
    assert hub.clients_by_kind() == {"frames": 1}
    sub.close()
    hub.publish(frame(1))
    assert hub.clients == 0
