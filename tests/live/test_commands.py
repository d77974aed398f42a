"""Command dispatch without a server: built-ins, custom handlers, snapshot files."""

from __future__ import annotations

import asyncio
import io
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from framecast.errors import ConfigError
from framecast.live.commands import BUILTIN_COMMANDS, Commands, save_snapshot
from framecast.live.frames import Frame
from framecast.live.protocol import Command
from tests.conftest import gradient, until


@dataclass
class FakeSession:
    folder: Path
    latest: Frame | None = None
    resets: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def snapshot_folder(self) -> Path:
        return self.folder

    def reset_counters(self) -> None:
        self.resets += 1


def frame(seq: int = 1, original: Any = None) -> Frame:
    pixels = gradient(64, 48) if original is None else original
    return Frame(seq=seq, time=1.0, jpeg=b"", width=64, height=48, metadata={}, original=pixels)


def pixels_of(path: Path) -> np.ndarray:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        assert image.format == "JPEG"
        return np.asarray(image.convert("L"))


async def test_snapshot_before_any_frame(tmp_path: Path) -> None:
    """snapshot_now with no frame replies exactly {"ok": false, "reason": "no frame yet"}."""
    reply = await Commands().dispatch(Command("snapshot_now"), FakeSession(tmp_path / "snapshots"))
    assert reply == {"ok": False, "reason": "no frame yet"}
    assert not (tmp_path / "snapshots").exists()


async def test_snapshot_saves_full_resolution_jpeg(tmp_path: Path) -> None:
    """The saved file is an absolute path under the folder, decodes, and keeps full size."""
    big = gradient(3000, 200)
    session = FakeSession(tmp_path / "snapshots", latest=frame(7, big))
    reply = await Commands().dispatch(Command("snapshot_now"), session)
    assert set(reply) == {"ok", "saved"} and reply["ok"] is True
    path = Path(reply["saved"])
    assert path.is_absolute() and path.parent == (tmp_path / "snapshots").resolve()
    pixels = pixels_of(path)
    assert pixels.shape == (200, 3000)
    assert pixels[:, :20].mean() < 30 and pixels[:, -20:].mean() > 225
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")], "temp file left"


def test_snapshot_names_never_collide(tmp_path: Path) -> None:
    """Fifty snapshots of the same frame from eight threads, in well under a second, are
    fifty distinct files."""
    shot = frame(3)
    paths: list[Path] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50 // 5):
            path = save_snapshot(shot, tmp_path)
            with lock:
                paths.append(path)

    threads = [threading.Thread(target=take) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(paths) == 50 and len(set(paths)) == 50
    assert len(list(tmp_path.glob("*.jpg"))) == 50
    assert all("-000003-" in p.name for p in paths), "the name carries the frame's seq"


async def test_reset_calls_the_session() -> None:
    """reset replies exactly {"ok": true, "counters": "reset"} and resets the session."""
    session = FakeSession(Path("unused"))
    assert await Commands().dispatch(Command("reset"), session) == {
        "ok": True,
        "counters": "reset",
    }
    assert session.resets == 1


async def test_unknown_command() -> None:
    """A name nobody registered replies exactly {"error": "unknown command"}."""
    reply = await Commands().dispatch(Command("teleport"), FakeSession(Path("unused")))
    assert reply == {"error": "unknown command"}


async def test_sync_and_async_handlers_get_fields_and_reply() -> None:
    """A sync handler (run off the loop) and an async one both get the fields; None → ok."""
    commands = Commands()
    loop_thread = threading.get_ident()
    seen: dict[str, Any] = {}

    def focus(fields: dict[str, Any]) -> dict[str, Any]:
        seen["thread"] = threading.get_ident()
        return {"ok": True, "moved": fields["steps"]}

    async def park(fields: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        seen["park"] = fields

    commands.register("focus", focus)
    commands.register("park", park)
    session = FakeSession(Path("unused"))
    assert await commands.dispatch(Command("focus", {"steps": 5}), session) == {
        "ok": True,
        "moved": 5,
    }
    assert seen["thread"] != loop_thread, "a sync handler must not block the event loop"
    assert await commands.dispatch(Command("park", {"where": "home"}), session) == {"ok": True}
    assert seen["park"] == {"where": "home"}


async def test_handler_exception_becomes_error_reply(caplog: pytest.LogCaptureFixture) -> None:
    """A raising handler replies {"ok": false, "error": message} and logs a line."""
    commands = Commands()

    def broken(fields: dict[str, Any]) -> None:
        raise RuntimeError("motor stalled")

    async def broken_async(fields: dict[str, Any]) -> None:
        raise ValueError("bad position")

    commands.register("broken", broken)
    commands.register("broken_async", broken_async)
    session = FakeSession(Path("unused"))
    assert await commands.dispatch(Command("broken"), session) == {
        "ok": False,
        "error": "motor stalled",
    }
    assert await commands.dispatch(Command("broken_async"), session) == {
        "ok": False,
        "error": "bad position",
    }
    assert any("motor stalled" in r.getMessage() for r in caplog.records)


async def test_handler_returning_a_non_dict_is_an_error() -> None:
    """A handler that returns something other than a dict or None gets an error reply."""
    commands = Commands()
    commands.register("weird", lambda fields: 42)
    reply = await commands.dispatch(Command("weird"), FakeSession(Path("unused")))
    assert reply["ok"] is False and "int" in reply["error"]


async def test_slow_handler_times_out() -> None:
    """A handler slower than the timeout gets a timeout reply instead of hanging the client."""
    commands = Commands(timeout=0.05)

    async def slow(fields: dict[str, Any]) -> None:
        await asyncio.sleep(5)

    commands.register("slow", slow)
    reply = await commands.dispatch(Command("slow"), FakeSession(Path("unused")))
    assert reply["ok"] is False and "timed out" in reply["error"]


async def test_a_timed_out_command_is_refused_until_its_thread_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A plain handler that times out goes on in its thread: the same command is refused
    (not run alongside it) until that call ends, then runs again; other commands run."""
    commands = Commands(timeout=0.05)
    release = threading.Event()
    calls: list[int] = []

    def move(fields: dict[str, Any]) -> dict[str, Any]:
        calls.append(fields["to"])
        if fields["to"] == 1:
            release.wait(10)
        return {"at": fields["to"]}

    commands.register("move", move)
    commands.register("other", lambda fields: None)
    session = FakeSession(Path("unused"))
    reply = await commands.dispatch(Command("move", {"to": 1}), session)
    assert reply["ok"] is False and "timed out" in reply["error"]
    again = await commands.dispatch(Command("move", {"to": 2}), session)
    assert again["ok"] is False and "still running" in again["error"]
    assert await commands.dispatch(Command("other"), session) == {"ok": True}
    release.set()
    late = "finished after it timed out"
    await until(lambda: any(late in record.getMessage() for record in caplog.records))
    assert await commands.dispatch(Command("move", {"to": 3}), session) == {"at": 3}
    assert calls == [1, 3]


async def test_a_command_whose_client_left_is_refused_until_its_thread_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The asker of a plain handler's command leaves (its socket closed: the dispatch is
    cancelled) while the handler runs on in its thread: a client that reconnects and sends
    the command again is refused until that call ends; then it runs."""
    commands = Commands(timeout=30)
    entered, release = threading.Event(), threading.Event()
    running: list[int] = []

    def move(fields: dict[str, Any]) -> None:
        running.append(fields["to"])
        entered.set()
        if fields["to"] == 1:
            release.wait(10)

    commands.register("move", move)
    session = FakeSession(Path("unused"))
    first = asyncio.create_task(commands.dispatch(Command("move", {"to": 1}), session))
    assert await asyncio.to_thread(entered.wait, 5)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    again = await commands.dispatch(Command("move", {"to": 2}), session)
    assert again["ok"] is False and "still running" in again["error"]
    assert commands.still_running == ["move"]
    release.set()
    late = "finished after its client left"
    await until(lambda: any(late in record.getMessage() for record in caplog.records))
    assert await commands.dispatch(Command("move", {"to": 3}), session) == {"ok": True}
    assert running == [1, 3] and commands.still_running == []


@pytest.mark.parametrize("name", BUILTIN_COMMANDS)
def test_builtin_names_cannot_be_taken(name: str) -> None:
    """Registering snapshot_now or reset raises ConfigError; the built-in stays."""
    commands = Commands()
    with pytest.raises(ConfigError, match="built in"):
        commands.register(name, lambda fields: None)
    assert commands.names[:2] == list(BUILTIN_COMMANDS)


def test_registering_again_replaces_and_names_are_listed() -> None:
    """A second register() of a custom name replaces the first; names lists them sorted."""
    commands = Commands()
    commands.register("b", lambda fields: None)
    commands.register("a", lambda fields: None)
    commands.register("a", lambda fields: {"second": True})
    assert commands.names == ["snapshot_now", "reset", "a", "b"]
    commands.unregister("b")
    assert commands.names == ["snapshot_now", "reset", "a"]
    with pytest.raises(ConfigError):
        commands.register("", lambda fields: None)
    with pytest.raises(ConfigError):
        commands.register("x", "not callable")  # type: ignore[arg-type]
