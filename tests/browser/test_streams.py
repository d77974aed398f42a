"""Several streams in real headless Chromium against the real ImageServer: the overview's
thumbnails follow each stream live, a click opens that stream's viewer, the stream menu
switches streams and each stream keeps its own zoom (docs/streams.md)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from framecast import ImageServer
from tests.browser.conftest import Viewer, colour_share, two_tone
from tests.browser.test_viewer import WAIT_VIEW_AT_REST, zoom_into_left_half

pytestmark = pytest.mark.browser

RED = (200, 30, 30)
BLUE = (30, 30, 200)
GREEN = (30, 190, 40)

SHOWN_SEQ = "name => document.querySelector(`li[data-stream='${name}'] img`)?.dataset.seq ?? null"
CHANGED = f"([name, before]) => ({SHOWN_SEQ})(name) !== before"


def publish(server: ImageServer, image: Any, stream: str, **metadata: Any) -> None:
    server.publish(image, metadata=metadata or None, stream=stream)


def thumbnail(viewer: Viewer, name: str) -> Image.Image:
    """What the card of stream ``name`` shows, as an RGB image (its middle half)."""
    shot = viewer.page.locator(f"li[data-stream='{name}'] .thumb img").screenshot()
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    w, h = image.size
    return image.crop((w // 4, h // 4, 3 * w // 4, 3 * h // 4))


def wait_thumbnail_changes(viewer: Viewer, name: str, before: str | None) -> str:
    """Wait until the card of ``name`` shows another image than ``before`` (its seq)."""
    viewer.page.wait_for_function(CHANGED, arg=[name, before])
    return str(viewer.page.evaluate(SHOWN_SEQ, name))


def test_overview_thumbnails_update_live(image_server: ImageServer, viewer: Viewer) -> None:
    """/streams shows one card per stream with its latest image, viewers and age; a new
    image on one stream replaces that card's picture without a reload, and only that one."""
    publish(image_server, two_tone(RED, RED), "cam1")
    publish(image_server, two_tone(BLUE, BLUE), "cam2")
    viewer.page.goto(viewer.base + "streams")
    viewer.page.wait_for_function("document.getElementById('status').dataset.state === 'live'")
    first = wait_thumbnail_changes(viewer, "cam1", None)
    wait_thumbnail_changes(viewer, "cam2", None)
    assert colour_share(thumbnail(viewer, "cam1"), RED) > 0.9
    assert colour_share(thumbnail(viewer, "cam2"), BLUE) > 0.9
    names = viewer.page.eval_on_selector_all(
        "li[data-stream]", "els => els.map(e => e.dataset.stream)"
    )
    assert {"cam1", "cam2"} <= set(names) and names == sorted(names)
    card = viewer.page.inner_text("li[data-stream='cam1']")
    assert "cam1" in card and "0 viewers" in card and "ago" in card
    viewer.page.evaluate("window.samePage = true")

    publish(image_server, two_tone(GREEN, GREEN), "cam1")
    wait_thumbnail_changes(viewer, "cam1", first)
    viewer.settle()
    assert colour_share(thumbnail(viewer, "cam1"), GREEN) > 0.9
    assert colour_share(thumbnail(viewer, "cam2"), BLUE) > 0.9
    assert viewer.page.evaluate("window.samePage") is True
    # bounded: the overview opens no socket at all, whatever the number of streams
    assert not [url for url in viewer.requests if url.startswith("ws")]


def test_click_opens_that_stream(image_server: ImageServer, viewer: Viewer) -> None:
    """Clicking a card opens that stream's viewer at /s/NAME/, showing that stream's image
    and hearing only that stream's new images."""
    publish(image_server, two_tone(RED, RED), "cam1")
    publish(image_server, two_tone(BLUE, BLUE), "cam2", camera="second")
    viewer.page.goto(viewer.base + "streams")
    wait_thumbnail_changes(viewer, "cam2", None)
    viewer.page.click("li[data-stream='cam2'] a")
    viewer.page.wait_for_url(viewer.base + "s/cam2/")
    viewer.wait_live()
    viewer.page.wait_for_function("document.getElementById('meta').textContent.includes('second')")
    viewer.settle()
    assert colour_share(viewer.image_pixels(), BLUE) > 0.97
    assert "cam2" in viewer.page.title()
    seq = viewer.page.inner_text("#meta-seq")

    publish(image_server, two_tone(GREEN, GREEN), "cam1")  # another stream: not shown here
    publish(image_server, two_tone(RED, BLUE), "cam2", camera="second, again")
    viewer.page.wait_for_function(
        "document.getElementById('meta').textContent.includes('second, again')"
    )
    viewer.settle()
    assert viewer.page.inner_text("#meta-seq") != seq
    shot = viewer.image_pixels()
    assert colour_share(shot, GREEN) < 0.01


def test_zoom_is_kept_per_stream(image_server: ImageServer, viewer: Viewer) -> None:
    """Zoomed into cam1, switching to cam2 with the stream menu shows cam2 whole; switching
    back finds cam1 at the same zoom and place."""
    publish(image_server, two_tone(RED, BLUE), "cam1")
    publish(image_server, two_tone(GREEN, GREEN, 300, 300), "cam2", camera="second")
    viewer.open("s/cam1/")
    viewer.page.wait_for_function("document.getElementById('meta-seq').textContent !== ''")
    zoom_into_left_half(viewer)
    viewer.settle()
    assert colour_share(viewer.image_pixels(), RED) > 0.97
    before = viewer.page.evaluate("framecast.view.view()")

    menu = viewer.page.locator("#stream-select")
    menu.wait_for(state="visible")
    assert viewer.page.get_attribute("#streams-link", "href") == "/streams"
    menu.select_option(label="cam2")
    viewer.page.wait_for_url(viewer.base + "s/cam2/")
    viewer.wait_live()
    viewer.page.wait_for_function("document.getElementById('meta').textContent.includes('second')")
    viewer.settle()
    assert viewer.page.evaluate("framecast.view.view()") is None  # cam2: the whole image
    assert colour_share(viewer.image_pixels(margin=0.3), GREEN) > 0.97

    viewer.page.locator("#stream-select").select_option(label="cam1")
    viewer.page.wait_for_url(viewer.base + "s/cam1/*")
    viewer.wait_live()
    viewer.page.wait_for_function("document.getElementById('meta-seq').textContent !== ''")
    viewer.page.wait_for_function(WAIT_VIEW_AT_REST)
    viewer.settle()
    after = viewer.page.evaluate("framecast.view.view()")
    assert after["zoom"] == pytest.approx(before["zoom"], rel=1e-3)
    assert (after["x"], after["y"]) == pytest.approx((before["x"], before["y"]), abs=1e-4)
    assert colour_share(viewer.image_pixels(), RED) > 0.97
