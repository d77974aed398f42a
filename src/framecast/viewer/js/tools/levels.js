// Levels on the raw data (docs/viewer.md): the frame on screen shown as raw tiles painted with
// this viewer's black and white points, stretch and colormap. It owns which tile source a
// frame is shown with, the newest-wins read of whole frames ahead of their turn, the part of
// a live frame the view looks at, the histogram (the frame's own, else the server's, else
// its coarsest tile's) and its canvas, the levels fields, and when each live frame went
// through each stage. The panel (tools.js) holds its elements and says when to act.

import { fetchAnswer, fetchBuffer } from "../transport.js";
import { RawTiles } from "./rawtiles.js";
import { shownPart } from "./tilepaint.js";
import { dziLevels, histogram, tileRect } from "./rawframe.js";
import { formatRaw } from "./rawtext.js";
import { parseNpy } from "./npy.js";
import { autoLevels, saturationLevel } from "./colour.js";
import { LevelsPanel } from "./levelspanel.js";

export class Levels {
  /** `view`: the ImageView; `box`: the panel holding the levels' fields and histogram;
   *  `state`: the tools' state (shared, kept in the URL fragment); `frame()`: the frame on
   *  screen, as the tools know it; `save()`: remember the state. */
  constructor({ view, box, state, frame, save }) {
    this.view = view;
    this.state = state;
    this.currentFrame = frame;
    this.save = save;
    this.panel = new LevelsPanel(box, this);
    // When each of the last live frames went through each stage (performance.now(), ms):
    // notified, read, bytes, parsed, firstTile, lastTile, shown, onScreen (the animation
    // frame after it was shown). For benchmarks/levels.py and the developer's console.
    this.frameMarks = new Map();
    this.histogramData = null;  // {seq, hist} of the frame on screen
    this.scaleData = null;      // {seq, scale}: the levels answer of the frame on screen
    this.ahead = null;          // the raw tiles of the frame read ahead, waiting its turn
    this.reads = null;          // the whole read under way (settles, never rejects)

    // Raw tiles are cut in memory from a frame read whole: let OpenSeadragon take many per
    // frame, and only the level the view needs (no coarse-to-fine passes), so that a live
    // frame is on screen as soon as it is read. That level is the one whose pixels are at
    // least 0.9 screen pixels (OpenSeadragon's default, 0.5, takes the level twice finer
    // as soon as the frame is shown at over half its size: four times the pixels to cut
    // and paint for a picture the screen cannot show).
    view.osd.world.addHandler("add-item", (event) => {
      if (RawTiles && event.item.source instanceof RawTiles && event.item.source.readUrl) {
        event.item.maxTilesPerFrame = 64;
        event.item.immediateRender = true;
        event.item.minPixelRatio = 0.9;
      }
    });
    // A change of levels paints the tiles on screen at once; any other raw tile kept is
    // painted with the levels now just before it is next drawn (rawtiles.js, `freshen`).
    view.osd.addHandler("tile-drawing", (event) => {
      const source = event.tiledImage && event.tiledImage.source;
      if (RawTiles && source instanceof RawTiles) source.freshen(event.tile, this._screen());
    });
    this.saving = false;  // a write of the state into the address bar is due (`saveSoon`)
    addEventListener("pagehide", () => this._saveNow());
  }

  /** Remember the state (the address bar, which a presenter's followers follow) right after
   *  the frame that shows a change of levels: the write (history.replaceState, 1–12 ms in
   *  Chromium) no longer runs between the change and that frame, and the changes made
   *  meanwhile (a drag, typing) are written once. */
  saveSoon() {
    if (this.saving) return;
    this.saving = true;
    requestAnimationFrame(() => setTimeout(() => this._saveNow(), 0));
  }

  _saveNow() {
    if (!this.saving) return;
    this.saving = false;
    this.save();
  }

  /** The frame on screen: {seq, width, height, metadata, raw, dtype, latest}, or null. */
  get frame() {
    return this.currentFrame();
  }

  /** True when this viewer shows raw tiles through its own levels. */
  get on() {
    return Boolean(this.state.levels) || this.state.auto;
  }

  /** Added to an image's key, so that switching levels shows the frame again. */
  keySuffix() {
    return this.on ? "|raw" : "";
  }

  /** The tile source to show a frame with (`info` as in the view's "shown"): its raw tiles
   *  painted with this viewer's levels when levels are on and the frame has raw data, else
   *  null (the JPEG or the display pyramid, as without the tools). */
  tilesFor(info) {
    // Newest wins: the read of a frame that was waiting its turn (not on screen, not
    // loading) is abandoned when another frame is asked for: at most one frame waits, none
    // is queued, and none is kept once levels are off.
    const waiting = this.ahead;
    this.ahead = null;
    if (waiting && !this._busy(waiting)) waiting.abandon();
    if (!this.on || !info || info.waiting || !RawTiles) return null;
    const own = info.own || {};
    const width = own.source_width || own.width;
    const height = own.source_height || own.height;
    if (typeof own.raw !== "string" || !own.raw || !width || !height) return null;
    const url = typeof own.time === "number" ? `${own.raw}?t=${own.time}` : own.raw;
    const marks = Number.isInteger(own.seq) ? this._marksOf(own.seq) : null;
    const seq = own.seq;
    const source = new RawTiles({
      url, width, height, levels: (tiles) => this.levelsNow(tiles), load: fetchBuffer, loadWhole: (u, o) => this._readWhole(u, o), marks,
      area: this._area(width, height),
      loadHistogram: Number.isInteger(seq) ? () => this._serverHistogram(seq) : null,
      loadScale: Number.isInteger(seq) ? () => this._serverLevels(seq) : null,
      paintsWithHistogram: () => !this.state.levels,
      // a newer frame than the one on screen is painted over it (docs/viewer.md, "Speed")
      over: Number.isInteger(seq) && Boolean(this.frame) && Number.isInteger(this.frame.seq) && seq > this.frame.seq,
    });
    // A frame read whole starts reading now, while the one before it is still being shown.
    this.ahead = source;
    source.frame();
    return source;
  }

  /** Read a whole frame (`fetchBuffer`'s arguments) once the one being read is in: one
   *  read at a time, so that the frame read is the newest when its turn comes (a frame
   *  abandoned while it waits is never asked for) and no two frames share the wire. */
  _readWhole(url, options) {
    const turn = (this.reads || Promise.resolve()).then(() => {
      if (options.signal && options.signal.aborted) throw new Error("abandoned for a newer frame");
      const read = fetchBuffer(url, options);
      // The histogram is asked after the read: the server answers whole-frame questions one
      // at a time, and the read is what puts the frame on screen (docs/viewer.md, "Speed").
      if (options.started) options.started();
      return read;
    });
    this.reads = turn.then(() => {}, () => {});
    return turn;
  }

  /** The part of a width × height frame's raw pyramid the view shows now: the rectangle
   *  {level, x0, y0, x1, y1} of the finest level drawn, covering its tiles on screen — when
   *  the frame on screen is raw tiles of the same size (a new live frame is then read only
   *  where it will be seen); else null. */
  _area(width, height) {
    const item = this.view.current && this.view.current.item;
    const source = item && item.source;
    if (!RawTiles || !(source instanceof RawTiles) || source.dimensions.x !== width || source.dimensions.y !== height) return null;
    let drawn;
    try {
      drawn = item.getTilesToDraw().map((t) => t.tile);
    } catch {
      return null;  // an OpenSeadragon without this API: the whole frame
    }
    if (!drawn.length) return null;
    const level = Math.max(...drawn.map((tile) => tile.level));
    const size = source.levelSize(level);
    const area = { level, x0: Infinity, y0: Infinity, x1: 0, y1: 0 };
    for (const tile of drawn) {
      if (tile.level !== level) continue;
      const rect = tileRect(tile.x, tile.y, size.width, size.height);
      area.x0 = Math.min(area.x0, rect.x0);
      area.y0 = Math.min(area.y0, rect.y0);
      area.x1 = Math.max(area.x1, rect.x1);
      area.y1 = Math.max(area.y1, rect.y1);
    }
    return area;
  }

  /** The server's histogram of every pixel of frame `seq` (as `histogram` gives it, the
   *  channels summed), or null. */
  async _serverHistogram(seq) {
    const answer = await fetchAnswer(`api/histogram?seq=${seq}&bins=256`);
    const server = answer.text ? JSON.parse(answer.text) : null;
    return server && Array.isArray(server.edges) && server.edges.length > 1
      ? { min: server.min, max: server.max, edges: server.edges, counts: summed(server.counts) }
      : null;
  }

  /** The server's levels answer for frame `seq` (/api/levels: presets and quantiles), or
   *  null (a server without it: auto levels then come from the histogram). */
  async _serverLevels(seq) {
    const answer = await fetchAnswer(`api/levels?seq=${seq}`);
    const scale = answer.text ? JSON.parse(answer.text) : null;
    return scale && scale.presets ? scale : null;
  }

  // ---- when each live frame went through each stage ---------------------------------------

  /** Frame `seq` was notified. */
  markNotified(seq) {
    this._marksOf(seq).notified = performance.now();
  }

  /** Frame `seq` is shown (the first time): noted now, and on screen at the next animation
   *  frame. */
  markShown(seq) {
    const marks = this.frameMarks.get(seq);
    if (marks && !marks.shown) {
      marks.shown = performance.now();
      requestAnimationFrame(() => { marks.onScreen = performance.now(); });
    }
  }

  /** The record of frame `seq`'s stages (the last 64 frames are kept). */
  _marksOf(seq) {
    let marks = this.frameMarks.get(seq);
    if (!marks) {
      marks = { seq };
      this.frameMarks.set(seq, marks);
      if (this.frameMarks.size > 64) this.frameMarks.delete(this.frameMarks.keys().next().value);
    }
    return marks;
  }

  // ---- painting ---------------------------------------------------------------------------

  /** The levels to paint with: the viewer's own, else (auto) those of the histogram of the
   *  frame on screen, or of `source`'s frame when it is read whole (a new live frame is then
   *  painted once, with its own levels, before it is shown). */
  levelsNow(source = null) {
    const own = source && !this.state.levels ? source.histogram() : null;
    const hist = own || (this.histogramData && this.histogramData.hist);
    const scale = (source && source.scale) || (this.scaleData && this.scaleData.scale);
    const levels = this.state.levels || this._preset(scale) || (hist && autoLevels(hist)) || { black: 0, white: 1 };
    const frame = this.frame;
    const saturation = this.state.saturation && frame ? saturationLevel(frame.metadata, frame.dtype) : null;
    const { stretch, colormap, invert } = this.state;
    const quantiles = stretch === "histeq" && scale ? scale.quantiles : null;
    return { black: levels.black, white: levels.white, stretch, colormap, invert, quantiles, saturation };
  }

  /** The black and white points of the chosen preset in a levels answer, or null. */
  _preset(scale) {
    const points = scale && scale.presets && scale.presets[this.state.preset];
    return points && points[0] < points[1] ? { black: points[0], white: points[1] } : null;
  }

  /** Whether the view loads or shows (or keeps as its spare) the raw tiles `source`. */
  _busy(source) {
    const { loading, current, spare } = this.view;
    return [loading, current, spare].some((job) => job && job.tiles === source);
  }

  /** The raw tile sources in the view (the frame on screen and any kept to swap). */
  sources() {
    return this._items().map((item) => item.source);
  }

  _items() {
    const world = this.view.osd.world;
    const items = [];
    for (let i = 0; i < world.getItemCount(); i += 1) {
      const item = world.getItemAt(i);
      if (RawTiles && item.source instanceof RawTiles) items.push(item);
    }
    return items;
  }

  /** The raw value at pixel (x, y) of the frame on screen when levels are on and its tile is
   *  in memory ({value, dtype}), else null. */
  valueAt(x, y) {
    const source = this.on && this.view.current ? this.view.current.item.source : null;
    return RawTiles && source instanceof RawTiles ? source.valueAt(x, y) : null;
  }

  /** Paint the raw tiles in memory with the levels now: no request; the tiles on screen
   *  first. */
  repaint() {
    const levels = this.levelsNow();
    const screen = this._screen();
    for (const item of this._items()) {
      let onScreen = null;  // URL → the part of the tile on screen (tilepaint.js)
      try {
        onScreen = new Map(item.getTilesToDraw().map((t) => [t.tile.getUrl(), shownPart(t.tile, screen)]));
      } catch {
        onScreen = null;  // an OpenSeadragon without this API: every tile at once
      }
      item.source.repaint(levels, onScreen);
    }
    this.view.osd.forceRedraw();
    this.panel.update();
  }

  /** The drawer's canvas in CSS pixels ({width, height}, read without a layout), or null
   *  when the view is rotated (what is on screen is then not a rectangle of tiles). */
  _screen() {
    const osd = this.view.osd;
    const canvas = osd.drawer && osd.drawer.canvas;
    if (!canvas || (osd.viewport.getRotation && osd.viewport.getRotation())) return null;
    const ratio = (globalThis.OpenSeadragon && globalThis.OpenSeadragon.pixelDensityRatio) || 1;
    return { width: canvas.width / ratio, height: canvas.height / ratio };
  }

  /** Show the levels' part of the panel (when levels are on); wire its fields. */
  show() {
    this.panel.show();
  }

  wire() {
    this.panel.wire();
  }

  /** Levels were switched on or off: the histogram known is no longer the one to draw. */
  forget() {
    this.histogramData = null;
  }

  /** The histogram of the frame on screen, from its coarsest raw tile (the whole frame in one
   *  tile of at most 254 × 254 means); with "auto", new levels from it. */
  async histogram(frame) {
    if (!frame.raw || (this.histogramData && this.histogramData.seq === frame.seq)) return;
    if (!this.scaleData || this.scaleData.seq !== frame.seq) this._scaleOf(frame);
    const { maxLevel } = dziLevels(frame.width, frame.height);
    const level = Math.max(0, maxLevel - Math.ceil(Math.log2(Math.max(frame.width, frame.height) / 254)));
    const [path, query] = frame.raw.split("?");
    const url = `${path.replace(/\.dzi$/, "_files/")}${level}/0_0.npy${query ? `?${query}` : ""}`;
    let hist;
    try {
      // The one the frame's raw tiles have (counted here when it was read whole, or asked
      // while it was read); else the server's histogram of every pixel, else the one of its
      // coarsest tile.
      const source = this.view.current && this.view.current.item.source;
      const read = RawTiles && source instanceof RawTiles && source.url.split("?")[0] === frame.raw ? source.frame() : null;
      if (read) {
        await read;
        hist = source.histogram() || (source.counting && await source.counting);
      }
      if (!hist) hist = await this._serverHistogram(frame.seq) || histogram(parseNpy(await fetchBuffer(url)).data);
    } catch {
      this.panel.note("no raw data for this frame");
      return;
    }
    if (this.frame !== frame) return;
    this.histogramData = { seq: frame.seq, hist };
    if (this.state.auto || !this.state.levels) {
      const scale = this.scaleData && this.scaleData.seq === frame.seq ? this.scaleData.scale : null;
      const auto = this._preset(scale) || autoLevels(hist);
      this.state.levels = this.state.auto ? null : auto;
      if (!this.state.auto) this.save();
    }
    const dtype = frame.dtype || "float64";  // integer data: whole numbers
    this.panel.note(`frame #${frame.seq}: ${formatRaw(hist.min, dtype)} … ${formatRaw(hist.max, dtype)}`);
    this.repaint();
  }

  /** The levels answer of `frame` (the one its raw tiles have, else asked): kept as the
   *  frame on screen's, and the tiles repainted if it changes what they show. */
  async _scaleOf(frame) {
    const source = this.view.current && this.view.current.item.source;
    const own = RawTiles && source instanceof RawTiles && source.url.split("?")[0] === frame.raw ? source : null;
    let scale = own && (own.scale || (own.scaling && await own.scaling));
    if (!scale && Number.isInteger(frame.seq)) scale = await this._serverLevels(frame.seq).catch(() => null);
    if (this.frame !== frame || !scale) return;
    this.scaleData = { seq: frame.seq, scale };
    if (!this.state.levels || this.state.stretch === "histeq") this.repaint();
  }
}

/** Histogram counts summed over the channels (a colour frame has a list per channel). */
function summed(counts) {
  if (!Array.isArray(counts[0])) return counts;
  return counts[0].map((_, i) => counts.reduce((sum, channel) => sum + channel[i], 0));
}
