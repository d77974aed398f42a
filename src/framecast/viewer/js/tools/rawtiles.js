// Levels in the browser (SPEC §11.3): an OpenSeadragon tile source over a frame's raw tiles
// (SPEC §11.2: /raw/<seq>.dzi, TileSize 254, Overlap 1, .npy tiles; the top level holds the
// raw pixels in their dtype, lower levels float32 means). Each tile is read once, kept as
// numbers, and painted into its own canvas with the viewer's levels; a change of levels
// repaints the tiles in memory in place and redraws — no request, nothing for other viewers.
// A live frame is read in one request and its tiles cut here: the rectangle of the level on
// screen that the view showed last (SPEC §11.2's .npy?level=&x=&y=&w=&h=), else a frame of up
// to 4 MP whole, with its pyramid made here for the levels OpenSeadragon asks for; any other
// tile is read on its own. No network here: `load(url, {signal})` (the transport's) hands
// over the bytes.

import { parseNpy } from "./npy.js";
import { colourTable, paintWith } from "./colour.js";

const OSD = globalThis.OpenSeadragon;
export const TILE_SIZE = 254;
export const OVERLAP = 1;
const MAX_TILES = 600;   // tiles kept as numbers (about 150 MB of float32 at most)
const MAX_WHOLE_PIXELS = 2048 * 2048 + 1;  // read whole up to this size (one request a frame)
const MAX_AREA_PIXELS = 4096 * 2048;     // a rectangle of a level read in one request

/** The DZI geometry of a width × height image (as the server cuts it). Pure. */
export function dziLevels(width, height) {
  const maxLevel = Math.ceil(Math.log2(Math.max(1, width, height)));
  return { maxLevel, size: (level) => {
    const scale = 2 ** (maxLevel - level);
    return { width: Math.ceil(width / scale), height: Math.ceil(height / scale) };
  } };
}

/** Tile (col, row)'s pixels in a level of levelWidth × levelHeight, overlap included:
 *  {x0, y0, x1, y1}. Pure. */
export function tileRect(col, row, levelWidth, levelHeight) {
  return {
    x0: col * TILE_SIZE - (col > 0 ? OVERLAP : 0),
    y0: row * TILE_SIZE - (row > 0 ? OVERLAP : 0),
    x1: Math.min((col + 1) * TILE_SIZE + OVERLAP, levelWidth),
    y1: Math.min((row + 1) * TILE_SIZE + OVERLAP, levelHeight),
  };
}

/** The tile (level, col, row) holding full-resolution pixel (x, y), and the pixel's place
 *  in it: {col, row, ix, iy}. Pure. */
export function tileOf(x, y) {
  const col = Math.floor(x / TILE_SIZE);
  const row = Math.floor(y / TILE_SIZE);
  const { x0, y0 } = tileRect(col, row, Infinity, Infinity);
  return { col, row, ix: x - x0, iy: y - y0 };
}

export const RawTiles = OSD && class extends OSD.TileSource {
  /** `url`: the frame's raw .dzi (its query string is kept for the tiles); `width`,
   *  `height`: the full-resolution size; `levels(source)`: the viewer's levels now for this
   *  source; `load(url, {signal})`: resolves to the tile's bytes (an ArrayBuffer);
   *  `loadWhole(url, {signal, cache, started})`: the same for the one read of the frame (it
   *  calls `started()` when the read begins); `area`: {level, x0, y0, x1, y1}, the
   *  rectangle of a level to read instead of the whole frame (the one the view shows), or
   *  null; `loadHistogram()`: resolves to the whole frame's histogram (as `histogram`
   *  gives), asked while an area is read, or null; `paintsWithHistogram()`: whether the
   *  levels are taken from that histogram (auto), so the area waits for it before it is
   *  shown; else (levels held) it is shown as soon as it is read. */
  constructor({ url, width, height, levels, load, loadWhole = load, area = null, loadHistogram = null, paintsWithHistogram = () => true, marks = null }) {
    const { maxLevel } = dziLevels(width, height);
    super({ width, height, tileSize: TILE_SIZE, tileOverlap: OVERLAP, minLevel: 0, maxLevel, ready: true });
    const [path, query] = url.split("?");
    this.base = path.replace(/\.dzi$/, "_files/");
    this.query = query ? `?${query}` : "";
    this.url = url;
    this.levelsNow = levels;
    this.load = load;
    this.loadWhole = loadWhole;
    this.tiles = new Map();   // url → {npy, context, channels, image, key}
    this.requests = 0;
    // The frame is read once and its tiles are cut here: one request per frame instead of
    // one per tile, which keeps a live stream live. Read: the rectangle of the level on
    // screen (`area`) unless that is the whole frame, else a frame of a few megapixels
    // whole (<seq>.npy), else nothing (each tile is read on its own).
    const npy = path.replace(/\.dzi$/, ".npy");
    const seesAll = Boolean(area) && wholeFrame(area, width, height, maxLevel);
    this.area = area && !seesAll
      && (area.x1 - area.x0) * (area.y1 - area.y0) <= MAX_AREA_PIXELS ? area : null;
    this.loadHistogram = this.area ? loadHistogram : null;
    this.paintsWithHistogram = paintsWithHistogram;
    this.counting = null;     // Promise of the histogram `loadHistogram` gives (null if none)
    if (this.area) {
      const { level, x0, y0, x1, y1 } = this.area;
      // While the area is read, OpenSeadragon asks for no coarser tile to show meanwhile
      // (each would be a request of its own, for a frame shown only once it is in).
      this.minLevel = level;
      const rect = `level=${level}&x=${x0}&y=${y0}&w=${x1 - x0}&h=${y1 - y0}`;
      this.readUrl = `${npy}?${rect}${query ? `&${query}` : ""}`;
    } else {
      // whole: a frame of a few megapixels, or up to an area's size when the view shows it all
      const most = seesAll ? MAX_AREA_PIXELS : MAX_WHOLE_PIXELS;
      this.readUrl = width * height <= most ? `${npy}${this.query}` : null;
    }
    this.whole = null;        // Promise of what is read (see `pyramid` and `areaOf`)
    this.resolved = null;     // that, once read
    this.counted = null;      // the whole frame's histogram, once known
    this.colours = null;      // {key, tables}: the levels last painted, their tables per kind
    this.reading = null;      // the AbortController of the whole frame's read under way
    this.released = new AbortController();  // the tiles' reads, cancelled on release
    // When this frame's stages happened (performance.now()): read, bytes, parsed, first
    // and last tile painted; `marks` is the caller's record of them, or null.
    this.marks = marks;
  }

  _mark(stage) {
    if (this.marks && !(stage in this.marks)) this.marks[stage] = performance.now();
  }

  /** The frame's numbers, read once: the pyramid of a frame read whole or the area of
   *  a level; null for a large frame read tile by tile. */
  frame() {
    if (!this.readUrl) return null;
    if (!this.whole) {
      this.requests += 1;
      this._mark("read");
      const reading = (this.reading = new AbortController());
      const started = () => {  // the histogram is asked when the read begins
        if (!this.loadHistogram || this.counting) return;
        this.counting = this.loadHistogram().catch(() => null);
        this.counting.then((hist) => { if (hist && !reading.signal.aborted) this.counted = hist; });
      };
      const read = this.loadWhole(this.readUrl, { signal: reading.signal, cache: "no-store", started }).then((buffer) => {
        if (reading.signal.aborted) throw new Error("abandoned for a newer frame");
        this._mark("bytes");
        return buffer;
      });
      this.whole = read.then(async (buffer) => {
        started();
        const npy = parseNpy(buffer);
        if (this.counting && this.paintsWithHistogram()) await this.counting;
        if (reading.signal.aborted) throw new Error("abandoned for a newer frame");
        this.resolved = this.area ? areaOf(npy, this.area, this.maxLevel) : pyramid(npy, this.maxLevel);
        this._mark("parsed");
        return this.resolved;
      }).finally(() => {
        this.minLevel = 0;  // the read is over: coarser tiles may be asked for again
      });
      this.whole.catch(() => {});  // a read started ahead and abandoned: nobody waits for it
    }
    return this.whole;
  }

  /** The whole frame's histogram: counted here (every pixel, once) for a frame read whole,
   *  the one `loadHistogram` gave for an area (once it came: see `counting`); null before
   *  the read or without one. */
  histogram() {
    if (!this.resolved) return null;
    if (!this.counted && this.resolved.top) this.counted = histogram(this.resolved.top.data);
    return this.counted;
  }

  /** Stop reading this frame (a newer one is on its way): its read, if under way, is
   *  cancelled; nothing more is computed for it unless its tiles are asked for again (then
   *  it is read anew). A frame already read is kept. */
  abandon() {
    if (this.resolved || !this.reading) return;
    this.reading.abort();
    this.reading = null;
    this.whole = null;
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
    const { level, x, y } = job.postData;
    const fail = (error) => job.fail(String((error && error.message) || error));
    // The frame in memory: a tile in it is cut and painted at once, so that OpenSeadragon
    // (which starts only a couple of jobs at a time) takes every tile in the same update.
    const cut = () => {
      const { width, height } = this.levelSize(level);
      const tile = this.resolved.cut(level, x, y, width, height);
      if (tile) this._finish(job, () => tile);
      else this._readTile(job).catch(fail);
    };
    if (this.resolved) return cut();
    const frame = this.frame();
    if (!frame) return this._readTile(job).catch(fail);
    // A read that failed (not one abandoned for a newer frame): each tile on its own instead.
    const alone = (error) => (this.released.signal.aborted ? fail(error) : this._readTile(job).catch(fail));
    frame.then(cut, alone);
  }

  /** The width and height of pyramid level `level`. */
  levelSize(level) {
    return dziLevels(this.dimensions.x, this.dimensions.y).size(level);
  }

  /** Read one tile on its own (not in the part of the frame read) and paint it. */
  async _readTile(job) {
    this.requests += 1;
    const buffer = await this.load(job.src, { signal: this.released.signal });
    this._finish(job, () => parseNpy(buffer));
  }

  /** Paint the tile `tile()` gives (a parsed .npy) into its own canvas for `job`. */
  _finish(job, tile) {
    let npy;
    try {
      npy = tile();
    } catch (error) {
      job.fail(String((error && error.message) || error));
      return;
    }
    const [height, width] = npy.shape;
    const channels = npy.shape.length > 2 ? npy.shape[2] : 1;
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d", { willReadFrequently: false });
    const kept = { npy, context, channels, image: context.createImageData(width, height), key: null };
    this._paint(kept, this.levelsNow(this));
    this._mark("firstTile");
    if (this.marks) this.marks.lastTile = performance.now();
    this.tiles.delete(job.src);
    this.tiles.set(job.src, kept);
    if (this.tiles.size > MAX_TILES) this.tiles.delete(this.tiles.keys().next().value);
    job.finish(context, null, "context2d");
  }

  downloadTileAbort() {}

  /** The colour table of `levels` for `npy`'s values: made again only when the levels
   *  change (and per kind of values: the top level's dtype, float32 below). */
  _table(levels, values) {
    const key = JSON.stringify(levels);
    const kind = values.constructor.name;
    if (!this.colours || this.colours.key !== key) this.colours = { key, tables: new Map() };
    const tables = this.colours.tables;
    if (!tables.has(kind)) tables.set(kind, colourTable(levels, kind));
    return tables.get(kind);
  }

  _paint(tile, levels) {
    paintWith(this._table(levels, tile.npy.data), tile.npy.data, tile.image.data, tile.channels);
    tile.context.putImageData(tile.image, 0, 0);
    tile.key = JSON.stringify(levels);
  }

  /** Paint the tiles in memory again with `levels` (no request): those in `first` (their
   *  URLs: the tiles on screen) at once, the others a few at a time afterwards, so that the
   *  picture on screen changes within a frame or two whatever the number of tiles kept.
   *  Tiles already painted with these levels are left as they are. */
  repaint(levels, first = null) {
    const generation = (this.generation = (this.generation || 0) + 1);
    const key = JSON.stringify(levels);
    const later = [];
    for (const [url, tile] of this.tiles) {
      if (tile.key === key) continue;
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
    const read = this.resolved && this.resolved.valueAt(x, y);
    if (read) return read;
    const { col, row, ix, iy } = tileOf(x, y);
    const tile = this.tiles.get(this.getTileUrl(this.maxLevel, col, row));
    if (!tile) return null;
    return pixelOf(tile.npy, tile.npy.shape[1], tile.channels, ix, iy);
  }

  release() {
    this.abandon();
    this.released.abort();
    this.tiles.clear();
  }
};

/** Whether `area` ({level, x0, y0, x1, y1}) is the whole top level of a width × height
 *  frame. Pure. */
function wholeFrame({ level, x0, y0, x1, y1 }, width, height, maxLevel) {
  return level === maxLevel && x0 === 0 && y0 === 0 && x1 === width && y1 === height;
}

/** The value(s) of pixel (x, y) of `values` ({data, exact?, dtype}: rows of `width`
 *  pixels, `channels` interleaved; `exact`, when given, the values as published):
 *  {value: number | bigint | array of them, dtype}. Pure. */
function pixelOf({ data, exact, dtype }, width, channels, x, y) {
  const from = exact || data;
  const at = (y * width + x) * channels;
  const value = channels === 1 ? from[at] : Array.from(from.subarray(at, at + channels));
  return { value, dtype };
}

/** The pixels x0 ≤ x < x1, y0 ≤ y < y1 of `data` (rows of `width` pixels, `channels`
 *  interleaved). Pure. */
function cropped(data, width, channels, { x0, y0, x1, y1 }) {
  const w = x1 - x0;
  const out = new data.constructor(w * (y1 - y0) * channels);
  for (let y = y0; y < y1; y += 1) {
    out.set(data.subarray((y * width + x0) * channels, (y * width + x1) * channels), (y - y0) * w * channels);
  }
  return out;
}

/** `rect` of `values` ({data, exact?}, rows of `width` pixels, `channels` interleaved),
 *  shaped like a parsed .npy of `dtype` (`exact` cut too when given). Pure. */
function crop({ data, exact }, width, channels, rect, dtype) {
  const w = rect.x1 - rect.x0;
  const h = rect.y1 - rect.y0;
  const shape = channels > 1 ? [h, w, channels] : [h, w];
  const tile = { dtype, shape, data: cropped(data, width, channels, rect) };
  if (exact) tile.exact = cropped(exact, width, channels, rect);
  return tile;
}

/** A rectangle of one level read from the server: `npy` (parsed) holds `area` = {level,
 *  x0, y0, x1, y1} of a pyramid of maxLevel + 1 levels. `cut(level, col, row, levelWidth,
 *  levelHeight)` gives a tile that lies wholly inside it, else null; `valueAt(x, y)` the raw
 *  value of a full-resolution pixel inside it (top level only), else null. Pure. */
export function areaOf(npy, area, maxLevel) {
  const { level, x0, y0, x1, y1 } = area;
  const [height, width] = npy.shape;
  if (width !== x1 - x0 || height !== y1 - y0) throw new RangeError(`a ${width}×${height} area is not ${x1 - x0}×${y1 - y0}`);
  const channels = npy.shape.length > 2 ? npy.shape[2] : 1;
  return {
    dtype: npy.dtype,
    channels,
    maxLevel,
    area,
    top: null,
    cut(at, col, row, levelWidth, levelHeight) {
      const rect = tileRect(col, row, levelWidth, levelHeight);
      if (at !== level || rect.x0 < x0 || rect.y0 < y0 || rect.x1 > x1 || rect.y1 > y1) return null;
      const local = { x0: rect.x0 - x0, y0: rect.y0 - y0, x1: rect.x1 - x0, y1: rect.y1 - y0 };
      return crop(npy, width, channels, local, npy.dtype);
    },
    valueAt(x, y) {
      if (level !== maxLevel || x < x0 || y < y0 || x >= x1 || y >= y1) return null;
      return pixelOf(npy, width, channels, x - x0, y - y0);
    },
  };
}

/** The DZI pyramid of a whole frame (a parsed .npy), as the server would cut it (SPEC
 *  §11.2): level maxLevel is the raw data; the level 2^k times smaller holds, as float32, the
 *  mean of the raw pixels of each 2^k × 2^k block (cut at the edges). A level is made only
 *  when first asked for (`level(k)`), from the float64 block sums of the level above it, so
 *  that every mean is exact and the levels nobody looks at cost nothing. Pure. */
export function pyramid(npy, maxLevel) {
  const [height, width] = npy.shape;
  const channels = npy.shape.length > 2 ? npy.shape[2] : 1;
  const top = { width, height, data: npy.data, exact: npy.exact, sums: npy.data };
  const made = new Map([[maxLevel, top]]);
  const level = (k) => {
    if (made.has(k)) return made.get(k);
    if (!(k >= 0 && k < maxLevel)) throw new RangeError(`no level ${k} in a pyramid of ${maxLevel + 1}`);
    const above = level(k + 1);
    const sums = halve(above.sums, above.width, above.height, channels);
    const made_ = { ...sums, data: means(sums, width, height, 2 ** (maxLevel - k), channels) };
    made.set(k, made_);
    return made_;
  };
  const frame = {
    dtype: npy.dtype, channels, maxLevel, top, level,
    cut: (at, col, row) => cutTile(frame, at, col, row),
    valueAt: (x, y) => pixelOf(npy, width, channels, x, y),
  };
  return frame;
}

/** The sums of the 2 × 2 blocks of `values` (width × height, `channels` interleaved), as
 *  float64 (exact for every integer frame): {width, height, sums}. One channel: each sum is
 *  written once, (top pair) + (bottom pair), the order the row-by-row sums had. */
function halve(values, width, height, channels) {
  const nw = Math.ceil(width / 2);
  const nh = Math.ceil(height / 2);
  const sums = new Float64Array(nw * nh * channels);
  if (channels === 1) {
    const even = width - (width % 2);
    for (let j = 0; j < nh; j += 1) {
      const top = 2 * j * width;
      const bottom = top + width;
      let to = j * nw;
      let i = 0;
      if (2 * j + 1 < height) {
        for (; i < even; i += 2, to += 1) {
          sums[to] = (values[top + i] + values[top + i + 1]) + (values[bottom + i] + values[bottom + i + 1]);
        }
        if (i < width) sums[to] = values[top + i] + values[bottom + i];
      } else {
        for (; i < even; i += 2, to += 1) sums[to] = values[top + i] + values[top + i + 1];
        if (i < width) sums[to] = values[top + i];
      }
    }
  } else {
    for (let j = 0; j < height; j += 1) {
      for (let i = 0; i < width; i += 1) {
        const to = ((j >> 1) * nw + (i >> 1)) * channels;
        const from = (j * width + i) * channels;
        for (let c = 0; c < channels; c += 1) sums[to + c] += values[from + c];
      }
    }
  }
  return { width: nw, height: nh, sums };
}

/** Block sums to float32 means: the blocks are `scale` full-resolution pixels a side, cut
 *  at the frame's edges (`width` × `height`). */
function means({ width, height, sums }, fullWidth, fullHeight, scale, channels) {
  const out = new Float32Array(sums.length);
  const across = new Float64Array(width);
  for (let i = 0; i < width; i += 1) across[i] = Math.min(scale, fullWidth - i * scale);
  for (let j = 0; j < height; j += 1) {
    const rows = Math.min(scale, fullHeight - j * scale);
    const row = j * width;
    if (channels === 1) {
      for (let i = 0; i < width; i += 1) out[row + i] = sums[row + i] / (rows * across[i]);
      continue;
    }
    for (let i = 0; i < width; i += 1) {
      const count = rows * across[i];
      const at = (row + i) * channels;
      for (let c = 0; c < channels; c += 1) out[at + c] = sums[at + c] / count;
    }
  }
  return out;
}

/** Tile (level, col, row) of a pyramid, with its overlap, shaped like a parsed .npy. Pure. */
export function cutTile(frame, level, col, row) {
  const values = frame.level(level);
  const { width, height } = values;
  const dtype = level === frame.maxLevel ? frame.dtype : "float32";
  return crop(values, width, frame.channels, tileRect(col, row, width, height), dtype);
}

// Integer kinds counted value by value (a tally of every possible value, then binned).
const TALLIES = { Uint8Array: [0, 256], Int8Array: [128, 256], Uint16Array: [0, 65536], Int16Array: [32768, 65536] };

/** A histogram of `values` (finite ones; `channels` interleaved, summed over all): {min,
 *  max, edges, counts}, like /api/histogram. Pure. */
export function histogram(values, bins = 256) {
  const tally = TALLIES[values.constructor.name];
  if (tally) return tallied(values, bins, ...tally);
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

/** `histogram` of 8- or 16-bit integers: one pass that counts each value (index + `offset`
 *  in a table of `size`), then the same bins from the counts. */
function tallied(values, bins, offset, size) {
  const seen = new Uint32Array(size);
  if (offset === 0) for (let i = 0; i < values.length; i += 1) seen[values[i]] += 1;
  else for (let i = 0; i < values.length; i += 1) seen[values[i] + offset] += 1;
  let low = 0;
  while (low < size && seen[low] === 0) low += 1;
  if (low === size) return { min: null, max: null, edges: [0, 1], counts: [0] };
  let high = size - 1;
  while (seen[high] === 0) high -= 1;
  const min = low - offset;
  const max = high - offset;
  const span = max - min || 1;
  const counts = new Array(bins).fill(0);
  for (let index = low; index <= high; index += 1) {
    if (seen[index]) counts[Math.min(bins - 1, Math.floor(((index - offset - min) / span) * bins))] += seen[index];
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => min + (span * i) / bins);
  return { min, max, edges, counts };
}

/** The `digits`-digit decimal nearest to `value` (as the number nearest to it), ties to an
 *  even last digit as NumPy's shortest repr does (35.125 at 4 digits: 35.12, where
 *  JavaScript's `toPrecision` gives 35.13). Pure. */
function nearestDecimal(value, digits) {
  const [mantissa, exponent] = Math.abs(value).toExponential(60).split("e");  // exact
  const all = mantissa.replace(".", "");
  const head = all.slice(0, digits);
  const tie = /^50*$/.test(all.slice(digits));
  if (!tie || Number(head[head.length - 1]) % 2 === 1) return Number(value.toPrecision(digits));
  const sign = value < 0 ? "-" : "";
  return Number(`${sign}${head[0]}.${head.slice(1)}e${exponent}`);  // the tie, kept even
}

/** `x` rounded to the nearest float16 (ties to even; beyond the largest, ±inf). Pure. */
export function f16round(x) {
  if (!Number.isFinite(x) || x === 0) return x;
  const size = Math.abs(x);
  if (size >= 65520) return Math.sign(x) * Infinity;  // 65504 + half a step
  let exponent = Math.max(-14, Math.floor(Math.log2(size)));  // below 2^-14: subnormal steps
  if (exponent > -14 && 2 ** exponent > size) exponent -= 1;
  const step = 2 ** (exponent - 10);
  const steps = size / step;  // exact: a power of two divides
  const low = Math.floor(steps);
  const rest = steps - low;
  const near = rest > 0.5 || (rest === 0.5 && low % 2 === 1) ? low + 1 : low;
  return Math.sign(x) * near * step;
}

// Per float dtype: how to round to it, its most significant digits, the exponent from which
// NumPy prints it in scientific notation.
const PRECISION = {
  float16: [f16round, 5, 3],
  float32: [Math.fround, 9, 16],
  float64: [(x) => x, 17, 16],
};

/** A raw value as NumPy prints it: integers as they are, float32 with the fewest digits
 *  that give it back (3.25e-05, not 3.2499999273661524e-05), NaN, inf, -inf. Pure. */
export function formatRaw(value, dtype) {
  if (Array.isArray(value)) return value.map((v) => formatRaw(v, dtype)).join(", ");
  if (typeof value === "bigint") return String(value);
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  if (Object.is(value, -0)) return "-0.0";
  if (Number.isInteger(value) && !/^float/.test(dtype)) return String(value);
  // The fewest digits that give the value back in its own precision; NumPy writes float16
  // from 1e3 up with an exponent, the wider floats from 1e16.
  const [round, most, scientific] = PRECISION[dtype] || PRECISION.float64;
  let shortest = value;
  let digits = most;
  for (let p = 1; p <= most; p += 1) {
    const candidate = nearestDecimal(value, p);
    if (round(candidate) === value) { shortest = candidate; digits = p; break; }
  }
  const [mantissa, exponentText] = shortest.toExponential(digits - 1).split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= scientific) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const text = String(Number(shortest.toPrecision(digits)));
  return text.includes(".") || text.includes("e") ? text : `${text}.0`;
}
