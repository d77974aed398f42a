"""Fuzzing through a real ``framecast serve`` process: metadata on ``POST /api/frames``,
messages on a real ``/control`` socket and a real bsread stream. Every input gets its
documented answer, and afterwards the server is alive, no task died, and a new image
still reaches a viewer."""

from __future__ import annotations

import itertools
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st
from websockets.sync.client import connect

from framecast.sources.bsread import wire as bsread_wire
from tests.robustness.conftest import FUZZ, Served, serving, small_jpeg, still_publishing
from tests.robustness.test_fuzz_parsers import JSON_VALUES, bsread_messages, nesting

pytestmark = pytest.mark.timeout(600)

JPEG = small_jpeg(1)
RESET_REPLY = {"ok": True, "counters": "reset"}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module's fuzzing (its state carries from example to example, as a
    real server's would)."""
    # Every example's commands go to one stream, as fast as it answers: no rate limit here.
    limits = ("--max-stream-command-rate", "1000000", "--max-stream-command-burst", "1000000")
    with serving(tmp_path_factory.mktemp("fuzz"), "--max-file-rate", "50", *limits) as server:
        yield server


def post(served: Served, *, header: str | None, query: str | None) -> tuple[int, Any]:
    """POST a small JPEG with metadata in the header and/or the query; status and answer."""
    url = f"{served.url}/api/frames"
    if query is not None:
        url += "?" + urllib.parse.urlencode({"metadata": query})
    request = urllib.request.Request(url, data=JPEG, method="POST")
    if header is not None:
        request.add_header("X-Framecast-Metadata", header)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, body[:200]


def _reject(name: str) -> Any:
    raise ValueError(name)


def expected(text: str | None) -> set[int]:
    """The answers docs/control.md allows for one metadata text: 202, or 400 for bad or too deep
    JSON
    (within two levels of the limit of 32 either is accepted)."""
    if text is None:
        return {202}
    try:
        value = json.loads(text, parse_constant=_reject)
    except (ValueError, RecursionError):
        return {400}
    if not isinstance(value, dict):
        return {400}
    depth = nesting(value)
    return {202} if depth <= 30 else {400} if depth >= 33 else {202, 400}


HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
METADATA = (
    JSON_VALUES.map(json.dumps)
    | st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=4).map(json.dumps)
    | st.integers(1, 2000).map(lambda n: '{"deep": ' + "[" * n + "]" * n + "}")
    | HEADER_TEXT
)


def test_ingest_metadata_fuzz(fuzzed: Served) -> None:
    """Metadata in the header, the query or both: 202 for a JSON object up to 30 levels deep,
    400 for anything else (never 500), then the server still publishes."""

    @FUZZ
    @given(st.none() | METADATA, st.none() | METADATA | st.text(max_size=40))
    def one(header: str | None, query: str | None) -> None:
        status, answer = post(fuzzed, header=header, query=query)
        by_header, by_query = expected(header), expected(query)
        allowed = {400} if {400} in (by_header, by_query) else by_header | by_query
        assert status in allowed, (status, answer, header, query)
        too_long = len(urllib.parse.urlencode({"metadata": query or ""})) > 8000 or (
            len(header or "") > 8000
        )
        if status == 400 and not too_long:  # aiohttp refuses lines over 8190 bytes itself
            assert isinstance(answer, dict) and answer.get("ok") is False

    one()
    still_publishing(fuzzed)


def test_control_socket_fuzz(fuzzed: Served) -> None:
    """Batches of text, binary and invalid-UTF-8 messages on one /control socket: exactly one
    JSON reply each, in order (a trailing reset answers last), the socket stays open."""
    message = (
        JSON_VALUES.map(json.dumps)
        | st.builds(
            lambda name, v: json.dumps({"cmd": name, "v": v}), st.text(max_size=8), JSON_VALUES
        ).filter(lambda t: '"reset"' not in t and "snapshot_now" not in t)
        | st.text(max_size=60)
        | st.binary(max_size=60).map(lambda b: ("bytes", b))
        | st.binary(min_size=1, max_size=30).map(lambda b: ("text", b"\xff" + b))
    )

    @FUZZ
    @given(st.lists(message, min_size=1, max_size=6))
    def one(messages: list[Any]) -> None:
        with connect(f"{fuzzed.ws_url}/control", open_timeout=10, close_timeout=2) as ws:
            for item in messages:
                if isinstance(item, tuple):
                    ws.send(item[1], text=item[0] == "text")
                else:
                    ws.send(item)
            ws.send('{"cmd": "reset"}')
            replies = [json.loads(ws.recv(timeout=10)) for _ in range(len(messages) + 1)]
            assert all(isinstance(reply, dict) for reply in replies)
            assert replies[-1] == RESET_REPLY, replies
            assert RESET_REPLY not in replies[:-1], replies

    one()
    still_publishing(fuzzed)


def test_invalid_utf8_on_control_is_bad_json(fuzzed: Served) -> None:
    """A text frame that is not UTF-8 gets {"error": "bad json"} and the socket stays open."""
    with connect(f"{fuzzed.ws_url}/control", open_timeout=10) as ws:
        ws.send(b'{"cmd": "\xff\xfe"}', text=True)
        assert json.loads(ws.recv(timeout=10)) == {"error": "bad json"}
        ws.send('{"cmd": "reset"}')
        assert json.loads(ws.recv(timeout=10)) == RESET_REPLY


# -- bsread ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, zmq.Socket[Any]]]:
    """A server reading a bsread stream from a PUSH socket this test owns."""
    port = _free_port()
    context = zmq.Context.instance()
    push = context.socket(zmq.PUSH)
    push.setsockopt(zmq.SNDTIMEO, 10_000)
    push.setsockopt(zmq.LINGER, 0)
    push.bind(f"tcp://127.0.0.1:{port}")
    try:
        with serving(
            tmp_path_factory.mktemp("bsread"), "--zmq", f"tcp://127.0.0.1:{port}"
        ) as server:
            yield server, push
    finally:
        push.close(0)


def test_bsread_stream_fuzz(stream: tuple[Served, zmq.Socket[Any]]) -> None:
    """Mutated bsread messages on a live stream: each is skipped or shown, and the valid
    message sent after them reaches a /ws viewer with its pulse id."""
    served, push = stream
    pulses = itertools.count(1_000_000)
    image = (np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 7).astype(np.uint16)

    with connect(f"{served.ws_url}/ws", open_timeout=10) as viewer:

        @FUZZ
        @given(st.lists(bsread_messages(), min_size=1, max_size=5))
        def one(messages: list[list[bytes]]) -> None:
            for parts in messages:
                if parts:
                    push.send_multipart(parts)
            pulse = next(pulses)
            push.send_multipart(
                bsread_wire.encode_message({"image": image, "n": pulse}, pulse_id=pulse)
            )
            while True:
                data = json.loads(viewer.recv(timeout=15))
                if data.get("type") == "new_image" and data["metadata"].get("pulse_id") == pulse:
                    return

        one()
    still_publishing(served)
