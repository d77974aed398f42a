// The viewer's scientific tools (SPEC §11.3), wired together: the panel and its buttons,
// the overlay's marks, the pixel readout, metadata over time with a threshold, the point
// tool and the shortcuts; levels on the raw data are levels.js's. main.js hands it what it
// knows (the frame on screen, each notification, the kept frames, the control channel); the
// tools keep their own state in the URL fragment.

import { ToolOverlay } from "./overlay.js";
import { LineChart } from "./chart.js";
import { MetaSeries, crosses } from "./series.js";
import { PixelReader, fetchMetadata } from "./analysis.js";
import { Figures, LINE_FIGURES, REGION_FIGURES } from "./figures.js";
import { Levels } from "./levels.js";
import { formatRaw } from "./rawtiles.js";
import { COLORMAPS, STRETCHES } from "./colour.js";
import { parseTools, rememberTools } from "./toolstate.js";
import { scaleBar } from "./scalebar.js";
import { actionFor, helpRows } from "./keys.js";
import { typing } from "../controls.js";

const PANEL = `
  <button type="button" class="tools-toggle" id="btn-tools" aria-expanded="false" aria-controls="tools-panel" title="Scientific tools (t)">Tools</button>
  <p class="tools-readout" id="tools-readout" hidden></p>
  <section class="tools-panel" id="tools-panel" aria-label="Scientific tools" hidden>
    <div class="tools-row" role="group" aria-label="Tools">
      <button type="button" data-tool="readout" aria-pressed="false" title="Pixel readout (v)">Readout</button>
      <button type="button" data-tool="reticle" aria-pressed="false" title="Reticle (x)">Reticle</button>
      <button type="button" data-tool="scaleBar" aria-pressed="false" title="Scale bar (m)">Scale bar</button>
      <button type="button" data-tool="region" aria-pressed="false" title="Draw or move a region (r)">Region</button>
      <button type="button" data-tool="line" aria-pressed="false" title="Draw or move a line (/)">Line</button>
      <button type="button" data-tool="point" aria-pressed="false" title="Send a pixel to the producer (p)" hidden>Point</button>
      <button type="button" data-tool="levels" aria-pressed="false" title="Levels on the raw data (c)">Levels</button>
    </div>
    <div class="tools-levels" id="tools-levels" hidden>
      <h3>Levels</h3>
      <canvas class="tools-hist" id="tools-hist" aria-label="Histogram of the frame on screen, with the black and white points"></canvas>
      <div class="tools-plot">
        <label>Black <input id="tools-black" type="text" inputmode="decimal" size="8"></label>
        <label>White <input id="tools-white" type="text" inputmode="decimal" size="8"></label>
        <select id="tools-stretch" aria-label="Stretch">${STRETCHES.map((n) => `<option>${n}</option>`).join("")}</select>
        <select id="tools-cmap" aria-label="Colormap">${COLORMAPS.map((n) => `<option>${n}</option>`).join("")}</select>
        <button type="button" id="tools-auto" aria-pressed="false" title="Auto: follow each new frame; off: hold these levels">Auto</button>
        <button type="button" data-tool="saturation" aria-pressed="false" title="Paint saturated pixels red (h)">Saturation</button>
      </div>
      <p class="tools-last" id="tools-levels-note"></p>
    </div>
    <p class="tools-note" id="tools-note" hidden></p>
    <p class="tools-mark" id="tools-region" hidden><span></span> <button type="button" class="remove" data-remove="region" aria-label="Remove the region">×</button></p>
    ${REGION_FIGURES}
    <p class="tools-mark" id="tools-line" hidden><span></span> <button type="button" class="remove" data-remove="line" aria-label="Remove the line">×</button></p>
    ${LINE_FIGURES}
    <h3>Metadata over time</h3>
    <div class="tools-plot">
      <label>Key <select id="tools-plot-key" title="Plot a numeric metadata key (g)"><option value="">—</option></select></label>
      <label>Alert when <select id="tools-th-dir" aria-label="Threshold direction"><option value="above">above</option><option value="below">below</option></select>
        <input id="tools-th-value" type="text" inputmode="decimal" size="8" aria-label="Threshold" placeholder="value"></label>
      <label class="tools-check"><input type="checkbox" id="tools-notify"> notify</label>
    </div>
    <canvas class="tools-chart" id="tools-chart" aria-label="The chosen key over time"></canvas>
    <p class="tools-last" id="tools-plot-last"></p>
    <details class="tools-keys" id="tools-keys"><summary>Shortcuts</summary><table><tbody></tbody></table></details>
  </section>`;

export class Tools extends EventTarget {
  /** `view`: the ImageView; `host`: the image section; `banners`: where banners go;
   *  `stream`: this page's stream; `keptFrames()`: the frames the server keeps.
   *  Event "sourcechange": levels were switched on or off, the frame on screen should be
   *  shown again (with `tilesFor` and `keySuffix`). */
  constructor({ view, host, banners, stream, keptFrames = () => [] }) {
    super();
    this.view = view;
    this.stream = stream;
    this.keptFrames = keptFrames;
    this.state = parseTools(location.hash);
    this.mode = null;
    this.frame = null;          // the frame on screen: {seq, width, height, metadata, raw}
    this.hovered = null;        // the pixel whose value is shown
    this.control = null;        // the operator's control channel, when allowed
    this.series = new MetaSeries();
    this.pixels = new PixelReader();
    this.alerted = false;       // the last live frame crossed the threshold
    this.filling = false;

    const box = document.createElement("div");
    box.className = "tools";
    box.innerHTML = PANEL;
    host.append(box);
    const $ = (id) => box.querySelector(`#${id}`);
    this.el = {
      toggle: $("btn-tools"),
      panel: $("tools-panel"),
      readout: $("tools-readout"),
      note: $("tools-note"),
      region: $("tools-region"),
      line: $("tools-line"),
      plotKey: $("tools-plot-key"),
      thDir: $("tools-th-dir"),
      thValue: $("tools-th-value"),
      notify: $("tools-notify"),
      last: $("tools-plot-last"),
      keys: box.querySelector("#tools-keys tbody"),
    };
    this.figures = new Figures(box, {
      onCentroid: (pixel) => {
        this.state.reticle = pixel;
        this._save();
        this._apply();
      },
    });
    this.liveSeq = null;        // the newest frame notified
    this.buttons = Object.fromEntries([...box.querySelectorAll("[data-tool]")].map((b) => [b.dataset.tool, b]));
    this.alert = banner(banners, "warn", "tools-alert");
    this.reply = banner(banners, "info", "tools-reply");
    this.chart = new LineChart($("tools-chart"));
    this.overlay = new ToolOverlay(view, view.osd.element.parentElement, {
      scaleBarFor: (scale) => this._scaleBar(scale),
    });
    this.levels = new Levels({ view, box, state: this.state, frame: () => this.frame, save: () => this._save() });
    this._helpKeys();
    this._wire();
    this.levels.wire();
    this._apply();
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
    if (this.frame.seq !== null) this.series.add(this.frame.seq, metadata);
    this.levels.markShown(this.frame.seq);
    this.overlay.setSize(this.frame.width, this.frame.height);
    if (this.state.reticle === "centre") this.state.reticle = this._centre();
    this._clampMarks();
    this._marks();
    this._thresholdBanner();
    this._refreshPlot();
    if (this.levelsOn) this.levels.histogram(this.frame);
    if (this.hovered) this._read(this.hovered);
    this._measure();
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
    const last = [...this.series.frames.keys()].pop();
    if (last !== undefined && seq < last) this.series.clear();  // a restarted server
    this.series.add(seq, message.metadata);
    this._refreshPlot();
    const key = this.state.plot;
    if (key && this.state.threshold) {
      const value = message.metadata[key];
      const crossing = crosses(value, this.state.threshold);
      if (crossing && !this.alerted) this._notify(key, value, seq);
      this.alerted = crossing;
    }
  }

  /** The list of kept frames is known (again): a plotted key gets their values. */
  historyLoaded() {
    if (this.state.open && this.state.plot) this._fillHistory();
  }

  /** The control channel (a transport ControlChannel) when this page may command the
   *  producer, else null: the point tool is offered only with it. */
  setControl(channel) {
    this.control = channel;
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
    this.el.plotKey.addEventListener("change", () => {
      this.state.plot = this.el.plotKey.value || null;
      this.alerted = false;
      this._save();
      this._refreshPlot();
      this._thresholdBanner();
      if (this.state.plot) this._fillHistory();
    });
    const threshold = () => {
      const text = this.el.thValue.value.trim();
      const value = Number(text);
      this.state.threshold = text && Number.isFinite(value) ? { direction: this.el.thDir.value, value } : null;
      this.alerted = false;
      this._save();
      this._refreshPlot();
      this._thresholdBanner();
    };
    this.el.thDir.addEventListener("change", threshold);
    this.el.thValue.addEventListener("change", threshold);
    this.el.notify.addEventListener("change", async () => {
      if (this.el.notify.checked && globalThis.Notification && Notification.permission !== "granted") {
        const answer = await Notification.requestPermission();
        if (answer !== "granted") this.el.notify.checked = false;
      }
    });
    this.overlay.addEventListener("change", (event) => {
      Object.assign(this.state, event.detail);
      if (event.detail.region) this.figures.restart();
      this._save();
      this._marks();
      this._measure();
    });
    this.overlay.addEventListener("hover", (event) => this._read(event.detail));
    this.overlay.addEventListener("hold", (event) => this._read(event.detail));
    this.overlay.addEventListener("point", (event) => this._point(event.detail));
    document.addEventListener("keydown", (event) => {
      if (typing(event) && event.key !== "Escape") return;
      const action = actionFor(event.key);
      if (!action) return;
      if (action === "done" && !this.mode) return;  // Esc is the dialogs' first
      event.preventDefault();
      this._do(action);
    });
  }

  /** One user action (a button or a key). */
  _do(action) {
    const state = this.state;
    switch (action) {
      case "tools": state.open = !state.open; break;
      case "readout":
        state.readout = !state.readout;
        if (!state.readout) this.el.readout.hidden = true;
        break;
      case "reticle": state.reticle = state.reticle ? null : this._centre(); break;
      case "scaleBar": state.scaleBar = !state.scaleBar; break;
      case "region": case "line": case "point":
        if (action === "point" && !this.control) return;
        this._setMode(this.mode === action ? null : action);
        break;
      case "levels":
        if (this.levelsOn) {
          this.state.levels = null;
          this.state.auto = false;
          this.state.saturation = false;
        } else {
          this.state.auto = true;
          this.state.open = true;
        }
        this.levels.forget();
        this._save();
        this._apply();
        this.dispatchEvent(new Event("sourcechange"));
        if (this.levelsOn && this.frame) this.levels.histogram(this.frame);
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
        if (switching) {
          this.levels.forget();
          this.dispatchEvent(new Event("sourcechange"));
          if (this.frame) this.levels.histogram(this.frame);
        } else {
          this.levels.repaint();
        }
        return;
      }
      case "remove":
        if (this.mode === "region" || this.mode === "line") this._remove(this.mode);
        return;
      case "plot":
        state.open = true;
        this._apply();
        this.el.plotKey.focus();
        this._fillHistory();
        return;
      case "done": this._setMode(null); return;
      default: return;
    }
    this._save();
    this._apply();
  }

  _setMode(mode) {
    this.mode = mode;
    this.overlay.setMode(mode);
    for (const name of ["region", "line", "point"]) this.buttons[name].setAttribute("aria-pressed", String(mode === name));
    const notes = {
      region: "Drag on the image to draw a region; drag inside it to move it.",
      line: "Drag on the image to draw a line; drag along it to move it.",
      point: "Click a pixel to send it to the producer.",
    };
    this.el.note.textContent = notes[mode] || "";
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
    this.buttons.reticle.setAttribute("aria-pressed", String(Boolean(state.reticle)));
    this.buttons.scaleBar.setAttribute("aria-pressed", String(state.scaleBar));
    this.buttons.levels.setAttribute("aria-pressed", String(this.levelsOn));
    this.buttons.saturation.setAttribute("aria-pressed", String(state.saturation));
    this.levels.show();
    if (state.threshold) {
      this.el.thDir.value = state.threshold.direction;
      this.el.thValue.value = String(state.threshold.value);
    }
    this._marks();
    this._refreshPlot();
    if (state.open && state.plot) this._fillHistory();
  }

  _marks() {
    const { reticle, region, line, scaleBar: bar } = this.state;
    this.overlay.setMarks({ reticle: reticle === "centre" ? null : reticle, region, line, scaleBar: bar });
    const regionText = this.el.region.querySelector("span");
    this.el.region.hidden = !region;
    if (region) regionText.textContent = `Region x ${region.x}, y ${region.y}, ${region.w} × ${region.h} px`;
    this.figures.show({ region, line, raw: Boolean(this.frame && this.frame.raw) });
    this.el.line.hidden = !line;
    if (line) this.el.line.querySelector("span").textContent = `Line (${line.x0}, ${line.y0}) → (${line.x1}, ${line.y1})`;
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

  _helpKeys() {
    // The page's help lists every shortcut; without one, the panel lists the tools' own.
    const help = document.querySelector("#help-dialog table tbody");
    (help || this.el.keys).append(...helpRows());
    if (help) this.el.panel.querySelector("#tools-keys").hidden = true;
  }

  // ---- overlays ---------------------------------------------------------------------------

  _scaleBar(screenPerPixel) {
    const metadata = this.frame && this.frame.metadata;
    if (!metadata) return null;
    return scaleBar(metadata.pixel_size, metadata.pixel_unit, screenPerPixel);
  }

  // ---- pixel readout ----------------------------------------------------------------------

  async _read(pixel) {
    const token = (this.readToken = (this.readToken || 0) + 1);  // only the newest call writes
    this.hovered = pixel;
    const out = this.el.readout;
    if (!this.state.readout || !pixel || !this.frame) {
      if (!pixel) out.hidden = true;
      return;
    }
    const frame = this.frame;
    out.hidden = false;
    const where = `x ${pixel.x}, y ${pixel.y}`;
    const inMemory = this.levels.valueAt(pixel.x, pixel.y);
    if (inMemory) {
      out.textContent = `${where}: ${formatRaw(inMemory.value, inMemory.dtype)}`;
      return;
    }
    if (!frame.raw || this.pixels.unavailable) {
      out.textContent = where;
      return;
    }
    if (!out.textContent.startsWith(`${where}: `)) out.textContent = `${where}: …`;
    const value = await this.pixels.ask(frame.seq, pixel.x, pixel.y);
    if (token !== this.readToken || value === undefined) return;  // a newer call writes
    out.textContent = value === null ? where : `${where}: ${frame.dtype === "float32" ? float32Text(value) : value}`;
  }

  // ---- metadata over time -----------------------------------------------------------------

  /** Fetch the metadata of the kept frames not seen yet (once at a time). */
  async _fillHistory() {
    if (this.filling) return;
    const missing = this.keptFrames().map((f) => f.seq).filter((seq) => !this.series.has(seq));
    if (!missing.length) return;
    this.filling = true;
    try {
      const found = await fetchMetadata(missing);
      for (const [seq, data] of found) this.series.add(seq, data);
    } finally {
      this.filling = false;
    }
    this._refreshPlot();
  }

  _refreshPlot() {
    const keys = this.series.keys();
    const key = this.state.plot;
    if (key && !keys.includes(key)) keys.push(key);
    const select = this.el.plotKey;
    const have = [...select.options].map((o) => o.value).slice(1);
    if (have.join("\n") !== keys.join("\n")) {
      select.replaceChildren(new Option("—", ""), ...keys.map((k) => new Option(k, k)));
    }
    select.value = key || "";
    this.chart.canvas.hidden = !key;
    if (!this.state.open) return;
    const points = key ? this.series.points(key) : [];
    this.chart.set(points, key && this.state.threshold ? this.state.threshold.value : null);
    const last = points[points.length - 1];
    this.el.last.textContent = key
      ? last ? `${key} = ${last[1]} at #${last[0]} · ${points.length} frame${points.length === 1 ? "" : "s"}` : `${key}: no value yet`
      : "";
  }

  /** The banner on a frame on screen whose value crosses the threshold. */
  _thresholdBanner() {
    const key = this.state.plot;
    const threshold = this.state.threshold;
    const value = this.frame && key ? this.frame.metadata[key] : undefined;
    const crossing = crosses(value, threshold);
    this.alert.hidden = !crossing;
    if (crossing) {
      this.alert.textContent = `${key} = ${value} is ${threshold.direction} ${threshold.value} (frame #${this.frame.seq})`;
    }
  }

  _notify(key, value, seq) {
    if (!this.el.notify.checked || !globalThis.Notification || Notification.permission !== "granted") return;
    try {
      new Notification(`framecast: ${key} ${this.state.threshold.direction} ${this.state.threshold.value}`, {
        body: `${key} = ${value} (frame #${seq}${this.stream && this.stream !== "default" ? `, ${this.stream}` : ""})`,
        tag: `framecast-${key}`,
      });
    } catch {
      /* notifications refused by this browser (some need a service worker) */
    }
  }

  // ---- point to the producer --------------------------------------------------------------

  async _point(pixel) {
    if (!this.control) return;
    const say = (text, bad = false) => {
      this.reply.textContent = text;
      this.reply.classList.toggle("bad", bad);
      this.reply.hidden = false;
      clearTimeout(this.replyTimer);
      this.replyTimer = setTimeout(() => { this.reply.hidden = true; }, 8000);
    };
    try {
      const reply = await this.control.send({ cmd: "point", x: pixel.x, y: pixel.y, stream: this.stream });
      if (reply && (reply.error || reply.ok === false)) say(`point (${pixel.x}, ${pixel.y}) refused: ${reply.error || reply.reason || "no reason given"}`, true);
      else say(`pointed at x ${pixel.x}, y ${pixel.y}`);
    } catch (error) {
      say(`point (${pixel.x}, ${pixel.y}) not sent: ${error.message || error}`, true);
    }
  }
}

/** A float32 value as the server wrote it (a float64 text, 3.2500000088475645e-05) with
 *  the digits the float32 has (3.25e-05), as NumPy prints it; lists per channel too. */
function float32Text(text) {
  return text.split(", ").map((part) => {
    const number = Number(part);
    return Number.isFinite(number) ? formatRaw(Math.fround(number), "float32") : part;
  }).join(", ");
}

function banner(parent, kind, id) {
  const p = document.createElement("p");
  p.className = `banner ${kind}`;
  p.id = id;
  p.setAttribute("role", "status");
  p.hidden = true;
  parent.append(p);
  return p;
}
