"""The viewer over HTTPS in real headless Chromium: it connects with wss:// by itself,
shows new images, and its operator button reaches /control over TLS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from framecast import ImageServer
from framecast.network.certificate import make_certificate

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("FRAMECAST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--ignore-certificate-errors",
    "--disable-gpu",
    "--disable-background-networking",
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[ImageServer]:
    made = make_certificate(tmp_path / "tls")
    server = ImageServer(
        work_folder=tmp_path / "work",
        port=0,
        displayed_address="ip:127.0.0.1",
        certfile=made.certfile,
        keyfile=made.keyfile,
        token="op",
        max_file_rate=100,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = browser.new_context(service_workers="block")
            context.set_default_timeout(15_000)
            yield context.new_page()
        finally:
            browser.close()


def test_viewer_uses_wss_and_operator_commands_work(tls_server: ImageServer, page: Any) -> None:
    """Loaded over https, the page opens wss:// sockets only, shows image #1, and "Save
    snapshot" with the operator token gets a saved path back over wss:// /control."""
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    base = f"https://127.0.0.1:{tls_server.port}/"
    page.goto(base + "?token=op")
    page.wait_for_function("document.getElementById('status').dataset.state === 'live'")
    tls_server.publish(np.tile(np.linspace(0, 255, 200).astype(np.uint8), (120, 1)))
    page.wait_for_function("document.getElementById('meta-seq').textContent === '#1'")
    assert sockets and all(url.startswith("wss://") for url in sockets), sockets
    button = page.locator("#btn-operator-snapshot")
    button.wait_for(state="visible")
    button.click()
    page.wait_for_function(
        "document.getElementById('operator-reply').textContent.includes('saved')"
    )
    saved = page.inner_text("#operator-reply").split("snapshot saved: ", 1)[1].strip()
    assert Path(saved).is_file()
    assert any(url.startswith("wss://") and "/control" in url for url in sockets), sockets
