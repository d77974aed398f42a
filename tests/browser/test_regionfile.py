"""Regions as text (js/tools/regionfile.js), sky coordinates as text (js/tools/sky.js) and the
focus aid's target (js/tools/star.js), run in Node: DS9 region files written and read in
DS9's own conventions (image coordinates from 1 at the first pixel's centre, rows bottom-up;
docs/science.md, "Regions"), a file written by hand in DS9's syntax, and the URL fragment."""

from __future__ import annotations

from typing import Any

from tests.browser.esmodules import evaluate, needs_node

pytestmark = needs_node

REGIONS = [
    {"kind": "box", "x": 10, "y": 20, "w": 5, "h": 4},
    {"kind": "circle", "cx": 100, "cy": 49, "r": 10},
    {"kind": "polygon", "points": [[0, 0], [30.5, 2], [12, 40.25]]},
]


def run(body: str, arg: Any = None) -> Any:
    return evaluate("tools/regionfile.js", body, arg)


def test_a_ds9_file_says_each_region_in_ds9s_pixels_and_reads_back_the_same() -> None:
    """On a frame 100 rows high: the circle centred on pixel (100, 49) is DS9's
    circle(101,51,10) (1-based, rows bottom-up), the box over pixels 10..14 × 20..23 is
    box(13,78.5,5,4,0); reading the file back gives the very same regions."""
    text = run("return m.toDs9(arg, 100);", REGIONS)
    lines = text.splitlines()
    assert lines[0] == "# Region file format: DS9 version 4.1"
    assert "image" in lines
    assert "box(13,78.5,5,4,0)" in lines
    assert "circle(101,51,10)" in lines
    assert "polygon(1,100,31.5,98,13,59.75)" in lines
    back = run("return m.fromDs9(m.toDs9(arg, 100), 100);", REGIONS)
    assert back == {"regions": REGIONS, "skipped": []}


HAND_WRITTEN = """\
# Region file format: DS9 version 4.1
global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1 highlite=1 \
dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1
fk5
circle(10:00:00.0,+20:00:00,3.5") # color=red
image
circle(101,51,10) # text={star A}
circle 51 11 4.5
box(30.5,90.5,10,6,0)
box(50,50,4,2,90)
polygon(10,10,20,10,15,20) # color=blue
-circle(60,60,5)
ellipse(70,70,5,3,0)
image; circle(5,5,2)
"""


def test_a_file_written_by_hand_in_ds9s_syntax() -> None:
    """Properties after #, the global line, space-separated arguments, `image;` on the
    line, a box turned by 90°; what framecast cannot measure (WCS coordinates, an excluded
    region, an ellipse) is listed as left out, with why."""
    got = run("return m.fromDs9(arg, 100);", HAND_WRITTEN)
    assert got["regions"] == [
        {"kind": "circle", "cx": 100, "cy": 49, "r": 10},
        {"kind": "circle", "cx": 50, "cy": 89, "r": 4.5},
        {"kind": "box", "x": 25, "y": 7, "w": 10, "h": 6},
        {"kind": "polygon", "points": [[48, 52], [48, 48], [50, 48], [50, 52]]},  # 4 × 2, upright
        {"kind": "polygon", "points": [[9, 90], [19, 90], [14, 80]]},
        {"kind": "circle", "cx": 4, "cy": 95, "r": 2},
    ]
    skipped = got["skipped"]
    assert len(skipped) == 3
    assert "in fk5 coordinates; save the regions in image coordinates" in skipped[0]
    assert "an excluded region" in skipped[1]
    assert "ellipse is not a shape framecast measures" in skipped[2]


def test_regions_in_the_url_and_their_question() -> None:
    """rg= keeps every region; a box over the frame's edge is asked as its outline."""
    got = run(
        "return [m.parseRegions(m.formatRegions(arg)), m.formatRegions(arg),"
        " m.statsQuery(arg[0], 200, 100),"
        " m.statsQuery({kind: 'box', x: -2, y: 0, w: 4, h: 3}, 200, 100),"
        " m.statsQuery(arg[1], 200, 100), m.parseRegions('c:1,2,0;x:1;b:1,2,3')];",
        REGIONS,
    )
    assert got[0] == REGIONS
    assert got[1] == "b:10,20,5,4;c:100,49,10;p:0,0,30.5,2,12,40.25"
    assert got[2] == "x=10&y=20&w=5&h=4"
    assert got[3] == "polygon=-2.5,-0.5,1.5,-0.5,1.5,2.5,-2.5,2.5"
    assert got[4] == "circle=100,49,10"
    assert got[5] == []


def test_sky_coordinates_read_as_astronomers_write_them() -> None:
    """RA in hours, minutes and seconds, Dec signed in degrees, arcminutes and seconds, and
    both in degrees; a WCS is recognised from CTYPE1/CTYPE2 naming RA and Dec."""
    got = evaluate(
        "tools/sky.js",
        "return [m.hours(10.684708), m.arc(41.26875), m.arc(-5.391111), m.hours(359.9999999),"
        " m.skyText(83.8221, -5.3911), m.hasSky({CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN'}),"
        " m.hasSky({CTYPE1: 'GLON-CAR', CTYPE2: 'GLAT-CAR'}), m.hasSky({})];",
    )
    assert got[:4] == ["00h42m44.330s", "+41°16′07.50″", "-05°23′28.00″", "00h00m00.000s"]
    assert got[4] == "RA 05h35m17.304s Dec -05°23′27.96″\n(83.822100°, -5.391100°)"
    assert got[5:] == [True, False, False]


def test_the_focus_aid_follows_the_middle_of_a_region() -> None:
    """The focus aid asks about the centre of the region's bounding box, with a radius that
    holds it (at most 50 px), inside the frame."""
    got = evaluate(
        "tools/star.js",
        "const f = {width: 200, height: 100};"
        " return [m.focusTarget({kind: 'box', x: 10, y: 20, w: 21, h: 11}, f),"
        " m.focusTarget({kind: 'circle', cx: 199, cy: 5, r: 7.5}, f),"
        " m.focusTarget({kind: 'box', x: 0, y: 0, w: 200, h: 100}, f), m.focusTarget(null, f)];",
    )
    assert got == [
        {"x": 20, "y": 25, "r": 10},
        {"x": 199, "y": 5, "r": 8},
        {"x": 99.5, "y": 49.5, "r": 50},
        None,
    ]
