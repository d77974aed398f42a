"""The Share dialog and the loopback notice in real headless Chromium, for a server whose
displayed address is a reverse proxy's public URL (docs/deploy.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framecast import ImageServer
from tests.browser.conftest import new_viewer

pytestmark = pytest.mark.browser

PUBLIC = "https://cam.example.org/"


@pytest.fixture
def proxied_server(tmp_path: Path) -> Iterator[ImageServer]:
    """A server as deploy.md runs it behind a proxy: loopback only, the public URL shown."""
    srv = ImageServer(
        work_folder=tmp_path / "work",
        host="127.0.0.1",
        port=0,
        displayed_address=PUBLIC,
        trusted_proxies="127.0.0.1",
    )
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_the_page_shares_the_public_url_without_a_loopback_warning(
    chromium: Any, proxied_server: ImageServer
) -> None:
    """Behind a proxy the page shows no "other devices cannot open this page" notice, and its
    Share dialog gives the public URL as link and as QR code (not http://127.0.0.1:PORT/)."""
    context, viewer = new_viewer(chromium, f"http://127.0.0.1:{proxied_server.port}/")
    try:
        viewer.open()
        viewer.page.wait_for_function(
            "document.getElementById('server-info').textContent.includes('framecast')"
        )
        assert viewer.page.locator("#access-warning").is_hidden()
        with viewer.page.expect_response(lambda r: "qr.svg" in r.url) as answer:
            viewer.page.click("#btn-share")
        assert answer.value.headers["x-framecast-url"] == PUBLIC
        viewer.page.wait_for_function("document.getElementById('share-qr').naturalWidth > 0")
        assert viewer.page.inner_text("#share-url") == PUBLIC
        assert viewer.page.get_attribute("#share-url", "href") == PUBLIC
        assert viewer.errors == [] and viewer.console_errors() == []
        assert viewer.foreign_requests() == [], "the public URL is shown, never fetched"
    finally:
        context.close()
