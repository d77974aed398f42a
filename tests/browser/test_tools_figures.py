"""A region's figures, its strip chart and a line's profile (docs/viewer.md with the
/api/stats and /api/profile), in real headless Chromium against the real ImageServer.
Skipped, saying so, on a server without the analysis routes."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from framecast import ImageServer
from tests.browser.conftest import Viewer
from tests.browser.test_tools import drag, key, page_point, wait_hash

pytestmark = pytest.mark.browser


def require_analysis(viewer: Viewer) -> None:
    answer = viewer.page.request.get(viewer.base + "api/stats")
    assert answer.status != 404 or "json" in answer.headers.get("content-type", ""), (
        "this server has no /api/stats (the analysis routes, docs/analysis.md)"
    )


def frame(level: int) -> np.ndarray:
    """uint16, 400 × 300: a bright 20 × 10 block at x 100..119, y 50..59 on `level`."""
    raw = np.full((300, 400), level, np.uint16)
    raw[50:60, 100:120] = 40000
    return raw


def stats_text(viewer: Viewer) -> dict[str, str]:
    got: dict[str, str] = viewer.page.evaluate(
        "() => { const out = {}; const dts = document.querySelectorAll('#tools-stats dt');"
        " for (const dt of dts) out[dt.textContent] = dt.nextElementSibling.textContent;"
        " return out; }"
    )
    return got


def test_region_figures_follow_each_frame(image_server: ImageServer, viewer: Viewer) -> None:
    """A drawn region shows /api/stats' figures for each new frame — integers whole, the
    others with at most 7 significant digits and all the server's digits on hover — and a
    strip chart of the mean over the frames since it was drawn."""
    viewer.open()
    image_server.publish(frame(1000))
    viewer.wait_seq(1)
    require_analysis(viewer)
    key(viewer, "r")
    drag(viewer, page_point(viewer, 90.5, 45.5), page_point(viewer, 129.5, 64.5))
    wait_hash(viewer, "roi=90,45,40,20")
    viewer.page.wait_for_function("document.querySelectorAll('#tools-stats dt').length > 5")
    figures = stats_text(viewer)
    # 200 pixels at 40000 and 600 at 1000 in the 40 × 20 region
    assert figures["count"] == "800"
    assert (figures["min"], figures["max"]) == ("1000", "40000")
    assert figures["mean"] == "10750"
    assert figures["sum"] == "8600000"
    std = float(np.std(np.array([40000.0] * 200 + [1000.0] * 600)))
    assert figures["std"] == f"{std:.7g}" != repr(std)  # 16887.5, not 16887.495373796...
    exact = viewer.page.get_attribute("#tools-stats dd:nth-of-type(5)", "title")
    assert exact is not None and float(exact) == pytest.approx(std, rel=1e-15)
    assert figures["saturated"] == "0"
    # The frame the region was drawn on is not a point of the chart (docs/viewer.md, "Charts").
    note = "document.getElementById('tools-strip-note').textContent"
    viewer.page.wait_for_function(f"{note} === 'mean: the chart starts with the next frame'")
    image_server.publish(frame(2000))
    viewer.wait_seq(2)
    viewer.page.wait_for_function(f"{note}.includes('1 frame')")
    assert stats_text(viewer)["min"] == "2000"
    assert viewer.page.inner_text("#tools-strip-note") == "mean = 11500 at #2 · 1 frame"


def test_line_profile_is_plotted_and_updated(image_server: ImageServer, viewer: Viewer) -> None:
    """A drawn line shows its profile from /api/profile, with every new frame."""
    viewer.open()
    image_server.publish(frame(1000))
    viewer.wait_seq(1)
    require_analysis(viewer)
    key(viewer, "/")
    drag(viewer, page_point(viewer, 90.5, 55.5), page_point(viewer, 130.5, 55.5))
    wait_hash(viewer, "line=90,55,130,55")
    note = "document.getElementById('tools-profile-note').textContent"
    viewer.page.wait_for_function(f"{note} === '#1: 41 points, 1000 … 40000'")
    image_server.publish(frame(3000))
    viewer.wait_seq(2)
    viewer.page.wait_for_function(f"{note} === '#2: 41 points, 3000 … 40000'")
    points: Any = viewer.page.evaluate("framecast.tools.figures.profile.points.length")
    assert points == 41


def test_readout_asks_the_server_at_most_ten_times_a_second(
    image_server: ImageServer, viewer: Viewer
) -> None:
    """Without levels or any tool opened, the status line shows /api/pixel's value as
    written (40000; 3.25e-05 for float32 data), and sweeping the pointer over the image asks
    at most ~10 times a second."""
    viewer.open()
    image_server.publish(frame(1000))
    viewer.wait_seq(1)
    require_analysis(viewer)
    readout = "document.getElementById('status-line').textContent"
    viewer.page.mouse.move(*page_point(viewer, 110.5, 55.5))
    viewer.page.wait_for_function(f"{readout} === 'x 110, y 55: 40000'")
    viewer.page.mouse.move(*page_point(viewer, 10.5, 5.5))
    viewer.page.wait_for_function(f"{readout} === 'x 10, y 5: 1000'")

    asked: list[float] = []
    viewer.page.on(
        "request", lambda r: asked.append(time.monotonic()) if "api/pixel" in r.url else None
    )
    sweep = [page_point(viewer, 20.5 + step * 5, 150.5) for step in range(60)]
    start = time.monotonic()
    for x, y in sweep:  # a sweep across 60 pixels in about a second
        viewer.page.mouse.move(x, y)
        viewer.page.wait_for_timeout(16)
    viewer.page.wait_for_function(f"{readout}.startsWith('x 315, y 150: ')")
    elapsed = time.monotonic() - start  # the requests counted were made within it
    assert len(asked) <= 10 * elapsed + 2, (len(asked), elapsed)

    raw = np.zeros((300, 400), np.float32)
    raw[7, 9] = 3.25e-05
    image_server.publish(raw)
    viewer.wait_seq(2)
    viewer.page.mouse.move(*page_point(viewer, 9.5, 7.5))
    viewer.page.wait_for_function(f"{readout} === 'x 9, y 7: 3.25e-05'")
