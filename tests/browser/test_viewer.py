"""The viewer page in real headless Chromium against the real ImageServer.

What a user would see is checked from screenshots (pixel colours) and page text.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from framecast import ImageServer
from tests.browser.conftest import (
    PHONE,
    Viewer,
    close_to,
    colour_share,
    new_viewer,
    start_server,
    two_tone,
)

pytestmark = pytest.mark.browser

RED = (200, 30, 30)
BLUE = (30, 30, 200)
GREEN = (30, 190, 40)
YELLOW = (220, 200, 30)

WAIT_VIEW_AT_REST = """() => {
  const v = framecast.view.osd.viewport;
  const view = framecast.view.view();
  return view !== null && Math.abs(v.getZoom(true) - v.getZoom(false)) < 1e-9
    && v.getCenter(true).equals(v.getCenter(false))
    && location.hash.includes('zoom=' + view.zoom.toFixed(3));
}"""


def meta_text(viewer: Viewer) -> str:
    return viewer.page.inner_text("#panel")


def zoom_into_left_half(viewer: Viewer) -> None:
    """Wheel-zoom (as a user would) into the middle of the image's left half."""
    box = viewer.page.locator("#osd").bounding_box()
    assert box is not None
    viewer.page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.5)
    for _ in range(5):
        for _ in range(4):  # notches in a row, as a flick of the wheel; then the view settles
            viewer.page.mouse.wheel(0, -120)
        viewer.page.wait_for_function(WAIT_VIEW_AT_REST)
        if viewer.page.evaluate("framecast.view.view().zoom") >= 4:
            return
    raise AssertionError("wheel zoom did not reach 4x")


def test_published_image_appears(image_server: ImageServer, viewer: Viewer) -> None:
    """A published image is drawn on screen: left half red, right half blue."""
    viewer.open()
    image_server.publish(two_tone(RED, BLUE), metadata={"STACK_SIZE": 1})
    viewer.wait_seq(1)
    shot = viewer.image_pixels()
    width, height = shot.size
    assert close_to(shot.getpixel((width // 4, height // 2)), RED)
    assert close_to(shot.getpixel((3 * width // 4, height // 2)), BLUE)
    assert re.search(r"updated \d+ s ago", viewer.page.inner_text("#age"))
    assert viewer.page.title().startswith("Live #1")
    # the age ticks on by itself
    viewer.page.wait_for_function(
        "/updated [1-9]\\d* s ago/.test(document.getElementById('age').textContent)",
        timeout=5_000,
    )


def test_metadata_text_updates(image_server: ImageServer, viewer: Viewer) -> None:
    """Every metadata key is listed (values as published, arrays plotted) and follows new images."""
    viewer.open()
    profile = np.exp(-(((np.arange(300) - 120) / 20.0) ** 2)).round(5).tolist()
    image_server.publish(
        two_tone(RED, BLUE),
        metadata={
            "STACK_SIZE": 12,
            "EXPO": "0:06:00",
            "beam_energy": 6.1234567,
            "image_profile_x": profile,
        },
    )
    viewer.wait_seq(1)
    text = meta_text(viewer)
    assert "Stack size\n12" in text or "Stack size\t12" in text
    assert "0:06:00" in text
    assert "6.1234567" in text
    assert "400 × 300 px" in text
    assert viewer.page.locator("#meta svg.plot polyline").count() == 1
    assert "300 values" in text

    image_server.publish(
        two_tone(RED, BLUE),
        metadata={"STACK_SIZE": 13, "EXPO": "0:06:30", "note": "<b onclick=x>bold</b>"},
    )
    viewer.wait_seq(2)
    text = meta_text(viewer)
    assert "13" in text and "0:06:30" in text
    assert "0:06:00" not in text and "beam_energy" not in text
    assert "<b onclick=x>bold</b>" in text  # shown as text, never as markup
    assert viewer.page.locator("#meta b").count() == 0


ROWS = """() => [...document.querySelectorAll('#meta dt')].map(
  dt => [dt.textContent, dt.title, dt.nextElementSibling.textContent])"""


def test_metadata_shown_exactly_as_published(image_server: ImageServer, viewer: Viewer) -> None:
    """Values keep their digits (4242, not "4 242"), unknown keys their spelling (FWHM_PX);
    only STACK_SIZE and EXPO get friendly labels, with the raw key on hover."""
    viewer.open()
    image_server.publish(
        two_tone(RED, BLUE),
        metadata={
            "STACK_SIZE": 4242,
            "EXPO": "0:06:00",
            "FWHM_PX": 2.3456789,
            "pulse_id": 12345678901234,
            "beamEnergy": -0.5,
        },
    )
    viewer.wait_seq(1)
    assert viewer.page.evaluate(ROWS) == [
        ["Stack size", "STACK_SIZE", "4242"],
        ["Total exposure", "EXPO", "0:06:00"],
        ["FWHM_PX", "FWHM_PX", "2.3456789"],
        ["pulse_id", "pulse_id", "12345678901234"],
        ["beamEnergy", "beamEnergy", "-0.5"],
    ]


def test_zoom_survives_update(image_server: ImageServer, viewer: Viewer) -> None:
    """Zoomed into one half of a two-tone image, a new image keeps exactly that view."""
    viewer.open()
    image_server.publish(two_tone(RED, BLUE))
    viewer.wait_seq(1)
    zoom_into_left_half(viewer)
    viewer.settle()
    assert colour_share(viewer.image_pixels(), RED) > 0.97  # only the left half is in view
    before = viewer.page.evaluate("framecast.view.view()")
    hash_before = viewer.page.evaluate("location.hash")
    assert before["zoom"] > 3

    image_server.publish(two_tone(GREEN, YELLOW))
    viewer.wait_seq(2)
    shot = viewer.image_pixels()
    assert colour_share(shot, GREEN) > 0.97  # the new image, same region: no yellow, no red
    after = viewer.page.evaluate("framecast.view.view()")
    assert after == pytest.approx(before, abs=1e-9)
    assert viewer.page.evaluate("location.hash") == hash_before


def test_view_survives_reload(image_server: ImageServer, viewer: Viewer) -> None:
    """The zoom and position are in the URL hash, so a reload opens the same region."""
    viewer.open()
    image_server.publish(two_tone(RED, BLUE))
    viewer.wait_seq(1)
    zoom_into_left_half(viewer)
    before = viewer.page.evaluate("framecast.view.view()")
    viewer.page.reload()
    viewer.wait_live()
    viewer.wait_seq(1)
    after = viewer.page.evaluate("framecast.view.view()")
    assert after["zoom"] == pytest.approx(before["zoom"], rel=1e-3)
    assert (after["x"], after["y"]) == pytest.approx((before["x"], before["y"]), abs=1e-4)
    assert colour_share(viewer.image_pixels(), RED) > 0.97


def test_newest_image_wins(image_server: ImageServer, viewer: Viewer) -> None:
    """A burst of images ends with the last one on screen and its metadata shown."""
    viewer.open()
    for i in range(40):
        image_server.publish(two_tone(RED, BLUE), metadata={"index": i})
    image_server.publish(two_tone(GREEN, GREEN), metadata={"index": 40, "last": True})
    viewer.page.wait_for_function("document.getElementById('meta').textContent.includes('yes')")
    viewer.settle()
    assert colour_share(viewer.image_pixels(), GREEN) > 0.9
    assert "40" in meta_text(viewer)
    assert re.fullmatch(r"[\d.]+ fps|– fps", viewer.page.inner_text("#fps"))


def test_stopped_notice_on_server_stop(image_server: ImageServer, viewer: Viewer) -> None:
    """When the server stops, the page says so and keeps the last image on screen."""
    viewer.expect_network_errors = True  # the browser logs its failed reconnection attempts
    viewer.open()
    image_server.publish(two_tone(RED, BLUE))
    viewer.wait_seq(1)
    image_server.stop()
    notice = viewer.page.locator("#notice")
    notice.wait_for(state="visible")
    assert "Server stopped" in notice.inner_text()
    assert "server stopped" in viewer.page.inner_text("#status")
    assert viewer.page.title().startswith("Stopped")
    shot = viewer.image_pixels()
    assert close_to(shot.getpixel((shot.size[0] // 4, shot.size[1] // 3)), RED)


def test_recovers_when_server_returns(
    image_server: ImageServer, viewer: Viewer, tmp_path: Path
) -> None:
    """After a stop, a new server on the same port is picked up without a reload, same zoom."""
    viewer.expect_network_errors = True
    port = image_server.port
    viewer.open()
    image_server.publish(two_tone(RED, BLUE), metadata={"run": "first"})
    viewer.wait_seq(1)
    zoom_into_left_half(viewer)
    before = viewer.page.evaluate("framecast.view.view()")
    viewer.page.evaluate("window.samePage = true")
    image_server.stop()
    viewer.page.wait_for_function("document.getElementById('status').dataset.state === 'stopped'")

    second = start_server(tmp_path / "second", port=port)
    try:
        viewer.wait_live(timeout=15_000)
        assert viewer.page.locator("#notice").is_hidden()
        second.publish(two_tone(GREEN, YELLOW), metadata={"run": "second"})
        viewer.page.wait_for_function(
            "document.getElementById('meta').textContent.includes('second')"
        )
        viewer.settle()
        assert colour_share(viewer.image_pixels(), GREEN) > 0.97  # new image, same region
        assert viewer.page.evaluate("framecast.view.view()") == pytest.approx(before, abs=1e-9)
        assert viewer.page.evaluate("window.samePage") is True  # no reload happened
    finally:
        second.stop()


def test_dropped_connection_reconnects(image_server: ImageServer, viewer: Viewer) -> None:
    """A connection that drops without notice is reported lost, retried, and live again."""
    viewer.open()
    viewer.page.evaluate(
        "window.states = [];"
        "framecast.live.addEventListener('state', e => states.push(e.detail.state))"
    )
    viewer.page.evaluate("framecast.live.socket.close()")
    viewer.page.wait_for_function("states.includes('reconnecting') && states.at(-1) === 'live'")
    image_server.publish(two_tone(GREEN, GREEN))
    viewer.wait_seq(1)
    assert colour_share(viewer.image_pixels(), GREEN) > 0.9


def test_page_is_local_and_error_free(image_server: ImageServer, viewer: Viewer) -> None:
    """Loading, updating, sharing and night mode make no console error and no remote request."""
    viewer.open()
    image_server.publish(
        two_tone(RED, BLUE), metadata={"STACK_SIZE": 3, "profile": [1.0, 2.0, 1.5]}
    )
    viewer.wait_seq(1)
    viewer.page.click("#btn-share")
    viewer.page.wait_for_function("document.getElementById('share-qr').naturalWidth > 0")
    assert viewer.page.inner_text("#share-url") == image_server.url
    viewer.page.keyboard.press("Escape")
    viewer.page.click("#btn-night")
    image_server.publish(two_tone(BLUE, RED), metadata={"STACK_SIZE": 4})
    viewer.wait_seq(2)
    assert viewer.requests, "no request recorded"
    assert all(
        url.startswith((viewer.base, viewer.base.replace("http", "ws", 1)))
        for url in viewer.requests
    )
    assert [kind for kind, _ in viewer.console if kind == "error"] == []


def test_access_limited_warning(image_server: ImageServer, viewer: Viewer) -> None:
    """A server that shows a loopback URL gets a visible warning on the page."""
    assert image_server.access_limited
    viewer.open()
    warning = viewer.page.locator("#access-warning")
    warning.wait_for(state="visible")
    assert "loopback" in warning.inner_text()
    viewer.page.click("#access-dismiss")
    assert warning.is_hidden()


def test_night_mode_is_red_and_remembered(image_server: ImageServer, viewer: Viewer) -> None:
    """Night mode shows the image in red only, and stays on after a reload."""
    viewer.open()
    image_server.publish(np.full((200, 200), 255, np.uint8))
    viewer.wait_seq(1)
    viewer.page.keyboard.press("n")
    assert viewer.page.evaluate("document.documentElement.classList.contains('night')")
    viewer.settle()
    shot = viewer.image_pixels()
    r, g, b = shot.getpixel((shot.size[0] // 2, shot.size[1] // 2))
    assert r > 200 and g < 30 and b < 30
    viewer.page.reload()
    viewer.wait_live()
    assert viewer.page.evaluate("document.documentElement.classList.contains('night')")
    assert viewer.page.get_attribute("#btn-night", "aria-pressed") == "true"


def test_phone_layout_has_no_layout_shift(chromium: Any, image_server: ImageServer) -> None:
    """On a phone the panel starts collapsed, and new metadata never resizes the image."""
    context, viewer = new_viewer(chromium, f"http://127.0.0.1:{image_server.port}/", PHONE)
    try:
        viewer.open()
        assert viewer.page.locator("#panel").is_hidden()
        image_server.publish(two_tone(RED, BLUE, 300, 400), metadata={"STACK_SIZE": 1})
        viewer.wait_seq(1)
        viewer.page.click("#btn-info")
        assert viewer.page.locator("#panel").is_visible()
        box = viewer.page.locator("#osd").bounding_box()
        bar = viewer.page.locator(".bar").bounding_box()
        image_server.publish(
            two_tone(RED, BLUE, 300, 400),
            metadata={"STACK_SIZE": 2, "EXPO": "0:00:20", "comment": "a much longer value " * 9},
        )
        viewer.wait_seq(2)
        assert viewer.page.locator("#osd").bounding_box() == box
        assert viewer.page.locator(".bar").bounding_box() == bar
        page_width = viewer.page.evaluate("document.documentElement.scrollWidth")
        assert page_width <= PHONE["width"]  # nothing sticks out sideways
        actions = "(e => e.scrollWidth <= e.clientWidth)(document.querySelector('.actions'))"
        assert viewer.page.evaluate(actions), "the buttons do not fit a phone's width"
        assert viewer.errors == [] and viewer.foreign_requests() == []
    finally:
        context.close()


def test_operator_buttons(image_server: ImageServer, viewer: Viewer) -> None:
    """With a control channel, "Save snapshot" shows the server's reply: a refusal before the
    first frame ("refused: no frame yet"), then the saved path."""
    viewer.open()
    status = viewer.page.evaluate("fetch('api/status').then(r => r.json())")
    assert status.get("control"), "this server has no /control channel"
    button = viewer.page.locator("#btn-operator-snapshot")
    button.wait_for(state="visible")
    button.click()
    reply = viewer.page.locator("#operator-reply")
    reply.wait_for(state="visible")
    assert "refused: no frame yet" in reply.inner_text()
    image_server.publish(two_tone(RED, BLUE))
    viewer.wait_seq(1)
    button.click()
    viewer.page.wait_for_function(
        "document.getElementById('operator-reply').textContent.includes('saved')"
    )
    saved = viewer.page.inner_text("#operator-reply").split("snapshot saved: ", 1)[1]
    assert Path(saved).is_file()


# A proxy that refuses WebSocket upgrades on /ws (the page's other sockets are untouched).
BLOCK_WS = """
const RealWebSocket = window.WebSocket;
window.WebSocket = class extends RealWebSocket {
  constructor(url, protocols) {
    super(String(url).replace(/\\/ws$/, '/ws-blocked-by-proxy'), protocols);
  }
};
"""


def test_falls_back_to_server_sent_events(
    image_server: ImageServer, viewer: Viewer, tmp_path: Path
) -> None:
    """Where WebSockets are blocked, the page goes live over /events, updates, and recovers."""
    viewer.expect_network_errors = True  # the refused WebSocket attempts are logged
    viewer.page.context.add_init_script(BLOCK_WS)
    viewer.open()
    assert viewer.page.inner_text("#status-text") == "live (event stream)"
    image_server.publish(two_tone(GREEN, GREEN), metadata={"STACK_SIZE": 7})
    viewer.wait_seq(1)
    assert colour_share(viewer.image_pixels(), GREEN) > 0.9
    assert "7" in meta_text(viewer)
    port = image_server.port
    image_server.stop()
    viewer.page.locator("#notice").wait_for(state="visible")
    assert "Server stopped" in viewer.page.inner_text("#notice")

    second = start_server(tmp_path / "second", port=port)
    try:
        viewer.wait_live(timeout=15_000)
        assert viewer.page.inner_text("#status-text") == "live (event stream)"
        second.publish(two_tone(BLUE, BLUE), metadata={"run": "second"})
        viewer.page.wait_for_function(
            "document.getElementById('meta').textContent.includes('second')"
        )
    finally:
        second.stop()


def test_operator_buttons_need_the_token(chromium: Any, tmp_path: Path) -> None:
    """With an operator token, the buttons show only for a page opened with that token."""
    server = start_server(tmp_path / "work", token="s3cret")
    base = f"http://127.0.0.1:{server.port}/"
    try:
        for query, visible in (("", False), ("?token=wrong", False), ("?token=s3cret", True)):
            context, viewer = new_viewer(chromium, base)
            viewer.expect_network_errors = True  # a refused /control upgrade is logged
            try:
                viewer.open(query)
                # the decision is taken once api/status and the /control probe answered
                viewer.page.wait_for_function("framecast.operatorDecided === true")
                button = viewer.page.locator("#btn-operator-snapshot")
                assert button.is_visible() is visible, query
                if visible:
                    button.click()
                    viewer.page.wait_for_function(
                        "document.getElementById('operator-reply').textContent.length > 0"
                    )
                    assert "no frame yet" in viewer.page.inner_text("#operator-reply")
                assert viewer.errors == []
            finally:
                context.close()
    finally:
        server.stop()


def test_keyboard_reaches_the_image_and_zooms(image_server: ImageServer, viewer: Viewer) -> None:
    """Tab reaches "Skip to the image"; Enter focuses the image, whose + key zooms in."""
    viewer.open()
    image_server.publish(two_tone(RED, BLUE))
    viewer.wait_seq(1)
    viewer.page.keyboard.press("Tab")
    assert viewer.page.evaluate("document.activeElement.textContent") == "Skip to the image"
    viewer.page.keyboard.press("Enter")
    assert viewer.page.evaluate("document.activeElement === framecast.view.osd.canvas")
    viewer.page.keyboard.press("Equal")
    viewer.page.wait_for_function(WAIT_VIEW_AT_REST)
    assert viewer.page.evaluate("framecast.view.view().zoom") > 1.05
    assert "image" not in viewer.page.evaluate("location.hash")


SAMPLE_CENTRE = """() => {
  window.samples = [];
  const sample = () => {
    const canvas = framecast.view.osd.drawer.canvas;
    const ctx = canvas.getContext('2d');
    const [r, g, b] = ctx.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data;
    samples.push([r, g, b]);
    if (!window.stopSampling) requestAnimationFrame(sample);
  };
  requestAnimationFrame(sample);
}"""


def test_swaps_never_show_a_blank_frame(image_server: ImageServer, viewer: Viewer) -> None:
    """Sampled at every animation frame, the image centre is always the old or the new image."""
    viewer.open()
    image_server.publish(np.full((300, 400, 3), RED, np.uint8))
    viewer.wait_seq(1)
    viewer.page.evaluate(SAMPLE_CENTRE)
    for seq in range(2, 8):
        colour = BLUE if seq % 2 == 0 else RED
        image_server.publish(np.full((300, 400, 3), colour, np.uint8))
        viewer.wait_seq(seq)
    samples = viewer.page.evaluate("window.stopSampling = true; samples")
    assert len(samples) > 10
    blank = [s for s in samples if not (close_to(s, RED) or close_to(s, BLUE))]
    assert blank == [], f"{len(blank)} of {len(samples)} frames showed neither image"
    assert any(close_to(s, BLUE) for s in samples) and close_to(samples[-1], RED)


def test_age_is_right_on_a_device_with_a_wrong_clock(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """A phone whose clock is an hour ahead still reads "updated 0 s ago" for a new image."""
    viewer.page.clock.set_system_time(time.time() + 3600)
    viewer.open()
    image_server.publish(two_tone(RED, BLUE))
    viewer.wait_seq(1)
    assert re.fullmatch(r"updated [0-2] s ago", viewer.page.inner_text("#age"))


def test_images_superseded_before_anyone_watched_are_called_superseded(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """Images replaced by newer ones while nobody watched are reported in the page's status
    line as superseded, not as dropped (nothing was lost)."""
    for i in range(40):
        image_server.publish(two_tone((200, 0, 0), (0, 0, 200)), metadata={"i": i})
    deadline = time.monotonic() + 20
    while image_server.status()["frames_superseded"] == 0:  # poll with a deadline
        assert time.monotonic() < deadline, "no image superseded within 20 s"
        time.sleep(0.02)
    superseded = image_server.status()["frames_superseded"]
    viewer.open()
    viewer.page.wait_for_function(
        "document.getElementById('server-info').textContent.includes(' superseded')"
    )
    text = viewer.page.inner_text("#server-info")
    assert re.search(r"\b(\d+) superseded\b", text) and "dropped" not in text
    assert int(re.search(r"\b(\d+) superseded\b", text)[1]) >= superseded
