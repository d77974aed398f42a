"""The browser fixtures' own guard: what a page may not reach is refused by URL."""

from __future__ import annotations

import pytest

from tests.browser.conftest import FOREIGN_URL, is_local


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/",
        "http://127.0.0.1:8000/js/main.js?x=1",
        "https://localhost/api/status",
        "http://[::1]:9/",
        "http://example.com/",
        "https://cdn.example.org/openseadragon.min.js",
        "http://127.0.0.1.evil.example/",
        "http://localhost.evil.example:80/x",
        "http://evil.example/?u=http://127.0.0.1/",
    ],
)
def test_the_route_refuses_exactly_what_is_not_local(url: str) -> None:
    """The pattern the pages' requests are matched against in Chromium's driver refuses
    every HTTP(S) URL that :func:`is_local` says leaves the machine, and no other."""
    assert bool(FOREIGN_URL.match(url)) is not is_local(url)
