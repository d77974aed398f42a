"""The timeline, blink and deep zoom (docs/history.md, docs/tiles.md) in real headless Chromium
against the real
ImageServer: what is on screen is checked from screenshots (pixels) and page text.

The history and tile routes come from other branches; the tests that need them skip (saying
so) on a server whose ``api/status`` does not announce a history or whose frames carry no
``tiles``, and run for real once those routes are there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import numpy as np
import pytest

from framecast import ImageServer
from tests.browser.conftest import Viewer, colour_share, new_viewer, start_server, two_tone
from tests.browser.test_viewer import BLUE, GREEN, RED, YELLOW, zoom_into_left_half

pytestmark = pytest.mark.browser


def plain(colour: tuple[int, int, int], width: int = 400, height: int = 300) -> np.ndarray:
    return two_tone(colour, colour, width, height)


def status_of(server: ImageServer) -> dict[str, Any]:
    with urlopen(f"{server.url}api/status", timeout=5) as response:
        return dict(json.load(response))


def require_history(server: ImageServer) -> None:
    assert "history_bytes" in status_of(server), "this server keeps no history (no history_bytes)"


def wait_text(viewer: Viewer, selector: str, text: str) -> None:
    viewer.page.wait_for_function(
        "([s, t]) => document.querySelector(s).textContent.includes(t)", arg=[selector, text]
    )


def test_timeline_steps_back_counts_new_and_returns_live(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """◀ shows the earlier frame (its pixels) at the same zoom; new frames only raise
    "N new" while looking back; Live shows the newest frame again."""
    require_history(image_server)
    viewer.open()
    image_server.publish(two_tone(RED, BLUE), metadata={"n": "first"})
    viewer.wait_seq(1)
    image_server.publish(two_tone(GREEN, YELLOW), metadata={"n": "second"})
    viewer.wait_seq(2)
    bar = viewer.page.locator("#timeline")
    bar.wait_for(state="visible")
    zoom_into_left_half(viewer)
    viewer.settle()
    assert colour_share(viewer.image_pixels(), GREEN) > 0.97
    before = viewer.page.evaluate("framecast.view.view()")

    viewer.page.click("#btn-back")
    viewer.wait_seq(1)
    assert colour_share(viewer.image_pixels(), RED) > 0.97  # the older frame, same region
    assert viewer.page.evaluate("framecast.view.view()") == pytest.approx(before, abs=1e-9)
    assert "#1" in viewer.page.inner_text("#timeline-where")
    assert viewer.page.locator("#timeline-new").is_hidden()

    image_server.publish(plain(BLUE), metadata={"n": "third"})
    wait_text(viewer, "#timeline-new", "1 new")
    image_server.publish(plain(YELLOW), metadata={"n": "fourth"})
    wait_text(viewer, "#timeline-new", "2 new")
    viewer.settle()
    assert viewer.page.inner_text("#meta-seq") == "#1"  # no jump to the new frames
    assert colour_share(viewer.image_pixels(), RED) > 0.97

    viewer.page.keyboard.press(".")  # a step forward, by keyboard
    viewer.wait_seq(2)
    assert colour_share(viewer.image_pixels(), GREEN) > 0.97

    viewer.page.click("#btn-live")
    viewer.wait_seq(4)
    assert colour_share(viewer.image_pixels(), YELLOW) > 0.97
    assert viewer.page.locator("#timeline-new").is_hidden()
    assert viewer.page.inner_text("#timeline-where") == "live"
    image_server.publish(plain(GREEN), metadata={"n": "fifth"})
    viewer.wait_seq(5)  # live again: new frames show
    assert viewer.page.evaluate("framecast.view.view()") == pytest.approx(before, abs=1e-9)


def test_blink_alternates_live_and_pinned(image_server: ImageServer, viewer: Viewer) -> None:
    """Blink at 2 Hz alternates the pinned earlier frame and the live one on screen, a
    few times a second; Live stops it on the live frame."""
    require_history(image_server)
    viewer.open()
    image_server.publish(plain(RED))
    viewer.wait_seq(1)
    image_server.publish(plain(BLUE))
    viewer.wait_seq(2)
    viewer.page.locator("#timeline").wait_for(state="visible")
    viewer.page.select_option("#blink-rate", "2")
    viewer.page.keyboard.press("b")
    wait_text(viewer, "#timeline-where", "blink #1")

    seen: list[str] = []
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        shot = viewer.image_pixels()
        if colour_share(shot, RED) > 0.9:
            seen.append("pinned")
        elif colour_share(shot, BLUE) > 0.9:
            seen.append("live")
    changes = sum(1 for a, b in pairwise(seen) if a != b)
    # 2 changes a second for 4 s: 8, give or take what a loaded machine's screenshots miss
    assert 3 <= changes <= 10, seen
    assert "pinned" in seen and "live" in seen

    viewer.page.click("#btn-live")
    viewer.wait_seq(2)
    assert colour_share(viewer.image_pixels(), BLUE) > 0.97


def test_timeline_hidden_without_history(image_server: ImageServer, viewer: Viewer) -> None:
    """A server that announces no history (an older one) gets no api/history request and
    shows no timeline; live images show as before."""

    def without_history(route: Any) -> None:
        response = route.fetch()
        status = response.json()
        status.pop("history_bytes", None)
        route.fulfill(response=response, json=status)

    viewer.page.route("**/api/status", without_history)
    viewer.open()
    image_server.publish(two_tone(RED, BLUE))
    viewer.wait_seq(1)
    image_server.publish(two_tone(GREEN, GREEN))
    viewer.wait_seq(2)
    assert colour_share(viewer.image_pixels(), GREEN) > 0.97
    assert viewer.page.locator("#timeline").is_hidden()
    assert not [url for url in viewer.requests if "history" in url]
    viewer.page.keyboard.press(",")  # the keys do nothing then
    viewer.settle()
    assert viewer.page.inner_text("#meta-seq") == "#2"


@pytest.fixture
def tiling_server(tmp_path: Path) -> Iterator[ImageServer]:
    """A server whose web images are at most 512 px: a 2400×1600 frame gets a pyramid."""
    server = start_server(tmp_path / "work", max_web_size=512)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tiling_viewer(chromium: Any, tiling_server: ImageServer) -> Iterator[Viewer]:
    context, v = new_viewer(chromium, tiling_server.url)
    try:
        yield v
        assert v.errors == [], f"the page threw: {v.errors}"
        assert v.foreign_requests() == []
    finally:
        context.close()


def checkerboard(width: int, height: int) -> np.ndarray:
    """Black and white 1-pixel checkerboard, RGB."""
    board = ((np.indices((height, width)).sum(axis=0) % 2) * 255).astype(np.uint8)
    return np.repeat(board[:, :, None], 3, axis=2)


def test_frame_with_tiles_loads_tiles(tiling_server: ImageServer, tiling_viewer: Viewer) -> None:
    """A frame with a DZI pyramid is shown from its tiles (requests to tiles/…); zooming in
    fetches deeper tiles, and a 1-pixel checkerboard is sharp there (native pixels)."""
    viewer = tiling_viewer
    viewer.open()
    frame = two_tone(RED, BLUE, 2400, 1600)
    frame[700:900, 500:700] = checkerboard(200, 200)
    tiling_server.publish(frame)
    viewer.wait_seq(1)
    data = json.loads((Path(tiling_server.web_folder) / "data.json").read_text())
    assert data["framecast"].get("tiles"), "data.json names no tiles for a large frame"
    assert any("/tiles/1.dzi" in url for url in viewer.requests), viewer.requests
    assert any("/tiles/1_files/" in url for url in viewer.requests), viewer.requests
    shallow = {url for url in viewer.requests if "_files/" in url}

    # zoom to native pixels on the checkerboard: the view centre is at (600, 800) px
    viewer.page.evaluate(
        """() => {
          const v = framecast.view;
          const box = v.osd.viewport.getContainerSize();
          const shownWidth = Math.min(box.x, box.y * 1.5);  // a 3:2 image at home
          v.setView({ zoom: (2400 / shownWidth) * 3, x: 600 / 2400, y: 800 / 2400 });
        }"""
    )
    viewer.page.wait_for_function(
        "() => framecast.view.osd.world.getItemAt(0).getFullyLoaded()", timeout=15_000
    )
    viewer.settle()
    deep = {url for url in viewer.requests if "_files/" in url} - shallow
    assert deep, "zooming in fetched no deeper tiles"
    shot = np.asarray(viewer.image_pixels(margin=0.4).convert("L"), dtype=np.int16)
    # black and white pixels side by side (the 512 px JPEG, a 5:1 downscale, is a flat grey:
    # std ≈ 0); the tile's own JPEG softens the 1-pixel pattern but keeps it
    assert shot.std() > 25

    tiling_server.publish(two_tone(GREEN, GREEN, 2400, 1600))
    viewer.wait_seq(2)
    assert any("/tiles/2_files/" in url for url in viewer.requests)


def test_tiles_missing_falls_back_to_jpeg(
    tiling_server: ImageServer, tiling_viewer: Viewer
) -> None:
    """When the pyramid answers 404, the page shows the frame's JPEG instead."""
    viewer = tiling_viewer
    viewer.page.route("**/tiles/**", lambda route: route.fulfill(status=404, body="gone"))
    viewer.open()
    tiling_server.publish(two_tone(RED, BLUE, 2400, 1600))
    data_path = Path(tiling_server.web_folder) / "data.json"
    viewer.wait_seq(1)
    assert json.loads(data_path.read_text())["framecast"].get("tiles"), "data.json names no tiles"
    assert any("/tiles/1.dzi" in url for url in viewer.requests)
    shot = viewer.image_pixels()
    assert colour_share(shot.crop((0, 0, shot.size[0] // 3, shot.size[1])), RED) > 0.9


def test_live_frames_need_no_data_json(image_server: ImageServer, viewer: Viewer) -> None:
    """With a history, each live frame is shown from its notification's metadata and its own
    history/<seq>.jpg, loaded once: data.json is read once at connection, not per frame."""
    require_history(image_server)
    viewer.open()
    # The page knows the server keeps history (its timeline shows) before the first frame:
    # a frame notified earlier is still shown through data.json, the way for servers
    # without history, which would count one read more.
    viewer.page.locator("#timeline").wait_for(state="visible")
    for index, colour in enumerate((RED, BLUE, GREEN), start=1):
        image_server.publish(plain(colour), metadata={"index": index})
        viewer.wait_seq(index)
        wait_text(viewer, "#meta", str(index))  # the notification's own metadata
    assert colour_share(viewer.image_pixels(), GREEN) > 0.97
    data_reads = [url for url in viewer.requests if "/data.json" in url]
    assert len(data_reads) == 1, data_reads
    for seq in (1, 2, 3):
        assert len([u for u in viewer.requests if f"/history/{seq}.jpg?" in u]) == 1
