// The levels' part of the tools panel (docs/viewer.md, "Levels"): the black and white
// fields, the Auto button and its preset, stretch, colormap and invert, and the histogram
// with the black and white points (drag either). It shows and changes the state of a
// Levels (levels.js), which paints.

import { prepareCanvas } from "./chart.js";
import { formatRaw, significant } from "./rawtext.js";
import { parts } from "../elements.js";

export class LevelsPanel {
  /** `box`: the tools' box holding the levels' elements; `levels`: the Levels it shows. */
  constructor(box, levels) {
    this.levels = levels;
    this.el = parts(box, {
      section: "tools-levels", hist: "tools-hist", black: "tools-black", white: "tools-white",
      stretch: "tools-stretch", cmap: "tools-cmap", auto: "tools-auto", note: "tools-levels-note",
      preset: "tools-preset", invert: "tools-invert",
    });
  }

  /** Show the levels' part of the panel when levels are on, with the levels now. */
  show() {
    this.el.section.hidden = !this.levels.on;
    if (this.levels.on) {
      this._fields();
      this._drawHistogram();
    }
  }

  /** The fields and the histogram, with the levels now. */
  update() {
    this._fields();
    this._drawHistogram();
  }

  /** Write a line under the histogram. */
  note(text) {
    this.el.note.textContent = text;
  }

  _fields() {
    const levels = this.levels.levelsNow();
    for (const name of ["black", "white"]) {
      const field = this.el[name];
      if (document.activeElement === field) continue;
      field.value = this._point(levels[name]);
      field.title = `${name} point: ${formatRaw(levels[name], "float64")}`;  // exact
    }
    this.el.stretch.value = this.levels.state.stretch;
    this.el.cmap.value = this.levels.state.colormap;
    this.el.preset.value = this.levels.state.preset;
    this.el.auto.setAttribute("aria-pressed", String(this.levels.state.auto));
    this.el.invert.setAttribute("aria-pressed", String(this.levels.state.invert));
  }

  /** A black or white point as its field shows it: an integer for integer data, else at
   *  most 7 significant digits (the exact value is the field's title). */
  _point(value) {
    const dtype = this.levels.frame && this.levels.frame.dtype;
    if (integerData(dtype)) return String(Math.round(value));
    return significant(String(value));
  }

  _drawHistogram() {
    const canvas = this.el.hist;
    const data = this.levels.histogramData;
    const prepared = prepareCanvas(canvas);
    if (!prepared || !data) return;
    const { g, width, height } = prepared;
    const style = getComputedStyle(canvas);
    const { edges, counts } = data.hist;
    const top = Math.log1p(Math.max(...counts));
    g.fillStyle = style.getPropertyValue("--fg-dim").trim() || "#aab4bf";
    counts.forEach((count, i) => {
      const h = top ? (Math.log1p(count) / top) * (height - 2) : 0;
      g.fillRect((i / counts.length) * width, height - h, Math.max(1, width / counts.length), h);
    });
    const levels = this.levels.levelsNow();
    const span = edges[edges.length - 1] - edges[0] || 1;
    const at = (v) => Math.min(width - 1, Math.max(0, ((v - edges[0]) / span) * width));
    g.fillStyle = style.getPropertyValue("--plot").trim() || "#8ab4f8";
    g.fillRect(at(levels.black) - 1, 0, 2, height);
    g.fillRect(at(levels.white) - 1, 0, 2, height);
  }

  /** The fields, the Auto button and dragging on the histogram change the levels. */
  wire() {
    const typed = () => {
      const shown = this.levels.levelsNow();
      // a field left as shown keeps its exact value (the text has at most 7 digits)
      const read = (name) => (this.el[name].value === this._point(shown[name]) ? shown[name] : Number(this.el[name].value));
      const black = read("black");
      const white = read("white");
      if (!Number.isFinite(black) || !Number.isFinite(white) || !(black < white)) {
        this.el.note.textContent = "black must be a number below white";
        return;
      }
      this.levels.state.levels = { black, white };
      this.levels.state.auto = false;
      this.levels.repaint();
      this.levels.saveSoon();
    };
    this.el.black.addEventListener("change", typed);
    this.el.white.addEventListener("change", typed);
    this.el.stretch.addEventListener("change", () => {
      this.levels.state.stretch = this.el.stretch.value;
      this.levels.repaint();
      this.levels.saveSoon();
    });
    this.el.cmap.addEventListener("change", () => {
      this.levels.state.colormap = this.el.cmap.value;
      this.levels.repaint();
      this.levels.saveSoon();
    });
    this.el.preset.addEventListener("change", () => {
      this.levels.state.preset = this.el.preset.value;
      this.levels.state.auto = true;
      this.levels.state.levels = null;
      this.levels.repaint();
      this.levels.saveSoon();
    });
    this.el.invert.addEventListener("click", () => {
      this.levels.state.invert = !this.levels.state.invert;
      this.levels.repaint();
      this.levels.saveSoon();
    });
    this.el.auto.addEventListener("click", () => {
      this.levels.state.auto = !this.levels.state.auto;
      this.levels.state.levels = this.levels.state.auto ? null : this.levels.levelsNow();
      this.levels.repaint();
      this.levels.saveSoon();
    });
    // Drag the black or white point on the histogram (whichever is nearer).
    const canvas = this.el.hist;
    let dragging = null;
    const valueAt = (event) => {
      const { edges } = this.levels.histogramData.hist;
      const box = canvas.getBoundingClientRect();
      const t = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
      const value = edges[0] + t * (edges[edges.length - 1] - edges[0]);
      return integerData(this.levels.frame && this.levels.frame.dtype) ? Math.round(value) : value;
    };
    canvas.addEventListener("pointerdown", (event) => {
      if (!this.levels.histogramData) return;
      const value = valueAt(event);
      const levels = this.levels.levelsNow();
      dragging = Math.abs(value - levels.black) <= Math.abs(value - levels.white) ? "black" : "white";
      canvas.setPointerCapture(event.pointerId);
      move(event);
    });
    const move = (event) => {
      if (!dragging) return;
      const levels = { ...this.levels.levelsNow() };
      levels[dragging] = valueAt(event);
      if (!(levels.black < levels.white)) return;
      this.levels.state.levels = { black: levels.black, white: levels.white };
      this.levels.state.auto = false;
      this.levels.repaint();
    };
    canvas.addEventListener("pointermove", move);
    canvas.addEventListener("pointerup", () => {
      if (dragging) this.levels.save();
      dragging = null;
    });
  }
}

/** Whether `dtype` (a NumPy dtype name) holds integers. */
function integerData(dtype) {
  return typeof dtype === "string" && /^u?int\d+$|^bool$/.test(dtype);
}
