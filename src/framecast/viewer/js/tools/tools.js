// The viewer's scientific tools (docs/viewer.md, "Scientific tools"), wired together: the
// panel and its buttons, the overlay's marks, the point tool and the shortcuts; levels on the
// raw data are levels.js's, the readout readout.js's, metadata over time timeplot.js's, a
// region's figures figures.js's. main.js hands it what it knows (the frame on screen, each
// notification, the kept frames, the control channel); the tools keep their own state in
// the URL fragment. Its root is the image section it lays its box in (what floats over the
// image: the Tools button, the status line, the loupe); its panel goes to the page's side
// column (`dock`).

import { ToolOverlay } from "./overlay.js";
import { MarkTool } from "./marks.js";
import { Figures } from "./figures.js";
import { Levels } from "./levels.js";
import { Readout } from "./readout.js";
import { TimePlot } from "./timeplot.js";
import { parseTools, rememberTools } from "./toolstate.js";
import { PANEL } from "./toolspanel.js";
import { scaleBar } from "./scalebar.js";
import { MODE_NOTES, helpRows, onToolKeys } from "./keys.js";
import { ASTRO_MODES, Astro } from "./astro.js";
import { parts } from "../elements.js";
import { PointTool } from "./point.js";

export class Tools extends EventTarget {
  /** `host`: the image section (the root the tools' box is laid in); `dock`: the side
   *  column the panel is moved to once every part is found (null: it stays in the box,
   *  over the image); `view`: the
   *  ImageView; `banners`: the Banners over the image; `help`: the page's HelpDialog (the
   *  tools list their keys in it), or null; `stream`: this page's stream; `keptFrames()`:
   *  the frames the server keeps; `marksApi`: the shared marks' requests (tools/marks.js).
   *  Event "sourcechange": levels were switched on or off, the frame on screen should be
   *  shown again (with `tilesFor` and `keySuffix`). */
  constructor(host, { dock = null, view, banners, help = null, stream, keptFrames = () => [], marksApi }) {
    super();
    this.view = view;
    this.stream = stream;
    this.state = parseTools(location.hash);
    this.mode = null;
    this.frame = null;          // the frame on screen: {seq, width, height, metadata, raw}
    this.hovered = null;        // the pixel whose value is shown
    this.control = null;        // the operator's control channel, when allowed
    this.liveSeq = null;        // the newest frame notified

    const box = document.createElement("div");
    box.className = "tools";
    box.innerHTML = PANEL;
    host.append(box);
    this.el = parts(box, {
      toggle: "btn-tools", panel: "tools-panel", note: "tools-note", pixels: "tools-pixels",
      region: "tools-region", line: "tools-line", keys: "tools-keys",
    });
    this.figures = new Figures(box, {
      onCentroid: (pixel) => {
        this.state.reticle = pixel;
        this._save();
        this._apply();
      },
    });
    this.buttons = Object.fromEntries([...box.querySelectorAll("[data-tool]")].map((b) => [b.dataset.tool, b]));
    this.reply = banners.banner("tools-reply", "info");  // what the point and mark tools did
    this.point = new PointTool(banners, { reply: this.reply, stream, redraw: () => this._marks() });
    this.plot = new TimePlot(box, {
      state: this.state, save: () => this._save(), alert: banners.banner("tools-alert", "warn"), stream,
      keptFrames, frame: () => this.frame,
    });
    this.overlay = new ToolOverlay(view, { scaleBarFor: (scale) => this._scaleBar(scale) });
    this.marks = new MarkTool(this.el.panel, { view, overlay: this.overlay, api: marksApi, say: (text, bad) => this.reply.say(text, { bad, forMs: 8000 }) });
    this.shapes = this.marks.layer;  // the producer's overlays and the marks, over the image
    this.levels = new Levels({ view, box, state: this.state, frame: () => this.frame, save: () => this._save() });
    const [save, frame, mode] = [() => this._save(), () => this.frame, () => this.mode];
    this.astro = new Astro(box, { host, view, overlay: this.overlay, state: this.state, save, frame, mode, stream });
    this.readout = new Readout(host, {
      table: this.el.pixels, state: this.state, toScreen: (x, y) => this.overlay.toScreen(x, y),
      inMemory: (x, y) => this.levels.valueAt(x, y),
      paintLevels: () => (this.levelsOn ? this.levels.levelsNow() : null),
      sky: this.astro.sky,
    });
    // The page's help lists every shortcut; without one, the panel lists the tools' own.
    if (help) help.addRows(helpRows());
    else this.el.keys.querySelector("tbody").append(...helpRows());
    this.el.keys.hidden = Boolean(help);
    this._wire();
    this.levels.wire();
    this._apply();
    // Last: every part was found under the box; the panel now takes its place in the side
    // column, so it never covers the image (docs/viewer.md, "Layout").
    if (dock) dock.prepend(this.el.panel);
  }

  // ---- what main.js tells the tools ------------------------------------------------------

  /** A frame is on screen (live, history or blink): `detail` of the view's "shown". */
  shown({ info, width, height }) {
    if (!info || info.waiting) return;
    const own = info.own || {};
    const metadata = info.metadata || {};
    this.frame = {
      seq: Number.isInteger(own.seq) ? own.seq : null,
      width: own.source_width || own.width || width,
      height: own.source_height || own.height || height,
      metadata,
      raw: own.raw ?? null,
      dtype: own.dtype ?? null,
      latest: this.liveSeq === null || own.seq >= this.liveSeq,
    };
    this.levels.markShown(this.frame.seq);
    this.overlay.setSize(this.frame.width, this.frame.height);
    this.marks.shown(this.frame, own.overlays);  // this frame's overlays only
    if (this.state.reticle === "centre") this.state.reticle = this._centre();
    this._clampMarks();
    this._marks();
    this.plot.shown(this.frame);
    if (this.levelsOn) this.levels.histogram(this.frame);
    if (this.hovered) this._read(this.hovered);
    this._measure();
    this.astro.shown(this.frame);
  }

  /** Ask the region's figures and the line's profile for the frame on screen. */
  _measure() {
    const frame = this.frame;
    if (!frame || !frame.raw || frame.seq === null) return;
    const { region, line } = this.state;
    this.figures.measure(frame, { region, line }, () => ({ frame: this.frame, region: this.state.region, line: this.state.line }));
  }

  // ---- levels on raw tiles: levels.js owns them; main.js, tests and benchmarks ask here ------
  // levelsOn: raw tiles through this viewer's levels; keySuffix(), tilesFor(info): how to
  // show a frame; histogramData: {seq, hist} of the frame on screen; frameMarks: each live
  // frame's stages; _sources(): the raw tile sources in the view.

  get levelsOn() { return this.levels.on; }
  keySuffix() { return this.levels.keySuffix(); }
  tilesFor(info) { return this.levels.tilesFor(info); }
  get histogramData() { return this.levels.histogramData; }
  get frameMarks() { return this.levels.frameMarks; }
  _sources() { return this.levels.sources(); }

  /** A `new_image` notification (every live frame, shown or skipped). */
  notified(message) {
    const seq = message.seq;
    if (!Number.isInteger(seq) || !message.metadata || typeof message.metadata !== "object") return;
    this.liveSeq = seq;
    this.levels.markNotified(seq);
    this.plot.notified(seq, message.metadata);
  }

  /** Show the tools of another page's fragment `hash` (a followed presenter's:
   *  docs/together.md), as if this page had been opened with it. */
  follow(hash) {
    const wasOn = this.levelsOn;
    Object.assign(this.state, parseTools(hash));
    if (this.frame && this.state.reticle === "centre") this.state.reticle = this._centre();
    this._apply();
    if (this.levelsOn !== wasOn) this._levelsSwitched();
    else if (this.levelsOn) this.levels.repaint();
    this._measure();
  }

  /** Levels were switched on or off: the frame on screen is shown again. */
  _levelsSwitched() {
    this.levels.forget();
    this.dispatchEvent(new Event("sourcechange"));
    if (this.levelsOn && this.frame) this.levels.histogram(this.frame);
  }

  /** The list of kept frames is known (again): a plotted key gets their values. */
  historyLoaded() {
    if (this.state.open && this.state.plot) this.plot.fill();
  }

  /** The control channel (a transport ControlChannel) when this page may command the
   *  producer, else null: the point tool is offered only with it. */
  setControl(channel) {
    this.control = channel;
    this.point.control = channel;
    this.buttons.point.hidden = !channel;
    if (!channel && this.mode === "point") this._setMode(null);
  }

  // ---- panel ------------------------------------------------------------------------------

  _wire() {
    this.el.toggle.addEventListener("click", () => this._do("tools"));
    for (const [name, button] of Object.entries(this.buttons)) {
      button.addEventListener("click", () => this._do(name));
    }
    for (const button of this.el.panel.querySelectorAll("[data-remove]")) {
      button.addEventListener("click", () => this._remove(button.dataset.remove));
    }
    this.overlay.addEventListener("change", (event) => {
      Object.assign(this.state, event.detail);
      if (event.detail.region) this.figures.restart(this.frame ? this.frame.seq : null);
      this._save();
      this._marks();
      this._measure();
    });
    this.overlay.addEventListener("hover", (event) => this._read(event.detail));
    this.overlay.addEventListener("hold", (event) => this._read(event.detail));
    this.overlay.addEventListener("point", (event) => this.point.tap(event.detail));
    onToolKeys((action) => this._do(action), () => this.mode);
  }

  /** One user action (a button or a key). */
  _do(action) {
    const state = this.state;
    switch (action) {
      case "tools": state.open = !state.open; break;
      case "readout":
        state.readout = !state.readout;
        if (state.readout) state.open = true;
        if (!state.readout) this.readout.table.clear();
        break;
      case "loupe":
        state.loupe = !state.loupe;
        if (!state.loupe) this.readout.loupe.hide();
        break;
      case "reticle": state.reticle = state.reticle ? null : this._centre(); break;
      case "scaleBar": state.scaleBar = !state.scaleBar; break;
      case "overlays": state.overlays = !state.overlays; break;
      case "mark": this._setMode(this.mode === "mark" ? null : "mark"); return;
      case "region": case "line": case "point": case "box": case "circle": case "polygon": case "star":
        if (action === "point" && !this.control) return;
        this._setMode(this.mode === action ? null : action);
        break;
      case "focus": this.astro.toggleFocus(); state.open = true; break;
      case "close": this.astro.close(); return;
      case "levels":
        if (this.levelsOn) {
          this.state.levels = null;
          this.state.auto = false;
          this.state.saturation = false;
        } else {
          this.state.auto = true;
          this.state.open = true;
        }
        this.levels.forget();  // before the panel draws the histogram
        this._save();
        this._apply();
        this._levelsSwitched();
        return;
      case "saturation": {
        state.saturation = !state.saturation;
        const switching = state.saturation && !this.levelsOn;
        if (switching) {
          state.auto = true;
          state.open = true;
        }
        this._save();
        this._apply();
        if (switching) this._levelsSwitched();
        else this.levels.repaint();
        return;
      }
      case "remove":
        if (this.mode === "region" || this.mode === "line") this._remove(this.mode);
        return;
      case "plot":
        state.open = true;
        this._apply();
        this.plot.choose();
        return;
      case "done": this._setMode(null); return;
      default: return;
    }
    this._save();
    this._apply();
  }

  _setMode(mode) {
    if (mode !== "point") this.point.cancel();
    this.mode = mode;
    this.overlay.setMode(ASTRO_MODES.includes(mode) ? null : mode);
    this.astro.setMode(mode);
    for (const name of ["region", "line", "point", "mark", ...ASTRO_MODES]) this.buttons[name].setAttribute("aria-pressed", String(mode === name));
    this.marks.setActive(mode === "mark");
    this.el.note.textContent = MODE_NOTES[mode] || "";
    this.el.note.hidden = !mode;
    if (mode && !this.state.open) {
      this.state.open = true;
      this._save();
      this._apply();
    }
  }

  _remove(which) {
    this.state[which] = null;
    if (this.mode === which) this._setMode(null);
    this._save();
    this._marks();
  }

  /** Show the state: panel, pressed buttons, marks. */
  _apply() {
    const state = this.state;
    this.el.panel.hidden = !state.open;
    this.el.toggle.setAttribute("aria-expanded", String(state.open));
    this.buttons.readout.setAttribute("aria-pressed", String(state.readout));
    this.buttons.loupe.setAttribute("aria-pressed", String(state.loupe));
    this.el.pixels.hidden = !state.readout;
    this.buttons.reticle.setAttribute("aria-pressed", String(Boolean(state.reticle)));
    this.buttons.scaleBar.setAttribute("aria-pressed", String(state.scaleBar));
    this.buttons.levels.setAttribute("aria-pressed", String(this.levelsOn));
    this.buttons.saturation.setAttribute("aria-pressed", String(state.saturation));
    this.buttons.overlays.setAttribute("aria-pressed", String(state.overlays));
    this.shapes.hide("overlays", !state.overlays);
    this.levels.show();
    this._marks();
    this.plot.apply();
  }

  _marks() {
    const { reticle, region, line, scaleBar: bar } = this.state;
    this.overlay.setMarks({ reticle: reticle === "centre" ? null : reticle, region, line, scaleBar: bar, pending: this.point.pending });
    const regionText = this.el.region.querySelector("span");
    this.el.region.hidden = !region;
    if (region) regionText.textContent = `Region x ${region.x}, y ${region.y}, ${region.w} × ${region.h} px`;
    this.figures.show({ region, line, raw: Boolean(this.frame && this.frame.raw) });
    this.el.line.hidden = !line;
    if (line) this.el.line.querySelector("span").textContent = `Line (${line.x0}, ${line.y0}) → (${line.x1}, ${line.y1})`;
  }

  /** The server's limits (api/status's `limits`): the polygons' corners. */
  setLimits(limits) {
    if (limits) this.astro.regions.setMaxCorners(limits.max_polygon_corners);
  }

  _save() {
    rememberTools(this.state);
  }

  /** The centre pixel of the frame on screen ("centre" until a frame is known). */
  _centre() {
    if (!this.frame) return "centre";
    return { x: Math.floor(this.frame.width / 2), y: Math.floor(this.frame.height / 2) };
  }

  /** Marks from a link made on a larger frame are kept inside this one. */
  _clampMarks() {
    const { width, height } = this.frame;
    const r = this.state.reticle;
    if (r && r !== "centre" && (r.x >= width || r.y >= height)) this.state.reticle = this._centre();
  }

  // ---- overlays, readout ----------------------------------------------------------------------

  _scaleBar(screenPerPixel) {
    const metadata = this.frame && this.frame.metadata;
    if (!metadata) return null;
    return scaleBar(metadata.pixel_size, metadata.pixel_unit, screenPerPixel);
  }

  _read(pixel) {
    this.hovered = pixel;
    this.readout.read(pixel, this.frame);
  }
}
