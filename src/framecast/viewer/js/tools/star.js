// The star tool and the focus aid (docs/science.md, "Stars and focus"), from /api/star.
//
// Star: a click on the image measures the star nearest to it — refined centroid, peak,
// background, FWHM along x and y and their mean, HFD and SNR — and plots its radial
// profile; the star is measured again on every frame shown, from where it was last found.
// Focus: the brightest star of a region (the Region tool's rectangle, else the first of the
// regions) is measured on every live frame; FWHM and HFD are charted per frame (the V-curve
// of a focus run) and the frame with the smallest HFD so far is marked as the best.

import { fetchAnswer } from "../transport.js";
import { LineChart, prepareCanvas } from "./chart.js";
import { parts } from "../elements.js";

const FIGURES = [
  ["x", "x", 2], ["y", "y", 2], ["peak", "peak", null], ["background", "background", 1],
  ["FWHM x", "fwhm_x", 2], ["FWHM y", "fwhm_y", 2], ["FWHM", "fwhm", 2], ["HFD", "hfd", 2], ["SNR", "snr", 1],
];
const MAX_POINTS = 500;

export const STAR_BUTTONS = `<button type="button" data-tool="star" aria-pressed="false" title="Click a star: centroid, FWHM, HFD, profile (j)">Star</button>
      <button type="button" data-tool="focus" aria-pressed="false" title="Focus aid: FWHM and HFD of the region's brightest star per frame (z)">Focus</button>`;

export const STAR_PANEL = `<section class="tools-figures tools-star" id="tools-star" aria-label="Star" hidden>
      <h3>Star</h3>
      <dl id="tools-star-figures"></dl>
      <canvas class="tools-chart" id="tools-star-profile" aria-label="The star's radial profile: mean value against distance from its centre"></canvas>
      <p class="tools-last" id="tools-star-note"></p>
    </section>
    <section class="tools-figures tools-focus" id="tools-focus" aria-label="Focus" hidden>
      <h3>Focus</h3>
      <canvas class="tools-chart" id="tools-focus-chart" aria-label="FWHM and HFD of the region's brightest star per frame; the best frame marked"></canvas>
      <p class="tools-last"><span id="tools-focus-note"></span> <button type="button" id="tools-focus-clear">Clear</button></p>
    </section>`;

/** A figure as text: `digits` decimals (the server's exact text on hover), or as written. */
function figureText(value, digits) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "string") return value;  // "inf"
  if (Array.isArray(value)) return value.join(", ");
  return digits === null ? String(value) : value.toFixed(digits);
}

/** What the focus aid asks about `region` (regionfile.js) on a `frame` ({width, height}):
 *  the centre of its bounding box inside the frame and a radius holding it, at most 50 px
 *  (the server's default max_star_radius), as {x, y, r}; null without a region. */
export function focusTarget(region, frame) {
  if (!region || !frame) return null;
  let box;
  if (region.kind === "box") box = [region.x, region.y, region.x + region.w - 1, region.y + region.h - 1];
  else if (region.kind === "circle") box = [region.cx - region.r, region.cy - region.r, region.cx + region.r, region.cy + region.r];
  else {
    const xs = region.points.map((p) => p[0]);
    const ys = region.points.map((p) => p[1]);
    box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  }
  const clamp = (v, size) => Math.round(Math.min(size - 1, Math.max(0, v)) * 10) / 10;
  return {
    x: clamp((box[0] + box[2]) / 2, frame.width),
    y: clamp((box[1] + box[3]) / 2, frame.height),
    r: Math.min(50, Math.max(3, Math.ceil(Math.max(box[2] - box[0], box[3] - box[1]) / 2))),
  };
}

export class StarTools {
  /** `box`: the element holding STAR_PANEL; `view`, `overlay`: the ImageView and the tools'
   *  ToolOverlay (a click on the image while `picking()` measures a star there);
   *  `frame()`: the frame on screen; `region()`: the region the focus aid follows
   *  (regionfile.js) or null; `mark(star)`: show a star ({x, y, hfd}) on the image, or null. */
  constructor(box, { view, overlay, picking, frame, region, mark }) {
    this.el = parts(box, {
      star: "tools-star", figures: "tools-star-figures", profile: "tools-star-profile", note: "tools-star-note",
      focus: "tools-focus", chart: "tools-focus-chart", focusNote: "tools-focus-note", clear: "tools-focus-clear",
    });
    this.frame = frame;
    this.region = region;
    this.mark = mark;
    this.profile = new LineChart(this.el.profile);
    this.at = null;           // where the star was last found: {x, y}
    this.last = null;         // its figures
    this.focusing = false;
    this.series = [];         // [{seq, fwhm, hfd}] per live frame since the focus aid started
    this.el.clear.addEventListener("click", () => this.clearFocus());
    view.osd.addHandler("canvas-click", (event) => {
      if (!picking() || !event.quick || !event.position) return;
      event.preventDefaultAction = true;
      const pixel = overlay.pixelAt(event.position.x, event.position.y);
      if (pixel) this.pick(pixel);
    });
    new ResizeObserver(() => this._chart()).observe(this.el.chart);
  }

  // ---- star -----------------------------------------------------------------------------

  /** Measure the star nearest to image pixel `pixel` ({x, y}) on the frame on screen. */
  async pick(pixel) {
    this.at = { x: pixel.x, y: pixel.y };
    this.el.star.hidden = false;
    this.el.note.textContent = `looking for a star near x ${pixel.x}, y ${pixel.y} …`;
    await this.follow(this.frame());
  }

  /** Forget the star. */
  drop() {
    this.at = null;
    this.last = null;
    this.el.star.hidden = true;
    this.mark(null);
  }

  /** Measure the star again on `frame`, from where it was last found. */
  async follow(frame) {
    const at = this.at;
    if (!at || !frame || !frame.raw || frame.seq === null) return;
    const answer = await fetchAnswer(`api/star?seq=${frame.seq}&x=${at.x}&y=${at.y}`);
    if (this.at !== at || this.frame() !== frame) return;  // moved on meanwhile
    if (!answer.text) {
      const why = answer.status === 404 ? "no star there" : `the server answered ${answer.status || "nothing"}`;
      this.el.note.textContent = `#${frame.seq}: ${why} (near x ${at.x}, y ${at.y}); click nearer a star`;
      this.el.figures.replaceChildren();
      this.profile.set([]);
      this.mark(null);
      return;
    }
    const star = JSON.parse(answer.text);
    this.last = star;
    this.at = { x: Math.round(star.x), y: Math.round(star.y) };  // follow it on the next frame
    const rows = [];
    for (const [label, key, digits] of FIGURES) {
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.textContent = figureText(star[key], digits);
      dd.title = JSON.stringify(star[key]);
      dd.dataset.figure = key;
      rows.push(dt, dd);
    }
    this.el.figures.replaceChildren(...rows);
    const profile = star.profile || { r: [], value: [] };
    this.profile.set(profile.r.map((r, i) => [r, Number(profile.value[i])]).filter(([, v]) => Number.isFinite(v)));
    this.el.note.textContent = `#${frame.seq}: radial profile, ${profile.r.length} rings of 1 px`;
    this.mark({ x: star.x, y: star.y, hfd: Number(star.hfd) || 0 });
  }

  // ---- focus ----------------------------------------------------------------------------

  setFocus(on) {
    this.focusing = on;
    this.el.focus.hidden = !on;
    if (on) this.focusOn(this.frame());
  }

  clearFocus() {
    this.series = [];
    this._chart();
  }

  /** The best frame so far: the smallest HFD. */
  get best() {
    return this.series.reduce((best, p) => (best === null || p.hfd < best.hfd ? p : best), null);
  }

  /** Measure the region's brightest star on `frame` (a live frame) for the V-curve. */
  async focusOn(frame) {
    const region = focusTarget(this.region(), frame);
    if (!this.focusing || !frame || !frame.raw || frame.seq === null) return;
    if (!region) {
      this.el.focusNote.textContent = "draw a region (or a box, circle or polygon) around the stars to follow";
      return;
    }
    if (this.series.some((p) => p.seq === frame.seq)) return;
    const answer = await fetchAnswer(`api/star?seq=${frame.seq}&x=${region.x}&y=${region.y}&r=${region.r}&brightest=1`);
    if (!this.focusing) return;
    if (!answer.text) {
      this.el.focusNote.textContent = `#${frame.seq}: ${answer.status === 404 ? "no star in the region" : `the server answered ${answer.status || "nothing"}`}`;
      return;
    }
    const star = JSON.parse(answer.text);
    const fwhm = Number(star.fwhm);
    const hfd = Number(star.hfd);
    if (!Number.isFinite(fwhm) || !Number.isFinite(hfd) || this.series.some((p) => p.seq === frame.seq)) return;
    this.series.push({ seq: frame.seq, fwhm, hfd });
    this.series.sort((a, b) => a.seq - b.seq);
    if (this.series.length > MAX_POINTS) this.series.shift();
    this._chart();
  }

  _chart() {
    const best = this.best;
    const count = this.series.length;
    this.el.focusNote.textContent = best
      ? `best #${best.seq}: HFD ${best.hfd.toFixed(2)}, FWHM ${best.fwhm.toFixed(2)} px · ${count} frame${count === 1 ? "" : "s"}`
      : this.focusing ? "waiting for a live frame …" : "";
    const prepared = prepareCanvas(this.el.chart);
    if (!prepared || !count) return;
    const { g, width, height } = prepared;
    const style = getComputedStyle(this.el.chart);
    const colours = {
      fwhm: style.getPropertyValue("--plot").trim() || "#8ab4f8",
      hfd: "#ffb74d",
      text: style.getPropertyValue("--fg-dim").trim() || "#aab4bf",
      best: style.getPropertyValue("--stopped").trim() || "#ff6e6e",
    };
    const seqs = this.series.map((p) => p.seq);
    const values = this.series.flatMap((p) => [p.fwhm, p.hfd]);
    let [x0, x1] = [Math.min(...seqs), Math.max(...seqs)];
    let [y0, y1] = [Math.min(...values), Math.max(...values)];
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
    const pad = { left: 34, right: 6, top: 14, bottom: 16 };
    const sx = (x) => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
    const sy = (y) => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
    g.font = "11px system-ui, sans-serif";
    g.fillStyle = colours.text;
    g.textBaseline = "top";
    g.fillText(y1.toFixed(2), 0, pad.top - 6);
    g.textBaseline = "bottom";
    g.fillText(y0.toFixed(2), 0, height - pad.bottom + 6);
    g.fillText(`#${x0}`, pad.left, height);
    g.textAlign = "right";
    g.fillText(`#${x1}`, width - pad.right, height);
    g.fillText("FWHM", width - pad.right - 40, 12);
    g.fillStyle = colours.hfd;
    g.fillText("HFD", width - pad.right, 12);
    g.textAlign = "left";
    for (const key of ["fwhm", "hfd"]) {
      g.strokeStyle = colours[key];
      g.fillStyle = colours[key];
      g.lineWidth = 1.5;
      g.beginPath();
      this.series.forEach((p, i) => (i ? g.lineTo(sx(p.seq), sy(p[key])) : g.moveTo(sx(p.seq), sy(p[key]))));
      g.stroke();
      for (const p of this.series) {
        g.beginPath();
        g.arc(sx(p.seq), sy(p[key]), 2, 0, 2 * Math.PI);
        g.fill();
      }
    }
    if (best) {  // the best frame: a ring on its HFD and a dashed line down to its number
      g.strokeStyle = colours.best;
      g.lineWidth = 2;
      g.beginPath();
      g.arc(sx(best.seq), sy(best.hfd), 5, 0, 2 * Math.PI);
      g.stroke();
      g.setLineDash([3, 3]);
      g.beginPath();
      g.moveTo(sx(best.seq), sy(best.hfd) + 5);
      g.lineTo(sx(best.seq), height - pad.bottom);
      g.stroke();
      g.setLineDash([]);
    }
  }
}
