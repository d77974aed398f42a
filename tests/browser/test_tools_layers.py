"""The tools' JavaScript keeps the viewer's layers (issue 17): the modules that draw never
touch the network, the ones that talk to the server never touch the page, and the pure ones
touch neither. Read from the sources, as the page loads them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "src" / "framecast" / "viewer" / "js" / "tools"
NETWORK = re.compile(r"\bfetch\(|\bWebSocket\b|\bXMLHttpRequest\b|\bEventSource\b")
PAGE = re.compile(r"\bdocument\.|\bwindow\.|\bgetElementById\b|\bquerySelector")

#: module → (may use the network, may use the page)
LAYERS = {
    "analysis.js": (False, False),
    "astro.js": (False, True),
    "chart.js": (False, True),
    "colormaps.js": (False, False),
    "colour.js": (False, False),
    "figures.js": (False, True),
    "keys.js": (False, True),
    "levels.js": (False, True),
    "levelspanel.js": (False, True),
    "loupe.js": (False, True),
    "marks.js": (False, True),
    "npy.js": (False, False),
    "overlay.js": (False, True),
    "pixeltable.js": (False, True),
    "point.js": (False, True),
    "rawframe.js": (False, False),
    "rawtext.js": (False, False),
    "rawtiles.js": (False, True),
    "readout.js": (False, True),
    "regionfile.js": (False, False),
    "regions.js": (False, True),
    "scalebar.js": (False, False),
    "series.js": (False, False),
    "sky.js": (False, True),
    "star.js": (False, True),
    "shapes.js": (False, True),
    "tilepaint.js": (False, False),
    "timeplot.js": (False, True),
    "toolstate.js": (False, False),
    "tools.js": (False, True),
    "toolspanel.js": (False, False),
}


def code(path: Path) -> str:
    """The source without its comments (which may name what the code must not do)."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def test_every_tools_module_has_a_layer() -> None:
    """No module of js/tools/ escapes this check."""
    assert sorted(p.name for p in TOOLS.glob("*.js")) == sorted(LAYERS)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_module_keeps_its_layer(name: str) -> None:
    """Drawing modules make no request; network modules touch no page element."""
    network, page = LAYERS[name]
    source = code(TOOLS / name)
    if not network:
        assert not NETWORK.search(source), f"{name} talks to the network"
    if not page:
        assert not PAGE.search(source), f"{name} touches the page"
