"""Who presents on a stream (docs/together.md), without a server: the notices its viewers
hear, what goes to the other nodes, and the lease on another node's presentation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from framecast.live.hub import Hub
from framecast.live.presenter import Presenter
from framecast.live.protocol import Notice


async def _heard(hub: Hub, timeout: float = 1.0) -> dict[str, Any]:
    """The notice a viewer subscribing now hears first."""
    notice = await asyncio.wait_for(hub.subscribe("ws", notices=True).next(), timeout)
    assert isinstance(notice, Notice)
    value: dict[str, Any] = json.loads(notice.text)
    return value


async def test_a_presentation_taken_over_from_another_node_is_no_longer_said() -> None:
    """A viewer here presents (the other nodes are told); another node's presenter takes over:
    the other nodes are told this node's presentation ended, so it is not said again."""
    hub, relayed = Hub(), []
    presenter = Presenter(hub, "cam", lambda *said: relayed.append(said))
    ident = presenter.present("viewer", "zoom=2.000")
    presenter.remote("node-b", 7, "zoom=3.000")
    assert relayed == [("cam", ident, "zoom=2.000"), ("cam", ident, None)]
    assert await _heard(hub) == {"type": "presenter", "id": 7, "view": "zoom=3.000"}


async def test_another_nodes_presentation_ends_when_its_lease_runs_out() -> None:
    """Said again within its lease, another node's presentation goes on (its viewers hear
    nothing new); not said again, it ends: a viewer subscribed meanwhile hears the end."""
    hub = Hub()
    presenter = Presenter(hub, "cam")
    presenter.remote("node-b", 7, "zoom=3.000", lease=0.2)
    viewer = hub.subscribe("ws", notices=True)
    started = await asyncio.wait_for(viewer.next(), 1)
    assert isinstance(started, Notice) and json.loads(started.text)["view"] == "zoom=3.000"
    await asyncio.sleep(0.1)  # the lease's time passing is what is tested
    loop = asyncio.get_running_loop()
    said = loop.time()
    presenter.remote("node-b", 7, "zoom=3.000", lease=0.2)  # said again: nothing new
    ended = await asyncio.wait_for(viewer.next(), 1)
    assert loop.time() - said >= 0.19  # the lease counts from the last word (0.2 s)
    assert isinstance(ended, Notice)
    assert json.loads(ended.text) == {"type": "presenter", "id": 7, "view": None}
    assert presenter.ident is None
