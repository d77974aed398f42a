"""The viewer's pure helpers (formatting, backoff, remembered view), run in Chromium.

The modules are imported straight from the server's web folder, as the page imports them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Viewer

pytestmark = pytest.mark.browser


def run(viewer: Viewer, module: str, expression: str) -> Any:
    """Evaluate ``expression`` with the module's exports in scope as ``m``."""
    return viewer.page.evaluate(
        f"async () => {{ const m = await import('./js/{module}'); return {expression}; }}"
    )


def test_numbers_are_shown_exactly_as_published(page_open: Viewer) -> None:
    """No locale grouping, no rounding: 4242 stays 4242, 6.1234567 stays 6.1234567."""
    got = run(
        page_open,
        "metadata.js",
        "[4242, 1234567, 6.1234567, -0.5, 1.5e-7, 3200000000.5, 12345678901234, NaN, -Infinity]"
        ".map(m.formatValue)",
    )
    assert got == [
        "4242",
        "1234567",
        "6.1234567",
        "-0.5",
        "1.5e-7",
        "3200000000.5",
        "12345678901234",
        "NaN",
        "-Infinity",
    ]


def test_keys_are_shown_as_given(page_open: Viewer) -> None:
    """Unknown keys keep their spelling; only ALS's STACK_SIZE and EXPO get friendly labels."""
    got = run(
        page_open,
        "metadata.js",
        "['STACK_SIZE', 'EXPO', 'beam_energy', 'imageProfileX', 'HFR', 'FWHM_PX'].map(m.labelFor)",
    )
    assert got == ["Stack size", "Total exposure", "beam_energy", "imageProfileX", "HFR", "FWHM_PX"]


def test_long_series_keep_their_peaks_when_decimated(page_open: Viewer) -> None:
    """A 10 000-point profile is reduced for plotting but its single spike survives."""
    got = run(
        page_open,
        "metadata.js",
        "(() => { const v = new Array(10000).fill(0); v[6789] = 5;"
        " const p = m.decimate(v, 200); return [p.length, Math.max(...p.map(q => q[1]))]; })()",
    )
    assert got[0] <= 200 and got[1] == 5


def test_backoff_is_fast_first_then_capped(page_open: Viewer) -> None:
    """Retry delays start under 250 ms, double, never exceed the cap, and are jittered."""
    lows = run(
        page_open, "transport.js", "[0,1,2,3,10,50].map(a => m.backoffDelay(a, {random: () => 0}))"
    )
    highs = run(
        page_open, "transport.js", "[0,1,2,3,10,50].map(a => m.backoffDelay(a, {random: () => 1}))"
    )
    assert lows == [125, 250, 500, 1000, 2500, 2500]
    assert highs == [250, 500, 1000, 2000, 5000, 5000]


def test_socket_url_follows_the_page(page_open: Viewer) -> None:
    """The WebSocket URL is relative to the page: ws for http, wss for https, sub-paths kept."""
    got = run(
        page_open,
        "transport.js",
        "[m.socketUrl('ws', 'http://h:8000/'), m.socketUrl('ws', 'https://h/cams/north/#zoom=2')]",
    )
    assert got == ["ws://h:8000/ws", "wss://h/cams/north/ws"]


def test_view_round_trips_through_the_hash(page_open: Viewer) -> None:
    """A view written to the hash reads back the same; junk in the hash is ignored."""
    got = run(
        page_open,
        "viewstate.js",
        "[m.parseView(m.formatView({zoom: 4, x: 0.25, y: 0.375}, '#other=1')),"
        " m.formatView({zoom: 4, x: 0.25, y: 0.375}, '#other=1'),"
        " m.parseView('#zoom=abc&x=1&y=2'), m.parseView('#x=1'),"
        " m.formatView(null, '#zoom=2&x=0&y=0')]",
    )
    assert got == [
        {"zoom": 4, "x": 0.25, "y": 0.375},
        "#other=1&zoom=4.000&x=0.25000&y=0.37500",
        None,
        None,
        "",
    ]


def test_ages_read_naturally(page_open: Viewer) -> None:
    """Ages are shown in s, min, h and d."""
    got = run(page_open, "status.js", "[0, 3.7, 65, 600, 3700, 90000].map(m.formatAge)")
    assert got == ["0 s", "3 s", "1 min 5 s", "10 min", "1 h 1 min", "1 d 1 h"]


def test_page_addresses_name_their_stream(page_open: Viewer) -> None:
    """/s/NAME/ shows stream NAME (also behind a proxy's sub-path); anything else the default
    stream; links to other streams and the overview are built from the server's root."""
    got = run(
        page_open,
        "streams.js",
        "[['/', '/streams', '/s/cam1/', '/cams/s/guide.2/', '/s/cam%201/', '/s/-bad/', '/a/b']"
        ".map(m.pageStream),"
        " m.streamHref('/cams/', 'cam1'), m.streamHref('/', 'default'), m.overviewHref('/cams/'),"
        " m.thumbnailHref('/', {name: 'cam1', seq: 7, time: 12.5})]",
    )
    assert got == [
        [
            {"name": "default", "base": "/"},
            {"name": "default", "base": "/"},
            {"name": "cam1", "base": "/"},
            {"name": "guide.2", "base": "/cams/"},
            {"name": "default", "base": "/s/cam%201/"},
            {"name": "default", "base": "/s/-bad/"},
            {"name": "default", "base": "/a/"},
        ],
        "/cams/s/cam1/",
        "/s/default/",
        "/cams/streams",
        "/s/cam1/web_image.jpg?seq=7&t=12.5",
    ]


def test_stream_list_is_validated_and_sorted(page_open: Viewer) -> None:
    """api/streams entries come out sorted by name, with bad names and bad numbers dropped."""
    got = run(
        page_open,
        "streams.js",
        "m.parseStreams({streams: [{name: 'b', seq: 3, time: 5, width: 4, height: 2, clients: 1},"
        " {name: '../x', seq: 1}, {name: 'a', seq: 0, time: null, clients: -2}, 'junk']})",
    )
    assert got == [
        {"name": "a", "seq": 0, "time": None, "width": 0, "height": 0, "clients": 0},
        {"name": "b", "seq": 3, "time": 5, "width": 4, "height": 2, "clients": 1},
    ]


def test_view_is_kept_per_stream_in_the_tab(page_open: Viewer) -> None:
    """Each stream's view is kept apart in sessionStorage; the hash, when present, wins."""
    got = run(
        page_open,
        "viewstate.js",
        "(() => { m.rememberView({zoom: 4, x: 0.25, y: 0.5}, 'cam1');"
        " m.rememberView({zoom: 2, x: 0.75, y: 0.5}, 'cam2');"
        " const withHash = m.recalledView('cam1');"
        " history.replaceState(null, '', location.pathname);"
        " const a = m.recalledView('cam1'); const b = m.recalledView('cam2');"
        " m.rememberView(null, 'cam2');"
        " return [withHash, a, b, m.recalledView('cam2'), m.recalledView('cam3')]; })()",
    )
    assert got == [
        {"zoom": 2, "x": 0.75, "y": 0.5},  # the hash (last written) wins
        {"zoom": 4, "x": 0.25, "y": 0.5},
        {"zoom": 2, "x": 0.75, "y": 0.5},
        None,
        None,
    ]


TIMELINE = """
  const t = new m.Timeline();
  t.setFrames(m.parseHistory({frames: [
    {seq: 3, time: 3, width: 4, height: 3}, {seq: 1, time: 1}, {seq: 'x'}, {seq: 2, time: 2}]}));
  t.notified({seq: 4, time: 4});
  const out = {kept: t.frames.map(f => f.seq), prevLive: t.previous().seq, nextLive: t.next()};
  t.lookAt(t.previous().seq);
  out.looking = t.seq;
  out.prev = t.previous().seq;
  t.notified({seq: 5, time: 5});
  t.notified({seq: 6, time: 6});
  out.newCount = t.newCount;
  out.next = t.next().seq;
  t.lookAt(5);
  out.nextOfLast = t.next();
  out.newAfterStep = t.newCount;
  t.dropped(4);
  out.afterDrop = t.frames.map(f => f.seq);
  t.goLive();
  out.live = [t.looking, t.newCount];
  t.notified({seq: 1, time: 9});
  out.restarted = t.frames.map(f => f.seq);
  out.invalid = [m.parseHistory(null), m.parseHistory({frames: 3}), m.parseHistory({frames: []})];
  return out;
"""


def test_timeline_steps_and_counts(page_open: Viewer) -> None:
    """The timeline steps over the kept frames (oldest first, invalid entries dropped), counts
    frames notified while looking back without moving, and forgets a restarted server's."""
    got = page_open.page.evaluate(
        f"async () => {{ const m = await import('./js/timeline.js'); {TIMELINE} }}"
    )
    assert got == {
        "kept": [1, 2, 3, 4],
        "prevLive": 3,
        "nextLive": None,
        "looking": 3,
        "prev": 2,
        "newCount": 2,
        "next": 4,
        "nextOfLast": None,
        "newAfterStep": 2,
        "afterDrop": [1, 2, 3, 5, 6],
        "live": [False, 0],
        "restarted": [1],
        "invalid": [None, None, []],
    }


def test_blink_flips_at_its_rate(page_open: Viewer) -> None:
    """Blink at 4 changes a second starts on the pinned side and alternates, about 4 times a
    second, until stopped."""
    got = page_open.page.evaluate(
        """async () => {
          const m = await import('./js/blink.js');
          const b = new m.Blink({rateHz: 4});
          const sides = [];
          b.addEventListener('flip', e => sides.push(e.detail.side));
          const t0 = performance.now();
          b.start(7);
          await new Promise(r => setTimeout(r, 1100));
          b.stop();
          const n = sides.length;
          await new Promise(r => setTimeout(r, 400));
          return {sides: sides.slice(0, 3), n, after: sides.length, on: b.on,
                  ms: performance.now() - t0};
        }"""
    )
    assert got["sides"] == ["pinned", "live", "pinned"]
    assert 3 <= got["n"] <= 6  # 1 at the start + 4 in a second, give or take the timers
    assert got["after"] == got["n"]  # stopped: no more changes
    assert got["on"] is False


def test_a_presenter_tells_its_own_presentation_from_someone_elses(page_open: Viewer) -> None:
    """A page that asked to present and hears a presenter message before the server's answer:
    accepted, the message was its own (or one it took over from) and it keeps presenting, its
    later views no news; refused, the message is the news (someone presents: Follow); a later
    presentation of another's stops it ("Someone else presents now")."""
    got = run(
        page_open,
        "follow.js",
        """(() => {
      const said = [];
      const make = () => {
        const root = document.createElement('span');
        const banner = { say: (text) => said.push(text), hide: () => {} };
        const f = new m.Follow(root, { image: document.createElement('div'), banner,
                                       send: () => true, fragment: () => '#zoom=2.000' });
        f.startPresenting();
        clearInterval(f.timer);
        return f;
      };
      const own = make();
      own.heard({ type: 'presenter', id: 5, view: 'zoom=2.000' });  // before the answer
      own.heard({ type: 'presenting', id: 5 });
      own.heard({ type: 'presenter', id: 5, view: 'zoom=3.000' });
      const kept = [own.presenting, own.theirs];
      own.heard({ type: 'presenter', id: 11, view: 'zoom=4.000' });  // another takes over
      const refused = make();
      refused.heard({ type: 'presenter', id: 9, view: 'zoom=4.000' });
      refused.heard({ type: 'presenting', id: null, error: 'needs the operator token' });
      return [kept, own.presenting, own.theirs, refused.presenting, refused.theirs, said];
    })()""",
    )
    kept, own_presenting, own_theirs, refused_presenting, refused_theirs, said = got
    assert kept == [True, None]
    assert own_presenting is False and own_theirs == {"id": 11, "view": "zoom=4.000"}
    assert "Someone else presents now." in said
    assert refused_presenting is False and refused_theirs == {"id": 9, "view": "zoom=4.000"}
