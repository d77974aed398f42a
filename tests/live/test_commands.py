"""Command dispatch without a server: built-ins, custom handlers, snapshot files, limits."""

from __future__ import annotations

import asyncio
import io
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from framecast.config.settings import Settings
from framecast.errors import ConfigError
from framecast.live import snapshots
from framecast.live.commands import BUILTIN_COMMANDS, Commands
from framecast.live.counters import StreamCounters
from framecast.live.frames import Frame
from framecast.live.protocol import Command
from framecast.live.snapshots import save_snapshot
from tests.conftest import gradient, until


@dataclass
class FakeSession:
    folder: Path
    latest: Frame | None = None
    counters: StreamCounters = field(default_factory=StreamCounters)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def snapshot_folder(self) -> Path:
        return self.folder


def frame(seq: int = 1, original: Any = None) -> Frame:
    pixels = gradient(64, 48) if original is None else original
    return Frame(seq=seq, time=1.0, jpeg=b"", width=64, height=48, metadata={}, original=pixels)


def pixels_of(path: Path) -> np.ndarray:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        assert image.format == "JPEG"
        return np.asarray(image.convert("L"))


async def test_snapshot_before_any_frame(tmp_path: Path) -> None:
    """snapshot_now with no frame replies {"ok": false, "error": "no frame yet"} like every
    failed command (docs/client.md), and "reason" with the same text for older clients."""
    reply = await Commands().dispatch(Command("snapshot_now"), FakeSession(tmp_path / "snapshots"))
    assert reply == {"ok": False, "error": "no frame yet", "reason": "no frame yet"}
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


async def test_reset_zeroes_the_session_counters() -> None:
    """reset replies exactly {"ok": true, "counters": "reset"} and zeroes every counter of
    the stream it is sent to, the reset itself included."""
    session = FakeSession(Path("unused"))
    session.counters.frames_published = session.counters.client_frames_skipped = 9
    assert await Commands().dispatch(Command("reset"), session) == {
        "ok": True,
        "counters": "reset",
    }
    assert session.counters == StreamCounters()


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
    assert seen["park"] == {"where": "home", "stream": "default"}


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


# -- limits (docs/control.md, "Limits") -------------------------------------------------------

#: Refills so slowly that no token comes back during a test: only the burst counts.
SLOW = 0.001


def limited(tmp_path: Path, **limits: Any) -> Commands:
    return Commands(Settings(work_folder=tmp_path / "work", **limits))


async def test_a_connection_over_its_limit_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    """Past max_command_burst commands (max_command_rate per second after), a connection's
    custom and built-in commands are answered ok:false with the reason and are not run; a
    command nobody registered does not count; another connection still gets its own burst."""
    commands = limited(tmp_path, max_command_rate=SLOW, max_command_burst=3)
    ran: list[dict[str, Any]] = []
    commands.register("focus", lambda fields: ran.append(fields))
    session = FakeSession(tmp_path / "snapshots")
    session.counters.frames_published = 5
    one = commands.connection_bucket()

    async def send(name: str, connection: Any = one) -> dict[str, Any]:
        return await commands.receive(
            Command(name), session, stream="default", connection=connection
        )

    assert [await send(n) for n in ("focus", "nope", "reset", "focus")] == [
        {"ok": True},
        {"error": "unknown command"},
        {"ok": True, "counters": "reset"},
        {"ok": True},
    ]
    limit = (
        "too many commands: at most 0.001 per second on this connection "
        "(max_command_rate, after a burst of 3); wait and retry"
    )
    refused = {"ok": False, "error": limit, "reason": limit}
    assert await send("focus") == refused
    assert await send("reset") == refused
    assert await send("nope") == {"error": "unknown command"}
    assert len(ran) == 2 and session.counters.frames_published == 0, "reset once"
    assert commands.counters.commands_limited == 2
    assert await send("focus", commands.connection_bucket()) == {"ok": True}
    assert len(ran) == 3


async def test_a_stream_limit_holds_for_all_its_connections(tmp_path: Path) -> None:
    """Commands to one stream from many connections share max_stream_command_burst: the
    next is refused naming the stream and not run; another stream has its own."""
    commands = limited(tmp_path, max_stream_command_rate=SLOW, max_stream_command_burst=4)
    ran: list[str] = []
    commands.register("focus", lambda fields: ran.append(fields["stream"]))
    session = FakeSession(tmp_path / "snapshots")
    replies = [
        await commands.receive(
            Command("focus"), session, stream="cam1", connection=commands.connection_bucket()
        )
        for _ in range(6)
    ]
    assert replies[:4] == [{"ok": True}] * 4
    reason = (
        "too many commands: at most 0.001 per second for stream 'cam1' from all its clients "
        "(max_stream_command_rate, after a burst of 4); wait and retry"
    )
    assert replies[4:] == [{"ok": False, "error": reason, "reason": reason}] * 2
    assert await commands.dispatch(Command("focus"), session, stream="cam2") == {"ok": True}
    assert ran == ["cam1"] * 4 + ["cam2"]
    assert session.counters.commands_run == 5, "refused commands are not counted as run"


async def test_a_command_forwarded_to_its_publisher_counts_on_this_connection(
    tmp_path: Path,
) -> None:
    """A command for a stream another node publishes takes from this connection's limit
    (even a name only that node knows); over it, nothing is forwarded."""
    commands = limited(tmp_path, max_command_rate=SLOW, max_command_burst=2)
    forwarded: list[tuple[str, str, str | None, str]] = []

    async def remote(stream: str, node: str, named: str | None, command: Command) -> Any:
        forwarded.append((stream, node, named, command.name))
        return {"ok": True, "node": node}

    commands.remote = remote
    session, bucket = FakeSession(tmp_path / "snapshots"), commands.connection_bucket()
    replies = [
        await commands.receive(
            Command("far_only"), session, stream="cam1", connection=bucket, publisher="B"
        )
        for _ in range(3)
    ]
    assert replies[:2] == [{"ok": True, "node": "B"}] * 2
    assert replies[2]["ok"] is False and "on this connection" in replies[2]["reason"]
    assert forwarded == [("cam1", "B", "cam1", "far_only")] * 2


async def test_a_second_snapshot_of_the_same_frame_writes_nothing(tmp_path: Path) -> None:
    """snapshot_now twice for one frame (one after the other, and two at once) answers the
    first file's path and writes one file; a new frame gets a new file, and a file deleted
    meanwhile is written again."""
    commands = limited(tmp_path)
    folder = tmp_path / "work" / "snapshots"
    session = FakeSession(folder, latest=frame(5, gradient(640, 480)))
    snap = Command("snapshot_now")
    first = await commands.dispatch(snap, session)
    together = await asyncio.gather(*(commands.dispatch(snap, session) for _ in range(4)))
    assert first["ok"] is True and all(reply == first for reply in together)
    assert [p.name for p in folder.iterdir()] == [Path(first["saved"]).name]
    session.latest = frame(6, gradient(640, 480))
    second = await commands.dispatch(snap, session)
    assert second["ok"] is True and second["saved"] != first["saved"]
    assert "-000006-" in Path(second["saved"]).name and len(list(folder.iterdir())) == 2
    await asyncio.to_thread(os.unlink, second["saved"])
    again = await commands.dispatch(snap, session)
    assert again["ok"] is True and await asyncio.to_thread(os.path.isfile, again["saved"])


async def test_a_full_snapshots_folder_refuses_and_writes_nothing(tmp_path: Path) -> None:
    """max_snapshots_bytes counts every file under <work>/snapshots, an earlier run's and
    other streams' subfolders included: a snapshot that does not fit is refused with a
    reason saying how to make room, nothing is written; once room is made, it is saved."""
    root = tmp_path / "work" / "snapshots"
    (root / "cam1").mkdir(parents=True)
    (root / "earlier-run.jpg").write_bytes(b"x" * 6000)
    (root / "cam1" / "other-stream.jpg").write_bytes(b"x" * 3000)
    commands = limited(tmp_path, max_snapshots_bytes=25_000)  # this snapshot: about 20 kB
    session = FakeSession(root, latest=frame(9, gradient(640, 480)))
    reply = await commands.dispatch(Command("snapshot_now"), session)
    assert reply["ok"] is False
    reason = reply["reason"]
    assert reason.startswith(
        f"the snapshots folder {root.resolve()} has no room for this snapshot: it holds "
        "8.8 KiB of max_snapshots_bytes 24.4 KiB, and this snapshot needs 20."
    )
    assert "delete or move snapshots from it, or raise max_snapshots_bytes=" in reason
    assert reply["error"] == reason
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == [
        "earlier-run.jpg",
        "other-stream.jpg",
    ]
    (root / "earlier-run.jpg").write_bytes(b"x" * 22_000)  # full: refused before encoding
    reply = await commands.dispatch(Command("snapshot_now"), session)
    assert reply["ok"] is False
    assert reply["reason"] == (
        f"the snapshots folder {root.resolve()} is full: it holds 24.4 KiB of "
        "max_snapshots_bytes 24.4 KiB; delete or move snapshots from it, or raise "
        "max_snapshots_bytes="
    )
    (root / "earlier-run.jpg").unlink()
    reply = await commands.dispatch(Command("snapshot_now"), session)
    assert reply["ok"] is True and Path(reply["saved"]).parent == root.resolve()


async def test_a_snapshot_with_no_room_is_encoded_once_per_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot too big for the room left in the folder is encoded once per frame: asking
    again for that frame (a client repeating snapshot_now) gets the same refusal without
    encoding it again; a new frame is encoded once, and once room is made it is saved."""
    encoded: list[int] = []
    encode = snapshots.snapshot_bytes

    def counted(frame: Frame, **options: Any) -> bytes:
        encoded.append(frame.seq)
        return encode(frame, **options)

    monkeypatch.setattr(snapshots, "snapshot_bytes", counted)
    root = tmp_path / "work" / "snapshots"
    root.mkdir(parents=True)
    (root / "earlier-run.jpg").write_bytes(b"x" * 6000)
    commands = limited(tmp_path, max_snapshots_bytes=25_000)  # this snapshot: about 20 kB
    session = FakeSession(root, latest=frame(9, gradient(640, 480)))
    snap = Command("snapshot_now")
    replies = [await commands.dispatch(snap, session) for _ in range(5)]
    assert "has no room for this snapshot" in replies[0]["reason"]
    assert replies == [replies[0]] * 5 and encoded == [9]
    session.latest = frame(10, gradient(640, 480))
    assert [await commands.dispatch(snap, session) for _ in range(3)] == [replies[0]] * 3
    assert encoded == [9, 10]
    (root / "earlier-run.jpg").unlink()
    reply = await commands.dispatch(snap, session)
    assert reply["ok"] is True and "-000010-" in Path(reply["saved"]).name
