"""The names of the messages on `ws`, `events` and `control` are spelt the same in the viewer
(js/messages.js) as in the server (framecast.live.protocol, framecast.live.commands), and the
viewer spells them nowhere else (docs/viewer.md, "How it stays live"; docs/control.md)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framecast.live import protocol
from framecast.live.commands import BUILTIN_COMMANDS
from tests.browser.esmodules import JS, evaluate, needs_node

ROOT = JS.parents[3]
NAMES = (
    "return {newImage: m.NEW_IMAGE, disconnect: m.DISCONNECT, commands: m.COMMANDS,"
    " point: m.POINT, together: [m.PRESENT, m.STOP_PRESENTING, m.PRESENTING, m.PRESENTER,"
    " m.ALERT], marks: m.MARKS};"
)
#: A message name written out, a command sent under a name written in place, a type compared
#: with a name written in place.
WRITTEN = [
    re.compile(
        r"""(["'`])(new_image|disconnect|snapshot_now|present|stop_presenting|presenting"""
        r"""|presenter|alert|marks)\1"""
    ),
    re.compile(r"cmd:\s*[\"'`]\w+"),
    re.compile(r"\btype\s*===?\s*[\"'`]\w+"),
]


@dataclass
class _Frame:
    """What a ``new_image`` message says about a frame."""

    seq: int = 3
    time: float = 1.5
    width: int = 4
    height: int = 2
    tiles: str | None = None
    dtype: str | None = None
    raw_url: str | None = None
    image_url: str = "/image/3.jpg"
    image_format: str = "jpeg"

    def data(self) -> dict[str, Any]:
        return {}


def sse_event_names() -> set[str]:
    """The event names the server gives its Server-Sent Events (each ``sse_event`` call)."""
    names: set[str] = set()
    for path in (ROOT / "src" / "framecast").rglob("*.py"):
        names.update(re.findall(r"\bsse_event\(\s*\"([a-z_]+)\"", path.read_text()))
    return names


@needs_node
def test_the_viewer_spells_the_messages_as_the_server_does() -> None:
    """new_image and disconnect (on ws and as events' names), and the operator's commands,
    are the server's own names; the point command is the one the docs give the producer."""
    js = evaluate("messages.js", NAMES)
    assert js["newImage"] == protocol.new_image_payload(_Frame())["type"]
    assert js["newImage"] == json.loads(protocol.new_image_text(_Frame()))["type"]
    # the display image as js/livestate.js reads it (docs/imaging.md, "Line art")
    payload = protocol.new_image_payload(_Frame())
    assert (payload["image"], payload["format"]) == ("/image/3.jpg", "jpeg")
    assert js["disconnect"] == json.loads(protocol.DISCONNECT)["type"]
    assert sse_event_names() == {js["newImage"], js["disconnect"]}
    marks = protocol.Notice.of(protocol.MARKS, {"marks": []})
    assert js["marks"] == protocol.MARKS == json.loads(marks.text)["type"]
    assert marks.sse_event.startswith(f"event: {js['marks']}\n".encode())
    assert sorted(js["commands"].values()) == sorted(BUILTIN_COMMANDS)
    docs = (ROOT / "docs" / "viewer.md").read_text()
    assert f'`{{"cmd": "{js["point"]}"' in docs
    assert js["together"] == [
        protocol.PRESENT,
        protocol.STOP_PRESENTING,
        protocol.PRESENTING,
        protocol.PRESENTER,
        protocol.ALERT,
    ]


def test_no_other_module_spells_a_message_name() -> None:
    """Every module reads the names from js/messages.js: no other one writes them out, and
    no command is sent under a name written in place."""
    written = [
        f"{path.relative_to(JS)}: {found.group(0)}"
        for path in sorted(JS.rglob("*.js"))
        if path.name != "messages.js"
        for pattern in WRITTEN
        for found in pattern.finditer(_code(path))
    ]
    assert written == []


def _code(path: Path) -> str:
    """A module's source without its comments (which name the messages they describe)."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    return "\n".join(re.sub(r"(^|\s)//.*$", "", line) for line in text.splitlines())
