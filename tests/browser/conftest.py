"""Browser fixtures: Debian's headless Chromium driven by Playwright, against the real
``ImageServer`` on a loopback port.

Every page records each request and WebSocket URL, console message and page error; the
``viewer`` fixture fails the test if a request left localhost or the page threw.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from framecast import ImageServer

CHROMIUM = os.environ.get("FRAMECAST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
#: Every HTTP(S) URL not on this machine. A page's requests to them are aborted (and recorded,
#: so the test fails): matched by Chromium's driver, where a Python predicate would be asked
#: once per request of the page (a tenth of a second per page load).
FOREIGN_URL = re.compile(r"^(?!https?://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?(?:/|$))")
#: Console errors a browser prints by itself while the server is down (expected in tests
#: that stop the server; never expected otherwise).
NETWORK_ERRORS = (
    "net::ERR_CONNECTION_REFUSED",
    "WebSocket connection to",
    "net::ERR_CONNECTION_RESET",
    "net::ERR_EMPTY_RESPONSE",
    "net::ERR_FAILED",  # a request the test aborts on purpose (page.route)
)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - dev extras not installed
    sync_api = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if sync_api is None:
        reason = "playwright is not installed: pip install -e '.[dev]'"
    elif not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    else:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module (each test gets a fresh context). Module scope,
    not session: Playwright's sync API cannot run two instances at once, so a module that
    starts its own must not find this one still running."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def start_server(work: Path, port: int = 0, **options: Any) -> ImageServer:
    """The real server, displayed on loopback, writing the web files at every frame."""
    options.setdefault("max_file_rate", 100)
    server = ImageServer(work_folder=work, port=port, displayed_address="ip:127.0.0.1", **options)
    server.start()
    return server


@pytest.fixture
def image_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ImageServer]:
    """A running ImageServer on a free loopback port; stopped after the test. Settings for
    it: ``@pytest.mark.parametrize("image_server", [{...}], indirect=True)``."""
    srv = start_server(tmp_path / "work", **getattr(request, "param", {}))
    try:
        yield srv
    finally:
        srv.stop()


@dataclass
class Viewer:
    """A page with everything it did recorded."""

    page: Any
    base: str
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    expect_network_errors: bool = False

    def open(self, path: str = "") -> None:
        """Open the page and wait until it is live. Not until the browser's load event: the
        page is live before OpenSeadragon's button images have come, and what a test waits
        for next (an image on screen, a tool) says when its own part has loaded."""
        self.page.goto(self.base + path, wait_until="commit")
        self.wait_live()

    def wait_live(self, timeout: float = 10_000) -> None:
        self.page.wait_for_function(
            "document.getElementById('status').dataset.state === 'live'", timeout=timeout
        )

    def wait_seq(self, seq: int, timeout: float = 10_000) -> None:
        """Wait until image #seq is on screen (swapped in and drawn)."""
        self.page.wait_for_function(
            "seq => document.getElementById('meta-seq').textContent === '#' + seq",
            arg=seq,
            timeout=timeout,
        )
        self.settle()

    def settle(self) -> None:
        """Let two animation frames pass, so that what was swapped in is painted."""
        self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )

    def image_pixels(self, margin: float = 0.2) -> Image.Image:
        """A screenshot of the image area, as an RGB PIL image, without its outer ``margin``
        on each side (where the zoom buttons and banners float over the image)."""
        shot = Image.open(io.BytesIO(self.page.locator("#osd").screenshot())).convert("RGB")
        width, height = shot.size
        dx, dy = round(width * margin), round(height * margin)
        return shot.crop((dx, dy, width - dx, height - dy))

    def console_errors(self) -> list[str]:
        errors = [text for kind, text in self.console if kind == "error"]
        if self.expect_network_errors:
            errors = [
                text for text in errors if not any(marker in text for marker in NETWORK_ERRORS)
            ]
        return errors

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if not is_local(url)]


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") in LOCAL_HOSTS


def new_viewer(
    chromium: Any, base: str, viewport: dict[str, int] | None = None
) -> tuple[Any, Viewer]:
    context = chromium.new_context(viewport=viewport or DESKTOP, service_workers="block")
    context.set_default_timeout(10_000)
    page = context.new_page()
    viewer = Viewer(page=page, base=base)
    page.on("request", lambda request: viewer.requests.append(request.url))
    page.on("websocket", lambda ws: viewer.requests.append(ws.url))
    page.on("console", lambda message: viewer.console.append((message.type, message.text)))
    page.on("pageerror", lambda error: viewer.errors.append(str(error)))
    refuse_foreign(context)
    return context, viewer


def refuse_foreign(context: Any) -> None:
    """Anything not on this machine is refused outright (and recorded by the request
    listeners, so it fails the test)."""
    context.route(FOREIGN_URL, lambda route: route.abort())


@pytest.fixture
def viewer(chromium: Any, image_server: ImageServer) -> Iterator[Viewer]:
    """A desktop-sized page on ``image_server`` (not yet opened); after the test: no page error,
    no console error, no request that left localhost."""
    context, v = new_viewer(chromium, f"http://127.0.0.1:{image_server.port}/")
    try:
        yield v
        assert v.errors == [], f"the page threw: {v.errors}"
        assert v.console_errors() == [], f"console errors: {v.console_errors()}"
        assert v.foreign_requests() == [], f"requests left localhost: {v.foreign_requests()}"
    finally:
        context.close()


@pytest.fixture(scope="module")
def module_page(chromium: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Viewer]:
    """One server and one opened desktop page for a whole module of tests that only call the
    page's ES modules (tests/browser/*_modules.py): opening a page per test cost more than
    the tests themselves."""
    server = start_server(tmp_path_factory.mktemp("work"))
    try:
        context, v = new_viewer(chromium, f"http://127.0.0.1:{server.port}/")
        try:
            v.open()
            yield v
        finally:
            context.close()
    finally:
        server.stop()


#: What a fresh tab starts with: no stored view or setting, no hash.
FRESH_TAB = (
    "() => { sessionStorage.clear(); localStorage.clear();"
    " history.replaceState(null, '', location.pathname + location.search); }"
)


@pytest.fixture
def page_open(module_page: Viewer) -> Iterator[Viewer]:
    """The module's shared page, its storage and hash cleared as in a fresh tab; after the
    test: no page error, console error or request that left localhost while it ran."""
    v = module_page
    v.page.evaluate(FRESH_TAB)
    errors, console, requests = len(v.errors), len(v.console), len(v.requests)
    yield v
    thrown = v.errors[errors:]
    assert thrown == [], f"the page threw: {thrown}"
    logged = [text for kind, text in v.console[console:] if kind == "error"]
    assert logged == [], f"console errors: {logged}"
    foreign = [url for url in v.requests[requests:] if not is_local(url)]
    assert foreign == [], f"requests left localhost: {foreign}"


def two_tone(
    left: tuple[int, int, int], right: tuple[int, int, int], width: int = 400, height: int = 300
) -> np.ndarray:
    """An RGB image whose left half is ``left`` and right half ``right``."""
    image = np.empty((height, width, 3), np.uint8)
    image[:, : width // 2] = left
    image[:, width // 2 :] = right
    return image


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def colour_share(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> float:
    """Fraction of ``image``'s pixels within ``tolerance`` of ``colour``."""
    pixels = np.asarray(image, dtype=np.int16)
    near = np.all(np.abs(pixels - np.array(colour, dtype=np.int16)) <= tolerance, axis=-1)
    return float(near.mean())
