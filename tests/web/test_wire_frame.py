"""The shared WebSocket frame written straight to idle clients (``web/liveclient.py`` fast path,
frames built by ``protocol.websocket_frame``)."""

from __future__ import annotations

import asyncio
import struct

import aiohttp
import numpy as np
import pytest
import simplejpeg

from framecast import ImageServer
from framecast.live.protocol import websocket_frame
from tests.conftest import base, next_json, until


@pytest.mark.parametrize(("size", "header"), [(125, 2), (126, 4), (65535, 4), (65536, 10)])
def test_frame_header_encodes_every_length_form(size: int, header: int) -> None:
    """Payloads of 125, 126, 65535 and 65536 bytes get the 7-bit, 16-bit and 64-bit length
    forms of RFC 6455, FIN set, binary opcode, no mask, and the payload unchanged."""
    payload = bytes(range(256)) * (size // 256 + 1)
    payload = payload[:size]
    data = websocket_frame(payload, binary=True)
    assert data[0] == 0x82 and not data[1] & 0x80
    if header == 2:
        assert data[1] == size
    elif header == 4:
        assert data[1] == 126 and struct.unpack("!H", data[2:4])[0] == size
    else:
        assert data[1] == 127 and struct.unpack("!Q", data[2:10])[0] == size
    assert data[header:] == payload


def test_text_payload_is_a_utf8_text_frame() -> None:
    """A str payload becomes a text frame (opcode 1) of its UTF-8 bytes."""
    data = websocket_frame("é".encode(), binary=False)
    assert data == b"\x81\x02" + "é".encode()


async def test_clients_receive_large_binary_and_text_messages_intact(
    server: ImageServer, http: aiohttp.ClientSession
) -> None:
    """Through the fast path, a /frames client gets a 300 KB JPEG byte for byte and a /ws
    client a notification over 64 KB that parses as JSON, message after message."""
    rng = np.random.default_rng(0)
    async with (
        http.ws_connect(base(server) + "/frames") as frames,
        http.ws_connect(base(server) + "/ws") as notify,
    ):
        await until(lambda: server.status()["clients"] == 2, what="two clients")
        for i in range(3):
            pixels = rng.integers(0, 255, (400, 400, 1), dtype=np.uint8)
            jpeg = simplejpeg.encode_jpeg(pixels, quality=95, colorspace="GRAY")
            assert len(jpeg) > 65536
            server.publish(jpeg, metadata={"i": i, "profile": list(range(15000))})
            message = await asyncio.wait_for(frames.receive(), 5)
            while message.type == aiohttp.WSMsgType.TEXT:  # none expected, but tolerate
                message = await asyncio.wait_for(frames.receive(), 5)
            assert message.type == aiohttp.WSMsgType.BINARY and message.data == jpeg
            note = await next_json(notify, timeout=5)
            assert note["type"] == "new_image" and note["metadata"]["i"] == i
            assert len(note["metadata"]["profile"]) == 15000
