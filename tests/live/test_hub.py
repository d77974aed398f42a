"""The hub: latest-wins slots, no replay, close semantics."""

from __future__ import annotations

import asyncio
import json

from framecast.live.frames import Frame
from framecast.live.hub import Hub
from framecast.live.protocol import Notice


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
    assert sub.skipped == 99 and hub.counters.client_frames_skipped == 99


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


async def test_idle_subscriber_takes_the_direct_path() -> None:
    """A client whose sender waits with an empty slot gets the frame through ``direct``,
    without waking its task; the frame counts as delivered."""
    hub = Hub()
    sub = hub.subscribe()
    written: list[int] = []
    sub.direct = lambda f: written.append(f.seq) is None
    waiter = asyncio.create_task(sub.next())
    await asyncio.sleep(0)
    hub.publish(frame(1))
    hub.publish(frame(2))
    await asyncio.sleep(0)
    assert written == [1, 2] and not waiter.done()
    assert sub.delivered == 2 and sub.skipped == 0
    waiter.cancel()


async def test_direct_path_falls_back_to_the_slot() -> None:
    """When ``direct`` declines (bytes still buffered), the frame goes to the slot and the
    sender gets it; while the slot is full, newer frames replace it (latest wins)."""
    hub = Hub()
    sub = hub.subscribe()
    sub.direct = lambda f: False
    waiter = asyncio.create_task(sub.next())
    await asyncio.sleep(0)
    hub.publish(frame(1))
    hub.publish(frame(2))
    got = await asyncio.wait_for(waiter, 1)
    assert got is not None and got.seq == 2 and sub.skipped == 1


async def test_busy_subscriber_never_takes_the_direct_path() -> None:
    """A client that is not waiting (its sender is busy) never gets a direct write, so
    frames cannot overtake one being sent."""
    hub = Hub()
    sub = hub.subscribe()
    calls: list[int] = []
    sub.direct = lambda f: calls.append(f.seq) is None
    hub.publish(frame(1))  # nobody waits yet: goes to the slot
    assert calls == []
    got = await asyncio.wait_for(sub.next(), 1)
    assert got is not None and got.seq == 1


async def test_notices_reach_those_that_hear_them_newest_of_each_kind_first() -> None:
    """A notice goes to subscriptions that asked for notices only (not /frames'); a busy
    one gets the newest of each kind, before the frame waiting with it."""
    hub = Hub()
    told = hub.subscribe("ws", notices=True)
    deaf = hub.subscribe("frames")
    hub.publish(frame(1))
    for count in range(3):
        hub.announce(Notice.of("marks", {"marks": list(range(count))}))
    first = await asyncio.wait_for(told.next(), 1)
    assert isinstance(first, Notice) and json.loads(first.text)["marks"] == [0, 1]
    assert first.sse_event.startswith(b"event: marks\ndata: ")
    second = await asyncio.wait_for(told.next(), 1)
    assert isinstance(second, Frame) and second.seq == 1
    only = await asyncio.wait_for(deaf.next(), 1)
    assert isinstance(only, Frame) and only.seq == 1


async def test_a_standing_notice_is_heard_at_once_by_later_subscriptions() -> None:
    """A notice announced with keep (someone presents) reaches a subscription made later at
    once; after one of its kind without keep (nobody presents), a new one hears nothing."""
    hub = Hub()
    hub.announce(Notice.of("presenter", {"id": 1, "view": "zoom=2.000"}), keep=True)
    late = hub.subscribe("ws", notices=True)
    heard = await asyncio.wait_for(late.next(), 1)
    assert isinstance(heard, Notice) and json.loads(heard.text)["view"] == "zoom=2.000"
    assert hub.subscribe("frames")._notices == {}  # not for a subscription deaf to notices
    hub.announce(Notice.of("presenter", {"id": 1, "view": None}))
    later = hub.subscribe("ws", notices=True)
    hub.publish(frame(2))
    first = await asyncio.wait_for(later.next(), 1)
    assert isinstance(first, Frame) and first.seq == 2


async def test_an_idle_subscriber_takes_notices_directly_a_busy_one_the_newest() -> None:
    """A notice reaches an idle client through ``direct_notice`` (no task woken); while one
    waits unsent (the client is busy: its fast path declines), the next replaces it."""
    hub = Hub()
    sub = hub.subscribe("ws", notices=True)
    written: list[bytes] = []
    busy = False
    sub.direct_notice = lambda n: not busy and written.append(n.text) is None
    waiter = asyncio.create_task(sub.next())
    await asyncio.sleep(0)
    hub.announce(Notice.of("presenter", {"id": 1, "view": "a"}))
    assert [json.loads(t)["view"] for t in written] == ["a"] and not waiter.done()
    busy = True
    hub.announce(Notice.of("presenter", {"id": 1, "view": "b"}))
    hub.announce(Notice.of("presenter", {"id": 1, "view": "c"}))
    got = await asyncio.wait_for(waiter, 1)
    assert isinstance(got, Notice) and json.loads(got.text)["view"] == "c"
    assert sub._notices == {} and len(written) == 1
