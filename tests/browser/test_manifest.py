"""The viewer can be added to a phone's home screen: a valid web app manifest, its icons,
and a status bar that follows night mode. Checked by Chromium's own manifest parser and
installability check, on the real server."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer
from tests.browser.conftest import Viewer

pytestmark = pytest.mark.browser

FETCH = """async (path) => {
  const r = await fetch(path, {cache: 'no-store'});
  const bytes = new Uint8Array(await r.arrayBuffer());
  return {status: r.status, type: r.headers.get('Content-Type'), body: Array.from(bytes)};
}"""


def fetch(viewer: Viewer, path: str) -> tuple[int, str, bytes]:
    got = viewer.page.evaluate(FETCH, path)
    return got["status"], got["type"], bytes(got["body"])


def test_manifest_is_valid_and_installable(image_server: ImageServer, viewer: Viewer) -> None:
    """Chromium reads the manifest without error and finds nothing blocking installation;
    it opens standalone at the page it was added from, in the viewer's colours."""
    viewer.open()
    status, content_type, body = fetch(viewer, "manifest.webmanifest")
    assert status == 200
    assert content_type.startswith("application/manifest+json")
    manifest = json.loads(body)
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "./" and manifest["scope"] == "./"
    assert manifest["background_color"] == manifest["theme_color"] == "#101418"

    cdp = viewer.page.context.new_cdp_session(viewer.page)
    parsed = cdp.send("Page.getAppManifest")
    assert parsed["url"] == viewer.base + "manifest.webmanifest"
    assert parsed["errors"] == []
    errors: list[dict[str, Any]] = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # A Playwright context is an incognito profile, where nothing is ever installable: that
    # one reason is the browser's, every other would be the page's.
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []


def test_icons_are_the_declared_pngs(image_server: ImageServer, viewer: Viewer) -> None:
    """Every icon in the manifest is served as a PNG of its declared size; the maskable one
    keeps its drawing inside the circle launchers crop to, and the apple-touch-icon is there."""
    viewer.open()
    manifest = json.loads(fetch(viewer, "manifest.webmanifest")[2])
    purposes = set()
    for icon in manifest["icons"]:
        status, content_type, body = fetch(viewer, icon["src"])
        assert status == 200 and content_type == "image/png", icon
        image = Image.open(io.BytesIO(body))
        assert f"{image.width}x{image.height}" == icon["sizes"], icon
        purposes.add(icon["purpose"])
        if icon["purpose"] == "maskable":
            pixels = np.asarray(image.convert("RGBA").convert("RGB"), dtype=np.int16)
            yy, xx = np.mgrid[: image.height, : image.width]
            centre = (image.width - 1) / 2
            outside = np.hypot(xx - centre, yy - centre) > 0.4 * image.width
            corner = pixels[0, 0]
            assert np.abs(pixels[outside] - corner).max() <= 8, "drawing outside the safe zone"
    assert purposes == {"any", "maskable"}
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}
    href = viewer.page.get_attribute("link[rel=apple-touch-icon]", "href")
    status, content_type, body = fetch(viewer, href)
    assert status == 200 and Image.open(io.BytesIO(body)).size == (180, 180)


def test_status_bar_follows_night_mode(image_server: ImageServer, viewer: Viewer) -> None:
    """In night mode the browser's (or home-screen app's) status bar colour turns black."""
    viewer.open()
    colour = "document.querySelector('meta[name=theme-color]').content"
    assert viewer.page.evaluate(colour) == "#101418"
    viewer.page.keyboard.press("n")
    assert viewer.page.evaluate(colour) == "#000000"
