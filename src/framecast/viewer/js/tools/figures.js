// A region's figures and a line's profile (docs/viewer.md, from the /api/stats and
// /api/profile): the figures shown with at most 7 significant digits (integers whole), each
// with all the digits the server wrote on hover (its title) and when copied, a strip chart
// of one chosen figure over the frames since the region was drawn (not the frame it was
// drawn on: its value is from before; docs/viewer.md, "Charts"), with a Clear button, the
// reticle on the centroid if asked, and the line's raw values as a plot; asked again for
// every frame.

import { LineChart } from "./chart.js";
import { fetchAnswer } from "../transport.js";
import { memberText, toNumber, valueText } from "./analysis.js";
import { parts } from "../elements.js";
import { significant } from "./rawtext.js";

/** The figures, in the order shown, and those a strip chart can follow: [label, member,
 *  index within a list member]. */
const FIGURES = ["count", "min", "max", "mean", "std", "sum", "centroid", "saturated", "nonfinite"];
const STRIP_FIGURES = [
  ["mean", "mean"], ["max", "max"], ["min", "min"], ["std", "std"], ["sum", "sum"],
  ["centroid x", "centroid", 0], ["centroid y", "centroid", 1], ["saturated", "saturated"],
];

export const REGION_FIGURES = `<div class="tools-figures" id="tools-region-figures" hidden>
      <dl id="tools-stats"></dl>
      <div class="tools-plot">
        <label>Chart <select id="tools-strip-figure">${STRIP_FIGURES.map(([name]) => `<option>${name}</option>`).join("")}</select></label>
        <button type="button" id="tools-strip-clear" title="Start the chart again from the next frame">Clear</button>
        <label class="tools-check"><input type="checkbox" id="tools-follow"> reticle on the centroid</label>
      </div>
      <canvas class="tools-chart" id="tools-strip" aria-label="The chosen figure of the region over the frames since it was drawn"></canvas>
      <p class="tools-last" id="tools-strip-note"></p>
    </div>`;

export const LINE_FIGURES = `<div class="tools-figures" id="tools-line-figures" hidden>
      <canvas class="tools-chart" id="tools-profile" aria-label="The raw values along the line"></canvas>
      <p class="tools-last" id="tools-profile-note"></p>
    </div>`;

export class Figures {
  /** `box`: the element holding REGION_FIGURES and LINE_FIGURES; `onCentroid({x, y})`: the
   *  reticle should move to the region's centroid (when "reticle on the centroid" is ticked). */
  constructor(box, { onCentroid }) {
    this.el = parts(box, {
      region: "tools-region-figures", stats: "tools-stats", stripFigure: "tools-strip-figure",
      follow: "tools-follow", stripNote: "tools-strip-note", line: "tools-line-figures",
      profileNote: "tools-profile-note", strip: "tools-strip", profile: "tools-profile",
      clear: "tools-strip-clear",
    });
    this.onCentroid = onCentroid;
    this.strip = new LineChart(this.el.strip, { xText: (seq) => `#${seq}` });
    this.profile = new LineChart(this.el.profile);
    this.points = [];           // [[seq, {member: text}]] since the region was drawn, by seq
    this.since = null;          // the frame on screen when it was drawn (or cleared): no point
    this.onScreen = null;       // the frame last measured
    this.missing = false;       // the server has no analysis routes
    this.el.stripFigure.addEventListener("change", () => this._strip());
    // A figure copied is copied exactly, with all the digits the server wrote.
    this.el.stats.addEventListener("copy", (event) => {
      const selection = document.getSelection();
      const dd = selection && selection.anchorNode && selection.anchorNode.parentElement;
      const within = dd && dd.closest("dd");
      if (!within || !within.dataset.exact || !event.clipboardData) return;
      event.clipboardData.setData("text/plain", within.dataset.exact);
      event.preventDefault();
    });
    this.el.clear.addEventListener("click", () => this.clear());
  }

  /** A new region (drawn on frame `seq`, on screen): its strip chart starts again with the
   *  next frame. */
  restart(seq = this.onScreen) {
    this.clear(seq);
    this.el.stats.replaceChildren();
  }

  /** Empty the strip chart; it starts again with the frame after `seq` (the one on screen). */
  clear(seq = this.onScreen) {
    this.points = [];
    this.since = seq;
    this._strip();
  }

  /** Show or hide the figures for the marks drawn (`raw`: the frame has raw data). */
  show({ region, line, raw }) {
    this.el.region.hidden = !region || !raw || this.missing;
    if (!region) this.restart();
    this.el.line.hidden = !line || !raw || this.missing;
  }

  /** Ask the figures of `marks` ({region, line}) for `frame`; `current()` says what is on
   *  screen when the answers come ({frame, region, line}): an answer for what is no longer
   *  there is dropped. */
  async measure(frame, { region, line }, current) {
    if (this.missing) return;
    this.onScreen = frame.seq;
    const asks = [];
    if (region) {
      const { x, y, w, h } = region;
      asks.push(fetchAnswer(`api/stats?seq=${frame.seq}&x=${x}&y=${y}&w=${w}&h=${h}`).then((answer) => {
        const now = current();
        if (now.frame !== frame || now.region !== region) return;
        if (answer.status === 404 && answer.text === null && frame.latest) this.missing = true;
        if (answer.text) this._stats(frame.seq, answer.text);
      }));
    }
    if (line) {
      const { x0, y0, x1, y1 } = line;
      asks.push(fetchAnswer(`api/profile?seq=${frame.seq}&x0=${x0}&y0=${y0}&x1=${x1}&y1=${y1}`).then((answer) => {
        const now = current();
        if (now.frame !== frame || now.line !== line || !answer.text) return;
        const values = JSON.parse(answer.text).values.map(toNumber);
        this.profile.set(values.map((v, i) => [i, v]).filter(([, v]) => Number.isFinite(v)));
        const finite = values.filter(Number.isFinite);
        this.el.profileNote.textContent = `#${frame.seq}: ${values.length} points, `
          + (finite.length ? `${Math.min(...finite)} … ${Math.max(...finite)}` : "no finite value");
      }));
    }
    await Promise.all(asks);
  }

  /** Show the region's figures exactly as the server wrote them; feed the strip chart. */
  _stats(seq, text) {
    const rows = [];
    const figures = {};
    for (const name of FIGURES) {
      const value = memberText(text, name);
      if (value === null) continue;
      figures[name] = value;
      const dt = document.createElement("dt");
      dt.textContent = name;
      const dd = document.createElement("dd");
      const exact = valueText(value);
      dd.textContent = significant(exact);
      dd.dataset.exact = exact;
      if (dd.textContent !== exact) dd.title = exact;
      rows.push(dt, dd);
    }
    this.el.stats.replaceChildren(...rows);
    if (seq !== this.since) {
      // in frame order, once each (looking back may show an earlier frame after a later one)
      const at = this.points.findIndex(([s]) => s >= seq);
      if (at < 0) this.points.push([seq, figures]);
      else if (this.points[at][0] === seq) this.points[at] = [seq, figures];
      else this.points.splice(at, 0, [seq, figures]);
      if (this.points.length > 2000) this.points.shift();
    }
    this._strip();
    if (this.el.follow.checked && figures.centroid) {
      const [cx, cy] = JSON.parse(figures.centroid);
      if (Number.isFinite(cx) && Number.isFinite(cy)) this.onCentroid({ x: Math.floor(cx), y: Math.floor(cy) });
    }
  }

  _strip() {
    const [label, member, index] = STRIP_FIGURES.find(([name]) => name === this.el.stripFigure.value) || STRIP_FIGURES[0];
    const points = [];
    for (const [seq, figures] of this.points) {
      if (!(member in figures)) continue;
      let value = JSON.parse(figures[member]);
      if (index !== undefined) value = value && value[index];
      const number = toNumber(value);
      if (Number.isFinite(number)) points.push([seq, number]);
    }
    this.strip.set(points);
    const end = points[points.length - 1];
    this.el.stripNote.textContent = end
      ? `${label} = ${end[1]} at #${end[0]} · ${points.length} frame${points.length === 1 ? "" : "s"}`
      : `${label}: the chart starts with the next frame`;
  }
}
