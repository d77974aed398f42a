"""The keyboard help and the blink's cost, in real headless Chromium against the real
ImageServer: what the page shows (text, pixels) and what it asks the server for."""

from __future__ import annotations

import time

import pytest

from framecast import ImageServer
from tests.browser.conftest import Viewer, colour_share
from tests.browser.test_history import plain, require_history, wait_text
from tests.browser.test_viewer import BLUE, RED

pytestmark = pytest.mark.browser


def test_help_lists_the_keys_and_the_keys_work(image_server: ImageServer, viewer: Viewer) -> None:
    """? opens a help listing every shortcut (← → L B N I ?); ← then shows the earlier frame
    and L the live one again."""
    require_history(image_server)
    viewer.open()
    image_server.publish(plain(RED))
    viewer.wait_seq(1)
    image_server.publish(plain(BLUE))
    viewer.wait_seq(2)
    viewer.page.locator("#timeline").wait_for(state="visible")
    help_dialog = viewer.page.locator("#help-dialog")
    assert help_dialog.is_hidden()

    viewer.page.keyboard.press("?")
    help_dialog.wait_for(state="visible")
    keys = [k.strip() for k in help_dialog.locator("kbd").all_inner_texts()]
    for key in ("←", "→", "L", "B", "N", "I", "?", "+", "-", "0", "Esc"):
        assert key in keys, keys
    text = help_dialog.inner_text()
    assert "back to the live image" in text and "blink" in text
    viewer.page.keyboard.press("Escape")
    help_dialog.wait_for(state="hidden")
    viewer.page.click("#btn-help")  # the button opens it too
    help_dialog.wait_for(state="visible")
    viewer.page.keyboard.press("Escape")
    help_dialog.wait_for(state="hidden")

    viewer.page.keyboard.press("ArrowLeft")
    viewer.wait_seq(1)
    assert colour_share(viewer.image_pixels(), RED) > 0.97
    viewer.page.keyboard.press("L")
    viewer.wait_seq(2)
    assert colour_share(viewer.image_pixels(), BLUE) > 0.97
    assert viewer.page.inner_text("#timeline-where") == "live"


def test_blink_swaps_decoded_images_without_requests(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """While blinking, the page flips between the two images it already decoded: 2 s of
    blink at 4 Hz show both images and neither ask the server for anything (but the page's
    own status read, due every 30 s and after an image once the last is 5 s old) nor load
    or decode an image again."""
    require_history(image_server)
    viewer.open()
    image_server.publish(plain(RED))
    viewer.wait_seq(1)
    image_server.publish(plain(BLUE))
    viewer.wait_seq(2)
    viewer.page.locator("#timeline").wait_for(state="visible")
    viewer.page.select_option("#blink-rate", "4")
    viewer.page.keyboard.press("b")
    wait_text(viewer, "#timeline-where", "blink #1")
    # both sides shown once (the pinned frame is fetched once, here)
    viewer.page.wait_for_function("document.getElementById('meta-seq').textContent === '#1'")
    viewer.page.wait_for_function("document.getElementById('meta-seq').textContent === '#2'")
    viewer.settle()

    viewer.page.evaluate(
        """() => {
          performance.clearResourceTimings();
          window.__added = 0;
          framecast.view.osd.world.addHandler('add-item', () => { window.__added += 1; });
        }"""
    )
    before = len(viewer.requests)
    seen: set[str] = set()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        shot = viewer.image_pixels()
        if colour_share(shot, RED) > 0.9:
            seen.add("pinned")
        elif colour_share(shot, BLUE) > 0.9:
            seen.add("live")
    assert seen == {"pinned", "live"}
    assert [url for url in viewer.requests[before:] if not url.endswith("/api/status")] == []
    # the browser's own cache would hide a re-read from the request log: none either
    fetched = viewer.page.evaluate(
        "performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => /history|web_image|data\\.json/.test(n))"
    )
    assert fetched == []
    # and nothing loaded or decoded again: no image was added to the view, only flipped
    assert viewer.page.evaluate("window.__added") == 0
