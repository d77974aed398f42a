// Painting a raw tile's canvas through the levels (docs/viewer.md, "Speed"): the whole tile,
// or only the part of it on screen. At native pixels a 1920 × 1080 view draws 48 tiles of
// 256², 3.1 MP, of which 1.4 MP are on screen: a change of levels paints those (and a
// margin) and the rest of a tile is painted when it comes into view (rawtiles.js,
// `freshen`). Pure but for the tile it is given; no network, no OpenSeadragon.

import { paintRect, paintWith } from "./colour.js";

/** Tile pixels painted beyond the screen's edge (a smoothed or scaled draw reads a
 *  neighbour or two). */
const MARGIN = 4;

/** The part of OpenSeadragon tile `tile` ({position, size} in CSS pixels of the drawer's
 *  canvas, `flipped`) inside `screen` ({width, height}: that canvas), as shares of the tile
 *  [x0, y0, x1, y1]; null for all of it, or when it cannot be told (no screen: a rotated
 *  view; a flipped tile). */
export function shownPart(tile, screen) {
  const { position, size } = tile || {};
  if (!screen || !position || !size || !(size.x > 0) || !(size.y > 0) || tile.flipped) return null;
  const x0 = Math.max(0, -position.x / size.x);
  const y0 = Math.max(0, -position.y / size.y);
  const x1 = Math.min(1, (screen.width - position.x) / size.x);
  const y1 = Math.min(1, (screen.height - position.y) / size.y);
  return x0 <= 0 && y0 <= 0 && x1 >= 1 && y1 >= 1 ? null : [x0, y0, x1, y1];
}

/** The tile pixels [x0, y0, x1, y1] (end excluded) that `share` (as `shownPart` gives) of a
 *  `width` × `height` tile covers, with the margin; null for the whole tile. */
function pixelsOf(share, width, height) {
  if (!share) return null;
  const x0 = Math.max(0, Math.floor(share[0] * width) - MARGIN);
  const y0 = Math.max(0, Math.floor(share[1] * height) - MARGIN);
  const x1 = Math.min(width, Math.ceil(share[2] * width) + MARGIN);
  const y1 = Math.min(height, Math.ceil(share[3] * height) + MARGIN);
  return x0 === 0 && y0 === 0 && x1 === width && y1 === height ? null : [x0, y0, x1, y1];
}

/** Paint `kept` ({npy, context, image, channels}: a tile in memory) with `colours` (as
 *  `colourTable` makes them) into its canvas: the pixels `share` shows (see `shownPart`)
 *  or, null, all of them (colour tiles always whole). Returns the rectangle painted
 *  [x0, y0, x1, y1], or null when the whole tile was. */
export function paintTile(kept, colours, share = null) {
  const [height, width] = kept.npy.shape;
  const part = kept.channels === 1 ? pixelsOf(share, width, height) : null;
  const values = kept.npy.data;
  const rgba = kept.image.data;
  if (!part) {
    paintWith(colours, values, rgba, kept.channels);
    kept.context.putImageData(kept.image, 0, 0);
    return null;
  }
  const [x0, y0, x1, y1] = part;
  if (x1 <= x0 || y1 <= y0) return part;  // none of it on screen
  paintRect(colours, values, rgba, width, part);
  kept.context.putImageData(kept.image, 0, 0, x0, y0, x1 - x0, y1 - y0);
  return part;
}

/** Whether `part` (a rectangle `paintTile` painted of a `width` × `height` tile) holds what
 *  `share` of it shows. */
export function covers(part, share, width, height) {
  const wanted = pixelsOf(share, width, height);
  if (!wanted) return false;  // the whole tile is wanted
  if (wanted[2] <= wanted[0] || wanted[3] <= wanted[1]) return true;  // none of it
  return part[0] <= wanted[0] && part[1] <= wanted[1] && part[2] >= wanted[2] && part[3] >= wanted[3];
}
