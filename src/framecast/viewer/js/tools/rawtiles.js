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
const MAX_WHOLE_PIXELS = 2048 * 2048 + 1;  // read whole up to this size (one request a frame)

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
    this.url = url;
    this.levelsNow = levels;
    this.load = load;
    this.tiles = new Map();   // url → {npy, context, channels}
    this.requests = 0;
    // A frame of a few megapixels is read whole, once (<seq>.npy), and its tiles are cut
    // here: one request per frame instead of one per tile, which keeps a live stream live.
    this.wholeUrl = width * height <= MAX_WHOLE_PIXELS ? `${path.replace(/\.dzi$/, ".npy")}${this.query}` : null;
    this.whole = null;        // Promise of {levels: [{width, height, data}], dtype, channels}
  }

  /** The whole frame and its pyramid of means (read once), or null for a large frame. */
  frame() {
    if (!this.wholeUrl) return null;
    if (!this.whole) {
      this.requests += 1;
      this.whole = this.load(this.wholeUrl).then((buffer) => {
        this.resolved = pyramid(parseNpy(buffer), this.maxLevel);
        return this.resolved;
      });
    }
    return this.whole;
  }

  getTileUrl(level, x, y) {
    return `${this.base}${level}/${x}_${y}.npy${this.query}`;
  }

  getTilePostData(level, x, y) {
    return { level, x, y };
  }

  equals(other) {
    return other === this;
  }

  downloadTileStart(job) {
    const whole = this.frame();
    const { level, x, y } = job.postData;
    const source = whole
      ? whole.then((frame) => cutTile(frame, level, x, y))
      : (this.requests += 1, this.load(job.src).then(parseNpy));
    source.then((npy) => {
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

  /** Paint the tiles in memory again with `levels` (no request): those in `first` (their
   *  URLs: the tiles on screen) at once, the others a few at a time afterwards, so that the
   *  picture on screen changes within a frame or two whatever the number of tiles kept. */
  repaint(levels, first = null) {
    const generation = (this.generation = (this.generation || 0) + 1);
    const later = [];
    for (const [url, tile] of this.tiles) {
      if (!first || first.has(url)) this._paint(tile, levels);
      else later.push(tile);
    }
    const step = () => {
      if (generation !== this.generation) return;  // a newer change took over
      for (const tile of later.splice(0, 8)) this._paint(tile, levels);
      if (later.length) setTimeout(step, 0);
    };
    if (later.length) setTimeout(step, 0);
  }

  /** The raw value(s) of full-resolution pixel (x, y) if its top-level tile is in memory:
   *  {value: number | number[], dtype}, else null. */
  valueAt(x, y) {
    if (this.resolved) {
      const { width, data } = this.resolved.levels[this.maxLevel];
      const channels = this.resolved.channels;
      const at = (y * width + x) * channels;
      const value = channels === 1 ? data[at] : Array.from(data.subarray(at, at + channels));
      return { value, dtype: this.resolved.dtype };
    }
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

/** The DZI pyramid of a whole frame (a parsed .npy), as the server would cut it (SPEC
 *  §11.2): level maxLevel is the raw data; the level 2^k times smaller holds, as float32, the
 *  mean of the raw pixels of each 2^k × 2^k block (cut at the edges). Built from sums, level
 *  by level, so that every mean is exact. Pure. */
export function pyramid(npy, maxLevel) {
  const [height, width] = npy.shape;
  const channels = npy.shape.length > 2 ? npy.shape[2] : 1;
  const levels = new Array(maxLevel + 1);
  levels[maxLevel] = { width, height, data: npy.data };
  let sums = Float64Array.from(npy.data);
  let counts = new Float64Array(width * height).fill(1);
  let w = width;
  let h = height;
  for (let level = maxLevel - 1; level >= 0; level -= 1) {
    const nw = Math.ceil(w / 2);
    const nh = Math.ceil(h / 2);
    const nextSums = new Float64Array(nw * nh * channels);
    const nextCounts = new Float64Array(nw * nh);
    for (let j = 0; j < h; j += 1) {
      const row = (j >> 1) * nw;
      for (let i = 0; i < w; i += 1) {
        const to = row + (i >> 1);
        const from = j * w + i;
        nextCounts[to] += counts[from];
        for (let c = 0; c < channels; c += 1) nextSums[to * channels + c] += sums[from * channels + c];
      }
    }
    const means = new Float32Array(nw * nh * channels);
    for (let p = 0; p < nw * nh; p += 1) {
      for (let c = 0; c < channels; c += 1) means[p * channels + c] = nextSums[p * channels + c] / nextCounts[p];
    }
    levels[level] = { width: nw, height: nh, data: means };
    sums = nextSums;
    counts = nextCounts;
    w = nw;
    h = nh;
  }
  return { levels, dtype: npy.dtype, channels };
}

/** Tile (level, col, row) of a pyramid, with its overlap, shaped like a parsed .npy. Pure. */
export function cutTile(frame, level, col, row) {
  const { width, height, data } = frame.levels[level];
  const channels = frame.channels;
  const x0 = col * TILE_SIZE - (col > 0 ? OVERLAP : 0);
  const y0 = row * TILE_SIZE - (row > 0 ? OVERLAP : 0);
  const x1 = Math.min((col + 1) * TILE_SIZE + OVERLAP, width);
  const y1 = Math.min((row + 1) * TILE_SIZE + OVERLAP, height);
  const w = x1 - x0;
  const out = new data.constructor(w * (y1 - y0) * channels);
  for (let y = y0; y < y1; y += 1) {
    out.set(data.subarray((y * width + x0) * channels, (y * width + x1) * channels), (y - y0) * w * channels);
  }
  const dtype = level === frame.levels.length - 1 ? frame.dtype : "float32";
  const shape = channels > 1 ? [y1 - y0, w, channels] : [y1 - y0, w];
  return { dtype, shape, data: out };
}

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
