"""The live state (js/livestate.js), which decides which image the viewer shows: run in Node,
without a page, a server or a clock (docs/viewer.md, "How it stays live" and "Looking back")."""

from __future__ import annotations

from typing import Any

from tests.browser.esmodules import evaluate, needs_node

pytestmark = needs_node

#: A state whose server keeps frames 1, 2 and 3 (live: 4, notified with its metadata).
KEPT = """
  const s = new m.LiveState();
  s.connected();
  s.historyKnown([1, 2, 3].map((seq) => ({seq, time: 100 + seq, width: 4, height: 3})));
  const four = {type: 'new_image', seq: 4, time: 104, width: 4, height: 3, metadata: {gain: 4}};
  const first = s.notified(four, {now: 0});
"""


def run(body: str, arg: Any = None) -> Any:
    return evaluate("livestate.js", body, arg)


def test_a_notification_waits_for_data_json_to_catch_up() -> None:
    """Without a history, a notified frame is caught up with: data.json describing an older
    frame is read again until 3 s have passed; data.json of that frame or a newer one is
    shown; after 3 s the notification's own metadata is shown."""
    got = run("""
      const s = new m.LiveState();
      s.connected();
      const five = {type: 'new_image', seq: 5, time: 50, metadata: {gain: 5}};
      const older = {framecast: {seq: 4, time: 40}};
      const newer = {framecast: {seq: 6, time: 60}, gain: 6};
      const next = s.notified(five, {now: 0});
      const early = s.caughtUp(five, older, 10);
      const unread = s.caughtUp(five, null, 10);
      const target = s.target === five;
      const late = s.caughtUp(five, older, 3000);
      s.notified(five, {now: 0});
      const caught = s.caughtUp(five, newer, 20);
      return {next, early, unread, target, late, caught, left: s.target};
    """)
    assert got["next"] == {"catchUp": True}
    assert got["early"] == "wait" and got["unread"] == "wait" and got["target"] is True
    assert got["late"]["metadata"] == {"gain": 5} and got["late"]["message"]["seq"] == 5
    assert got["caught"]["metadata"] == {"framecast": {"seq": 6, "time": 60}, "gain": 6}
    assert got["caught"]["message"] is None
    assert got["left"] is None


def test_an_older_answer_never_replaces_a_newer_image() -> None:
    """Once frame 5 is asked for, an answer about frame 4 shows nothing; after a new
    connection (a restarted server numbering from 1) frame 1 is shown again."""
    got = run("""
      const s = new m.LiveState();
      s.connected();
      const five = s.offer({framecast: {seq: 5, time: 50}}, null, {now: 1});
      const four = s.offer({framecast: {seq: 4, time: 40}}, null, {now: 2});
      const epoch = s.connected();
      const one = s.offer({framecast: {seq: 1, time: 5}}, null, {now: 3});
      return {five, four, epoch, one};
    """)
    assert got["five"]["url"] == "web_image.jpg?seq=5&t=50"
    assert got["five"]["key"] == "seq=5&t=50"
    assert got["four"] is None
    assert got["epoch"] == 2
    assert got["one"]["url"] == "web_image.jpg?seq=1&t=5"


def test_a_waiting_picture_never_replaces_a_real_image() -> None:
    """A restarted server without an image yet ("waiting") leaves the last real image on
    screen; on a page without one, its placeholder is shown, under a key of its own."""
    got = run("""
      const s = new m.LiveState();
      s.connected();
      const waiting = {framecast: {seq: 0, waiting: true}};
      return [s.offer(waiting, null, {hasImage: true, now: 7}),
              s.offer(waiting, null, {hasImage: false, now: 7})];
    """)
    assert got[0] is None
    assert got[1]["url"] == "web_image.jpg?waiting=1-7"
    assert got[1]["key"] == "waiting-1"
    assert got[1]["options"] == {"placeholder": True, "tiles": None}


def test_live_frames_come_from_the_history_when_the_server_keeps_them() -> None:
    """With a history, a notification carrying its metadata is shown at once from
    history/<seq>.jpg (unique to the server run), its pyramid too: no data.json read."""
    got = run(
        KEPT
        + """
      const tiled = s.notified({...four, seq: 5, time: 105, tiles: 'tiles/5.dzi'}, {now: 0});
      return {first, tiled, bare: s.notified({type: 'new_image', seq: 6}, {now: 0})};
    """
    )
    assert got["first"]["show"]["url"] == "history/4.jpg?t=104"
    assert got["first"]["show"]["info"]["own"] == {"seq": 4, "time": 104, "width": 4, "height": 3}
    assert got["tiled"]["show"]["options"]["tiles"] == "tiles/5.dzi?t=105"
    assert got["bare"] == {"catchUp": True}


def test_a_frame_missing_from_the_history_is_asked_the_older_way() -> None:
    """When history/<seq>.jpg of a live frame fails to load (a server keeping no frames),
    that notification is caught up with through data.json, and later ones too."""
    got = run(
        KEPT
        + """
      const other = s.loadFailed('another key');
      const again = s.loadFailed(first.show.key);
      return {other, again, target: s.target.seq, kept: s.historyKept,
              next: s.notified({...four, seq: 5, time: 105}, {now: 0})};
    """
    )
    assert got["other"] is False
    assert got["again"] is True and got["target"] == 4 and got["kept"] is False
    assert got["next"] == {"catchUp": True}


def test_looking_back_keeps_new_frames_for_later() -> None:
    """While an earlier frame is looked at, a new live frame is not shown but counted; back
    to live shows the newest one."""
    got = run(
        KEPT
        + """
      s.lookAt(2);
      const meanwhile = s.notified({...four, seq: 5, time: 105}, {now: 0});
      const bar = s.bar();
      const live = s.goLive();
      return {meanwhile, bar, live: live.url, after: s.bar()};
    """
    )
    assert got["meanwhile"] == {"show": None}
    assert got["bar"]["looking"] is True and got["bar"]["seq"] == 2
    assert got["bar"]["newCount"] == 1 and got["bar"]["behindS"] == 3
    assert got["live"] == "history/5.jpg?t=105"
    assert got["after"]["looking"] is False and got["after"]["newCount"] == 0


def test_a_dropped_frame_moves_on_to_the_next_kept_one() -> None:
    """A frame the server no longer keeps is skipped for the next kept one, then for live;
    an answer for a frame the user stepped past is ignored."""
    got = run(
        KEPT
        + """
      s.lookAt(2);
      const skipped = s.looked(2, null);
      s.lookAt(3);
      const stale = s.looked(2, s.earlierJob(2, {framecast: {time: 102}}));
      const last = s.looked(3, null);
      const job = s.earlierJob(3, {framecast: {time: 103, tiles: 'tiles/3.dzi'}});
      return {skipped, stale, last, job, frames: s.timeline.frames.map((f) => f.seq)};
    """
    )
    assert got["skipped"] == {"lookAt": {"seq": 3, "time": 103, "width": 4, "height": 3}}
    assert got["stale"] is None
    assert got["last"] == {"live": True}
    assert got["frames"] == [1, 4]
    assert got["job"]["url"] == "history/3.jpg?t=103"
    assert got["job"]["key"] == "history-1-3"
    assert got["job"]["options"] == {"tiles": "tiles/3.dzi?t=103"}


def test_blink_alternates_the_live_image_with_a_pinned_frame() -> None:
    """Blink pins the frame before live (or the one looked at); each side shows its own
    image; a frame no longer kept pins nothing."""
    got = run(
        KEPT
        + """
      const frame = s.blinkFrame();
      const job = s.earlierJob(frame.seq, {framecast: {time: 103}});
      const started = s.pin(frame.seq, job);
      const sides = [s.side('pinned').key, s.side('live').key];
      const bar = s.bar();
      s.unpin();
      s.lookAt(2);
      const lookedAt = s.blinkFrame().seq;
      const gone = s.pin(2, null);
      return {frame: frame.seq, started, sides, bar, blinking: s.blinking, lookedAt, gone,
              frames: s.timeline.frames.map((f) => f.seq)};
    """
    )
    assert got["frame"] == 3 and got["started"] is True
    assert got["sides"] == ["history-1-3", "seq=4&t=104"]
    assert got["bar"]["blinking"] is True and got["bar"]["looking"] is False
    assert got["bar"]["seq"] == 3
    assert got["blinking"] is False and got["lookedAt"] == 2
    assert got["gone"] is False and got["frames"] == [1, 3, 4]


def test_a_new_connection_starts_afresh() -> None:
    """A new connection forgets the kept frames and the pin, and a notification still being
    caught up with from the old connection is dropped."""
    got = run(
        """
      const s = new m.LiveState();
      s.connected();
      s.notified({type: 'new_image', seq: 9}, {now: 0});
      const before = s.targetLeft();
      s.connected();
      return {before, after: s.targetLeft(), frames: s.timeline.frames.length, epoch: s.epoch};
    """
    )
    assert got == {"before": True, "after": False, "frames": 0, "epoch": 2}


def test_levels_switched_show_the_same_frame_again() -> None:
    """When the tools change how frames are drawn, the frame on screen is shown again: the
    live one, or the earlier one looked at."""
    got = run(
        KEPT
        + """
      const live = s.again();
      s.lookAt(2);
      return {live: live.show.key, looked: s.again()};
    """
    )
    assert got["live"] == "seq=4&t=104"
    assert got["looked"] == {"lookAt": {"seq": 2, "time": 102, "width": 4, "height": 3}}


def test_addresses_are_unique_to_the_server_run() -> None:
    """history/ and tiles/ addresses carry the frame's time, so a restarted server's frame 1
    is never the cached frame 1 of the run before."""
    got = run("""
      return [m.ofRun('history/1.jpg', 12.5), m.ofRun('tiles/1.dzi?x=1', 3),
              m.ofRun('a.jpg', undefined),
              m.tilesOf({tiles: 'tiles/2.dzi', time: 7}, null),
              m.tilesOf(null, {framecast: {tiles: 'tiles/3.dzi', time: 8}}), m.tilesOf(null, {})];
    """)
    assert got == [
        "history/1.jpg?t=12.5",
        "tiles/1.dzi?x=1&t=3",
        "a.jpg",
        "tiles/2.dzi?t=7",
        "tiles/3.dzi?t=8",
        None,
    ]


def test_line_art_is_loaded_from_its_own_png() -> None:
    """A frame whose display image is a PNG (docs/imaging.md, "Line art") is loaded from its
    `image` URL, live and looked back at; a JPEG frame still from history/<seq>.jpg."""
    got = run("""
      const s = new m.LiveState();
      s.connected();
      s.historyKnown([]);
      const own = (seq, format) => ({framecast: {seq, time: 100 + seq, format,
        image: `/image/${seq}.${format === 'png' ? 'png' : 'jpg'}`}});
      const png = {type: 'new_image', seq: 1, time: 101, metadata: own(1, 'png')};
      const live = s.notified(png, {now: 0}).show.url;
      const jpeg = {type: 'new_image', seq: 2, time: 102, metadata: own(2, 'jpeg')};
      const photo = s.notified(jpeg, {now: 0}).show.url;
      return {live, photo, earlier: s.earlierJob(1, own(1, 'png')).url,
              earlierPhoto: s.earlierJob(2, own(2, 'jpeg')).url};
    """)
    assert got == {
        "live": "/image/1.png?t=101",
        "photo": "history/2.jpg?t=102",
        "earlier": "/image/1.png?t=101",
        "earlierPhoto": "history/2.jpg?t=102",
    }


def test_the_title_knows_a_history_frame_from_the_live_one() -> None:
    """Frame #2 looked back at, or the blink's pinned side, is history (the title says
    `#2 (history)`); the live frame, live or as the blink's other side, is not."""
    got = run(
        KEPT
        + """
      const live = s.isHistory(4);
      s.lookAt(2);
      const looked = s.isHistory(2);
      s.goLive();
      s.pin(3, s.earlierJob(3, {framecast: {time: 103}}));
      return {live, looked, pinned: s.isHistory(3), liveSide: s.isHistory(4),
              back: (s.unpin(), s.isHistory(4))};
    """
    )
    assert got == {"live": False, "looked": True, "pinned": True, "liveSide": False, "back": False}
