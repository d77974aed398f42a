// Levels in the browser (docs/viewer.md, "Scientific tools"): an OpenSeadragon tile source
// over a frame's raw tiles (docs/tiles.md: /raw/<seq>.dzi, .npy tiles; their pyramid is
// rawframe.js's). Each tile is read once, kept as
// numbers, and painted into its own canvas with the viewer's levels; a change of levels
// repaints the tiles in memory in place and redraws — no request, nothing for other viewers.
// A live frame is read in one request and its tiles cut here: the rectangle of the level on
// screen that the view showed last (raw/<seq>.npy?level=&x=&y=&w=&h=), else a frame of up
// to 4 MP whole, with its pyramid made here for the levels OpenSeadragon asks for; any other
// tile is read on its own. No network here: `load(url, {signal})` (the transport's) hands
// over the bytes.

import { parseNpy } from "./npy.js";
import { colourTable } from "./colour.js";
import { covers, paintTile, shownPart } from "./tilepaint.js";
import { OVERLAP, TILE_SIZE, areaOf, dziLevels, histogram, pixelOf, pyramid, tileOf, wholeFrame } from "./rawframe.js";

const OSD = globalThis.OpenSeadragon;
const MAX_TILES = 600;   // tiles kept as numbers (about 150 MB of float32 at most)
const MAX_WHOLE_PIXELS = 2048 * 2048 + 1;  // read whole up to this size (one request a frame)
const MAX_AREA_PIXELS = 4096 * 2048;     // a rectangle of a level read in one request

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
   *  shown; else (levels held) it is shown as soon as it is read; `loadScale()`: resolves to
   *  the frame's levels answer (/api/levels: its presets and quantiles), asked when the read
   *  begins, waited for like the histogram, or null. */
  constructor({ url, width, height, levels, load, loadWhole = load, area = null, loadHistogram = null, paintsWithHistogram = () => true, loadScale = null, marks = null, over = false }) {
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
    this.loadScale = loadScale;
    this.scaling = null;      // Promise of the levels answer `loadScale` gives (null if none)
    this.scale = null;        // that answer, once it came
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
    this.wanted = null;       // {levels, key}: the levels every tile is to show (see `freshen`)
    this.reading = null;      // the AbortController of the whole frame's read under way
    this.released = new AbortController();  // the tiles' reads, cancelled on release
    // When this frame's stages happened (performance.now()): read, bytes, parsed, first
    // and last tile painted; `marks` is the caller's record of them, or null.
    this.marks = marks;
    // Whether this frame may be painted over the tiles of the frame on screen (see
    // `paintOver`): a newer live frame, not one looked back at or blinked.
    this.over = over;
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
      const started = () => {  // the histogram and the levels are asked when the read begins
        if (this.loadScale && !this.scaling) {
          this.scaling = this.loadScale().catch(() => null);
          this.scaling.then((scale) => { if (scale && !reading.signal.aborted) this.scale = scale; });
        }
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
        if (this.paintsWithHistogram()) await Promise.all([this.counting, this.scaling]);
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
    const { level, x, y } = job.postData;
    const kept = { npy, context, channels, image: context.createImageData(width, height), key: null, part: null, at: { level, x, y } };
    this._want(this.levelsNow(this));
    this._paint(kept);
    this._mark("firstTile");
    if (this.marks) this.marks.lastTile = performance.now();
    this.tiles.delete(job.src);
    this.tiles.set(job.src, kept);
    if (this.tiles.size > MAX_TILES) this.tiles.delete(this.tiles.keys().next().value);
    job.finish(context, null, "context2d");
  }

  downloadTileAbort() {}

  /** The colour table of `levels` (`key`: as JSON) for `values`: made again only when the levels
   *  change (and per kind of values: the top level's dtype, float32 below). */
  _table(levels, key, values) {
    const kind = values.constructor.name;
    if (!this.colours || this.colours.key !== key) {
      // the tables of the levels before are no longer used: their arrays are filled again
      this.colours = { key, tables: new Map(), spare: this.colours ? this.colours.tables : null };
    }
    const { tables, spare } = this.colours;
    if (!tables.has(kind)) tables.set(kind, colourTable(levels, kind, spare && spare.get(kind)));
    return tables.get(kind);
  }

  /** Paint `tile` with the levels wanted (see `_want`): the part `share` of it on screen
   *  (tilepaint.js, `shownPart`), or all of it. */
  _paint(tile, share = null) {
    const { levels, key } = this.wanted;
    tile.part = paintTile(tile, this._table(levels, key, tile.npy.data), share);
    tile.key = key;
  }

  /** `levels` become the ones every tile is to show (see `freshen`). */
  _want(levels) {
    if (!this.wanted || this.wanted.levels !== levels) this.wanted = { levels, key: JSON.stringify(levels) };
  }

  /** Paint the tiles in memory again with `levels` (no request). Those in `first` (a Map of
   *  the tiles on screen: URL → the part of it on screen, `shownPart`) are painted now, only
   *  that part; every other tile kept, and the rest of those, is painted by `freshen` just
   *  before OpenSeadragon next draws it, so that a change of levels costs the pixels on
   *  screen and nothing else: nothing runs between the change and the frame that shows it,
   *  and what is never shown again is never painted. (Tiles off screen used to be painted
   *  right after the change, a few at a time, which took 40 % of its time; whole tiles on
   *  screen paint twice the pixels the screen shows.) Without `first`, every tile, whole. */
  repaint(levels, first = null) {
    this._want(levels);
    const { key } = this.wanted;
    for (const [url, tile] of this.tiles) {
      if (first && !first.has(url)) continue;
      const share = first ? first.get(url) : null;
      const [height, width] = tile.npy.shape;
      if (tile.key !== key || (tile.part && !covers(tile.part, share, width, height))) this._paint(tile, share);
    }
  }

  /** Before OpenSeadragon draws `tile` (one of this source's, on `screen`: {width, height}
   *  of the drawer's canvas, or null): its canvas is painted, whole, with the levels wanted
   *  if it still shows earlier ones or only part of it was and more is on screen now. */
  freshen(tile, screen = null) {
    const kept = this.wanted && this.tiles.get(tile.getUrl());
    if (!kept) return;
    const [height, width] = kept.npy.shape;
    if (kept.key !== this.wanted.key || (kept.part && !covers(kept.part, shownPart(tile, screen), width, height))) {
      this._paint(kept);
    }
  }

  // ---- a newer frame painted over the frame on screen (docs/viewer.md, "Speed") -------------

  /** Whether this frame may be shown in `item`, the tiled image of the raw frame on screen:
   *  it is a newer live frame of the same size, read in one request (whole or the area
   *  in view). Then the view waits for `whenRead()` and calls `paintOver(item)`. */
  canPaintOver(item) {
    const shown = item && item.source;
    return Boolean(this.over && this.readUrl && RawTiles && shown instanceof RawTiles && shown !== this
      && shown.dimensions.x === this.dimensions.x && shown.dimensions.y === this.dimensions.y);
  }

  /** Resolves once this frame is read (rejects when the read failed or was abandoned). */
  whenRead() {
    return this.frame();
  }

  /** Paint this frame into the tiles `item` shows: each tile on screen gets this frame's
   *  numbers, cut from what was read, and is repainted in place, so the picture changes at
   *  the next redraw with no new tiled image and no tile to load (a new tiled image took
   *  three to five animation frames to load its tiles and swap). The tiles it holds off
   *  screen are let go (OpenSeadragon asks for them again when they come into view), and
   *  `item`'s source becomes this frame (`adopt`). False, with nothing changed, unless every
   *  tile on screen lies in what was read with the same shape. */
  paintOver(item) {
    const shown = item.source;
    if (!this.resolved || !this.canPaintOver(item)) return false;
    let drawn;
    try {
      drawn = new Set(item.getTilesToDraw().map((t) => t.tile.getUrl()));
    } catch {
      return false;  // an OpenSeadragon without this API
    }
    const fresh = new Map();
    for (const url of drawn) {
      const kept = shown.tiles.get(url);
      const tile = kept && kept.at ? this._cutKept(kept.at) : null;
      if (!tile || tile.shape.join() !== kept.npy.shape.join()) return false;
      fresh.set(url, tile);
    }
    if (!fresh.size) return false;
    shown.adopt(this, fresh);
    // Every other tile OpenSeadragon made for the earlier frame is let go, loaded or not:
    // made again when it is needed, under this frame's URLs, so that no data kept under
    // the earlier frame's URLs can come back. (OpenSeadragon 6 keeps its tiles by level,
    // column and row in `tilesMatrix`; the version is pinned, and test_pixels.py would see
    // an earlier frame's tile.)
    const matrix = item.tilesMatrix || {};
    for (const level of Object.values(matrix)) {
      for (const column of Object.values(level)) {
        for (const [row, tile] of Object.entries(column)) {
          if (fresh.has(tile.getUrl())) continue;
          if (tile.loaded) tile.unload(true);
          delete column[row];
        }
      }
    }
    return true;
  }

  /** The tile at `at` ({level, x, y}) cut from what this frame read, or null. */
  _cutKept({ level, x, y }) {
    const { width, height } = this.levelSize(level);
    return this.resolved.cut(level, x, y, width, height);
  }

  /** Become `other` (a newer frame of the same size, read): its numbers in the tiles
   *  `fresh` names (url → parsed tile), repainted in place with the levels now; every other
   *  tile forgotten. */
  adopt(other, fresh) {
    for (const [url, kept] of this.tiles) {
      const npy = fresh.get(url);
      if (npy) {
        kept.npy = npy;
        kept.key = null;
        continue;
      }
      this.tiles.delete(url);
    }
    this.abandon();
    for (const name of ["url", "base", "query", "readUrl", "area", "loadHistogram", "paintsWithHistogram", "counting", "loadScale", "scaling", "scale", "whole", "resolved", "counted", "over"]) {
      this[name] = other[name];
    }
    this.marks = other.marks;  // its stages, for benchmarks/levels.py
    this.colours = null;
    this.reading = null;
    this._want(this.levelsNow(this));
    for (const kept of this.tiles.values()) this._paint(kept);
    this._mark("firstTile");
    if (this.marks) this.marks.lastTile = performance.now();
    other.tiles.clear();
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
