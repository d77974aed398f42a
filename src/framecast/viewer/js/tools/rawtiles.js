// Levels in the browser (SPEC §11.3): an OpenSeadragon tile source over a frame's raw tiles
// (SPEC §11.2: /raw/<seq>.dzi, TileSize 254, Overlap 1, .npy tiles; the top level holds the
// raw pixels in their dtype, lower levels float32 means). Each tile is read once, kept as
// numbers, and painted into its own canvas with the viewer's levels; a change of levels
// repaints the tiles in memory in place and redraws — no request, nothing for other viewers.
// No network here: `load(url)` (the transport's) hands over each tile's bytes.

import { parseNpy } from "./npy.js";
import { paint } from "./colour.js";

const OSD = globalThis.OpenSeadragon;
export const TILE_SIZE = 254;
export const OVERLAP = 1;
const MAX_TILES = 600;   // tiles kept as numbers (about 150 MB of float32 at most)

/** The DZI geometry of a width × height image (as the server cuts it). Pure. */
export function dziLevels(width, height) {
  const maxLevel = Math.ceil(Math.log2(Math.max(1, width, height)));
  return { maxLevel, size: (level) => {
    const scale = 2 ** (maxLevel - level);
    return { width: Math.ceil(width / scale), height: Math.ceil(height / scale) };
  } };
}

/** The tile (level, col, row) holding full-resolution pixel (x, y), and the pixel's place
 *  in it: {col, row, ix, iy}. Pure. */
export function tileOf(x, y) {
  const col = Math.floor(x / TILE_SIZE);
  const row = Math.floor(y / TILE_SIZE);
  const x0 = col * TILE_SIZE - (col > 0 ? OVERLAP : 0);
  const y0 = row * TILE_SIZE - (row > 0 ? OVERLAP : 0);
  return { col, row, ix: x - x0, iy: y - y0 };
}

export const RawTiles = OSD && class extends OSD.TileSource {
  /** `url`: the frame's raw .dzi (its query string is kept for the tiles); `width`,
   *  `height`: the full-resolution size; `levels()`: the viewer's levels now;
   *  `load(url)`: resolves to the tile's bytes (an ArrayBuffer). */
  constructor({ url, width, height, levels, load }) {
    const { maxLevel } = dziLevels(width, height);
    super({ width, height, tileSize: TILE_SIZE, tileOverlap: OVERLAP, minLevel: 0, maxLevel, ready: true });
    const [path, query] = url.split("?");
    this.base = path.replace(/\.dzi$/, "_files/");
    this.query = query ? `?${query}` : "";
    this.levelsNow = levels;
    this.load = load;
    this.tiles = new Map();   // url → {npy, context, channels}
    this.requests = 0;
  }

  getTileUrl(level, x, y) {
    return `${this.base}${level}/${x}_${y}.npy${this.query}`;
  }

  equals(other) {
    return other === this;
  }

  downloadTileStart(job) {
    this.requests += 1;
    this.load(job.src).then((buffer) => {
      const npy = parseNpy(buffer);
      const [height, width] = npy.shape;
      const channels = npy.shape.length > 2 ? npy.shape[2] : 1;
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext("2d", { willReadFrequently: false });
      const tile = { npy, context, channels, image: context.createImageData(width, height) };
      this._paint(tile, this.levelsNow());
      this.tiles.delete(job.src);
      this.tiles.set(job.src, tile);
      if (this.tiles.size > MAX_TILES) this.tiles.delete(this.tiles.keys().next().value);
      job.finish(context, null, "context2d");
    }, (error) => job.fail(String((error && error.message) || error)));
  }

  downloadTileAbort() {}

  _paint(tile, levels) {
    paint(tile.npy.data, tile.image.data, levels, tile.channels);
    tile.context.putImageData(tile.image, 0, 0);
  }

  /** Paint every tile in memory again with `levels` (no request). */
  repaint(levels) {
    for (const tile of this.tiles.values()) this._paint(tile, levels);
  }

  /** The raw value(s) of full-resolution pixel (x, y) if its top-level tile is in memory:
   *  {value: number | number[], dtype}, else null. */
  valueAt(x, y) {
    const { col, row, ix, iy } = tileOf(x, y);
    const tile = this.tiles.get(this.getTileUrl(this.maxLevel, col, row));
    if (!tile) return null;
    const width = tile.npy.shape[1];
    const at = (iy * width + ix) * tile.channels;
    const data = tile.npy.data;
    const value = tile.channels === 1 ? data[at] : Array.from(data.subarray(at, at + tile.channels));
    return { value, dtype: tile.npy.dtype };
  }

  release() {
    this.tiles.clear();
  }
};

/** A histogram of `values` (finite ones; `channels` interleaved, summed over all): {min,
 *  max, edges, counts}, like /api/histogram. Pure. */
export function histogram(values, bins = 256) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(min <= max)) return { min: null, max: null, edges: [0, 1], counts: [0] };
  const span = max - min || 1;
  const counts = new Array(bins).fill(0);
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    counts[Math.min(bins - 1, Math.floor(((v - min) / span) * bins))] += 1;
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => min + (span * i) / bins);
  return { min, max, edges, counts };
}

/** A raw value as NumPy prints it: integers as they are, float32 with the fewest digits
 *  that give it back (3.25e-05, not 3.2499999273661524e-05), NaN, inf, -inf. Pure. */
export function formatRaw(value, dtype) {
  if (Array.isArray(value)) return value.map((v) => formatRaw(v, dtype)).join(", ");
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  if (Number.isInteger(value) && !/^float/.test(dtype)) return String(value);
  let digits = 17;
  if (dtype === "float32") {
    for (let p = 1; p <= 9; p += 1) {
      if (Math.fround(Number(value.toPrecision(p))) === value) { digits = p; break; }
    }
  } else {
    for (let p = 1; p <= 17; p += 1) {
      if (Number(value.toPrecision(p)) === value) { digits = p; break; }
    }
  }
  const [mantissa, exponentText] = value.toExponential(digits - 1).split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const text = String(Number(value.toPrecision(digits)));
  return text.includes(".") || text.includes("e") ? text : `${text}.0`;
}
