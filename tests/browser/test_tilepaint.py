"""Painting a raw tile only where the screen shows it (viewer js/tools/tilepaint.js,
docs/viewer.md "Speed"), in Node: the part painted is exactly the whole tile's paint there."""

from __future__ import annotations

from tests.browser.esmodules import JS, evaluate, needs_node

pytestmark = needs_node

PAINT = """
const { colourTable } = await import(arg);
const tile = () => {
  const puts = [];
  const values = Uint16Array.from({ length: 40 * 32 }, (_, i) => 1000 + 7 * i);
  return { npy: { shape: [32, 40], data: values }, channels: 1,
           image: { data: new Uint8ClampedArray(40 * 32 * 4) },
           context: { putImageData: (image, x, y, ...rect) => puts.push(rect) }, puts };
};
const colours = colourTable({ black: 1000, white: 9000, colormap: "viridis" }, "Uint16Array");
const whole = tile();
const part = tile();
const wholePart = m.paintTile(whole, colours, null);
// drawn at (-20, -8), 40 × 32 CSS pixels, on a 30 × 100 screen: its right half and the
// bottom three quarters show
const screen = { width: 30, height: 100 };
const share = m.shownPart({ position: { x: -20, y: -8 }, size: { x: 40, y: 32 } }, screen);
const painted = m.paintTile(part, colours, share);
let same = 0, blank = 0;
for (let y = 0; y < 32; y += 1) for (let x = 0; x < 40; x += 1) {
  const o = (y * 40 + x) * 4;
  const inside = x >= painted[0] && x < painted[2] && y >= painted[1] && y < painted[3];
  const got = part.image.data.slice(o, o + 4).join();
  if (inside && got === whole.image.data.slice(o, o + 4).join()) same += 1;
  if (!inside && got === "0,0,0,0") blank += 1;
}
return { wholePart, share, painted, puts: part.puts, same, blank,
         covered: m.covers(painted, share, 40, 32),
         all: m.covers(painted, null, 40, 32),
         panned: m.covers(painted, [0.25, 0.25, 1, 1], 40, 32),
         onScreen: m.shownPart({ position: { x: 1, y: 1 }, size: { x: 5, y: 5 } }, screen) };
"""


def test_a_tile_is_painted_where_the_screen_shows_it_exactly_as_whole() -> None:
    """A tile partly off screen is painted on its visible part and a 4-pixel margin, put on
    its canvas there only, each pixel exactly as a whole paint gives it; a pan that shows
    more of it is not covered by that part; a tile wholly on screen is painted whole."""
    got = evaluate("tools/tilepaint.js", PAINT, (JS / "tools" / "colour.js").as_uri())
    assert got["wholePart"] is None
    assert got["share"] == [0.5, 0.25, 1, 1]
    assert got["painted"] == [16, 4, 40, 32]  # 20 - 4, 8 - 4
    assert got["puts"] == [[16, 4, 24, 28]]
    assert got["same"] == 24 * 28 and got["blank"] == 40 * 32 - 24 * 28
    assert (got["covered"], got["all"], got["panned"]) == (True, False, False)
    assert got["onScreen"] is None
