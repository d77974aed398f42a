"""Message formats and command parsing, without a server."""

from __future__ import annotations

import json

import pytest

from framecast.live import protocol
from framecast.live.frames import Frame


def test_new_image_message_carries_type_seq_and_metadata() -> None:
    """new_image has ALS's type plus seq, time, size and the data.json content."""
    frame = Frame(seq=7, time=12.5, jpeg=b"jpg", width=4, height=3, metadata={"STACK_SIZE": 12})
    message = json.loads(protocol.new_image_text(frame))
    assert message["type"] == "new_image"
    assert message["seq"] == 7 and message["width"] == 4 and message["height"] == 3
    assert message["metadata"]["STACK_SIZE"] == 12
    assert message["metadata"]["framecast"]["seq"] == 7


def test_disconnect_message() -> None:
    """The shutdown notice is exactly the ALS one."""
    assert json.loads(protocol.DISCONNECT) == {"type": "disconnect"}


@pytest.mark.parametrize(
    "text",
    ["not json", "{", b"\xff\xfe", "NaN", '{"cmd": NaN}', "[" * 100 + "]" * 100, ""],
)
def test_bad_json_is_reported(text: str | bytes) -> None:
    """Text that is not (strict) JSON gets the bad-json reply."""
    with pytest.raises(protocol.CommandError) as info:
        protocol.parse_command(text)
    assert info.value.reply == {"error": "bad json"}


@pytest.mark.parametrize("text", ["[]", "1", '"cmd"', "{}", '{"cmd": 5}', "null"])
def test_json_without_a_command_is_unknown(text: str) -> None:
    """JSON that is not an object with a string cmd is an unknown command."""
    with pytest.raises(protocol.CommandError) as info:
        protocol.parse_command(text)
    assert info.value.reply == {"error": "unknown command"}


def test_command_fields_are_kept() -> None:
    """Every field but cmd reaches the handler."""
    command = protocol.parse_command('{"cmd": "focus", "steps": 3, "fine": true}')
    assert command.name == "focus" and command.fields == {"steps": 3, "fine": True}


def test_sse_event_format() -> None:
    """An SSE event has id, event and data lines and ends with a blank line."""
    assert protocol.sse_event("new_image", '{"a":1}', event_id=3) == (
        b'id: 3\nevent: new_image\ndata: {"a":1}\n\n'
    )


def test_reply_encoding_never_fails() -> None:
    """Replies with odd values still encode as strict JSON."""
    text = protocol.encode_reply({"ok": True, "x": float("nan"), "p": object(), "l": (1, 2)})
    value = json.loads(text)
    assert value["x"] is None and value["l"] == [1, 2] and isinstance(value["p"], str)
