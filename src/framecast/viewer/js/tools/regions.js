// Boxes, circles and polygons, several at once (docs/science.md, "Regions"): drawn on the
// image, each with its figures from /api/stats asked again for every frame on screen, kept
// in the URL fragment (`rg=`), saved to and opened from DS9 region files. Draws on a canvas
// of its own over the image; coordinates come from the tools' overlay (ToolOverlay).
//
// Drawing: Box — drag a rectangle; Circle — press at the centre, drag to the radius;
// Polygon — click each corner, then click the first corner again (or press Enter, or
// double-click) to close it; Esc drops an unfinished polygon. Dragging inside a region
// while drawing moves it.

import { fetchAnswer } from "../transport.js";
import { memberText, valueText } from "./analysis.js";
import { MAX_CORNERS, MAX_REGIONS, describe, formatRegions, fromDs9, parseRegions, statsQuery, toDs9 } from "./regionfile.js";
import { parts } from "../elements.js";

const GRAB_PX = 12;
const SHOWN = ["count", "mean", "std", "min", "max", "sum"];
const COLOURS = { day: "#ff9f43", night: "#ff4d4d", shadow: "rgba(0, 0, 0, 0.85)" };
export const SHAPE_MODES = ["box", "circle", "polygon"];

export const SHAPE_BUTTONS = `<button type="button" data-tool="box" aria-pressed="false" title="Draw boxes, several at once (e)">Box</button>
      <button type="button" data-tool="circle" aria-pressed="false" title="Draw circles, several at once (u)">Circle</button>
      <button type="button" data-tool="polygon" aria-pressed="false" title="Draw polygons: click each corner, then the first again (q)">Polygon</button>`;

export const REGIONS_PANEL = `<section class="tools-regions" id="tools-regions" aria-label="Regions">
      <h3>Regions</h3>
      <ol class="tools-region-list" id="tools-region-list"></ol>
      <div class="tools-plot">
        <button type="button" id="tools-ds9-save" title="Save the regions as a DS9 region file (image coordinates)">Save .reg</button>
        <label class="tools-file">Open .reg <input type="file" id="tools-ds9-open" accept=".reg,.txt,text/plain"></label>
      </div>
      <p class="tools-last" id="tools-regions-note"></p>
    </section>`;

/** Half-pixel steps: where a press lands, in image pixels (pixel centres whole). */
const half = (v) => Math.round(v * 2) / 2;

export class Regions {
  /** `box`: the element holding REGIONS_PANEL; `view`: the ImageView; `overlay`: the
   *  tools' ToolOverlay (coordinates); `frame()`: the frame on screen; `extra()`: the Region
   *  tool's rectangle (saved with the others) or null; `changed()`: the list changed (save
   *  the fragment); `stream`: for file names. */
  constructor(box, { view, overlay, frame, extra = () => null, changed = () => {}, stream = "default" }) {
    this.el = parts(box, { list: "tools-region-list", save: "tools-ds9-save", open: "tools-ds9-open", note: "tools-regions-note" });
    this.view = view;
    this.osd = view.osd;
    this.overlay = overlay;
    this.frame = frame;
    this.extra = extra;
    this.changed = changed;
    this.stream = stream;
    this.regions = parseRegions(new URLSearchParams(location.hash.replace(/^#/, "")).get("rg"));
    this.mode = null;             // "box" | "circle" | "polygon" | null
    this.draft = null;            // the polygon being drawn: [[x, y], …]
    this.maxCorners = MAX_CORNERS;  // the server's max_polygon_corners (`setMaxCorners`)
    this.gesture = null;
    this.star = null;             // the star tool's star: {x, y, hfd}
    this.answers = new Map();     // region → its figures' text, for the frame on screen
    this.canvas = document.createElement("canvas");
    this.canvas.className = "tools-overlay tools-regions-layer";
    this.canvas.setAttribute("aria-hidden", "true");
    overlay.canvas.after(this.canvas);
    this.osd.addHandler("update-viewport", () => this.draw());
    this.osd.addHandler("resize", () => this.draw());
    this.osd.addHandler("canvas-press", (event) => this._press(event));
    this.osd.addHandler("canvas-drag", (event) => this._drag(event));
    this.osd.addHandler("canvas-drag-end", (event) => { if (this.gesture) event.preventDefaultAction = true; });
    this.osd.addHandler("canvas-release", () => this._release());
    this.osd.addHandler("canvas-click", (event) => this._click(event));
    this.osd.addHandler("canvas-double-click", (event) => {
      if (this.mode !== "polygon") return;
      event.preventDefaultAction = true;
      this.close();
    });
    this.el.save.addEventListener("click", () => this.save());
    this.el.open.addEventListener("change", () => this._open());
    this._list();
  }

  /** `rg=` for the URL fragment ("" for none). */
  get fragment() {
    return formatRegions(this.regions);
  }

  setMode(mode) {
    this.mode = SHAPE_MODES.includes(mode) ? mode : null;
    if (this.mode !== "polygon") this.draft = null;
    this.draw();
  }

  /** The server's max_polygon_corners (from api/status): a polygon drawn or opened has at
   *  most that many corners. */
  setMaxCorners(count) {
    if (Number.isInteger(count) && count >= 3) this.maxCorners = count;
  }

  /** Close the polygon being drawn (three corners at least). */
  close() {
    const draft = this.draft;
    this.draft = null;
    if (draft && draft.length >= 3) this._add({ kind: "polygon", points: draft });
    this.draw();
  }

  /** Mark a measured star ({x, y, hfd}: its centroid and half-flux diameter), or null. */
  setStar(star) {
    this.star = star;
    this.draw();
  }

  remove(index) {
    this.regions.splice(index, 1);
    this._changed();
  }

  // ---- figures --------------------------------------------------------------------------

  /** Ask every region's figures for `frame` ({seq, raw, width, height}). */
  async measure(frame) {
    if (!frame || !frame.raw || frame.seq === null) return;
    await Promise.all(this.regions.map(async (region) => {
      const answer = await fetchAnswer(`api/stats?seq=${frame.seq}&${statsQuery(region, frame.width, frame.height)}`);
      if (this.frame() !== frame || !this.regions.includes(region)) return;
      this.answers.set(region, answer.text ?? `${answer.status}`);
      this._list();
    }));
  }

  _list() {
    const rows = this.regions.map((region, index) => {
      const li = document.createElement("li");
      li.dataset.kind = region.kind;
      const head = document.createElement("p");
      head.className = "tools-mark";
      const what = document.createElement("span");
      what.textContent = describe(region);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `Remove region ${index + 1}`);
      remove.addEventListener("click", () => this.remove(index));
      head.append(what, remove);
      const figures = document.createElement("dl");
      const answer = this.answers.get(region);
      if (answer && answer.startsWith("{")) {
        for (const name of SHOWN) {
          const dt = document.createElement("dt");
          dt.textContent = name;
          const dd = document.createElement("dd");
          dd.textContent = valueText(memberText(answer, name));
          figures.append(dt, dd);
        }
      }
      li.append(head, figures);
      return li;
    });
    this.el.list.replaceChildren(...rows);
  }

  // ---- DS9 files ------------------------------------------------------------------------

  /** Download the regions (and the Region tool's rectangle) as a DS9 region file. */
  save() {
    const frame = this.frame();
    if (!frame) return;
    const extra = this.extra();
    const all = extra ? [{ kind: "box", ...extra }, ...this.regions] : this.regions;
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([toDs9(all, frame.height)], { type: "text/plain" }));
    link.download = `${this.stream}-${frame.seq ?? "frame"}.reg`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    this.el.note.textContent = `saved ${all.length} region${all.length === 1 ? "" : "s"} as ${link.download}`;
  }

  /** Read the regions of a DS9 region file (text) on the frame on screen. */
  load(text) {
    const frame = this.frame();
    if (!frame) return;
    const { regions, skipped } = fromDs9(text, frame.height, this.maxCorners);
    const room = MAX_REGIONS - this.regions.length;
    this.regions.push(...regions.slice(0, room));
    const left = skipped.length + Math.max(0, regions.length - room);
    this.el.note.textContent = `opened ${Math.min(regions.length, room)} region${regions.length === 1 ? "" : "s"}`
      + (left ? `; left out ${left}: ${skipped.slice(0, 3).join("; ")}` : "");
    this._changed();
  }

  async _open() {
    const file = this.el.open.files && this.el.open.files[0];
    this.el.open.value = "";
    if (!file) return;
    if (file.size > 1_000_000) {
      this.el.note.textContent = `${file.name} is larger than 1 MB: not a region file`;
      return;
    }
    this.load(await file.text());
  }

  _add(region) {
    if (this.regions.length >= MAX_REGIONS) {
      this.el.note.textContent = `at most ${MAX_REGIONS} regions: remove one first`;
      return;
    }
    this.regions.push(region);
    this._changed();
  }

  _changed() {
    this.changed();
    this._list();
    this.draw();
    this.measure(this.frame());
  }

  // ---- drawing ---------------------------------------------------------------------------

  /** Screen point of image point (x, y) (pixel centres whole). */
  _screen(x, y) {
    return this.overlay.toScreen(x + 0.5, y + 0.5);
  }

  draw() {
    const canvas = this.canvas;
    const ratio = globalThis.devicePixelRatio || 1;
    const width = this.osd.element.clientWidth;
    const height = this.osd.element.clientHeight;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    if (!this.overlay.size) return;
    const colour = document.documentElement.classList.contains("night") ? COLOURS.night : COLOURS.day;
    if (this.star) this._starMark(g, colour);
    const shapes = [...this.regions];
    if (this.draft) shapes.push({ kind: "polygon", points: this.draft, open: true });
    shapes.forEach((region, index) => {
      for (const [stroke, lineWidth] of [[COLOURS.shadow, 4], [colour, 2]]) {
        g.strokeStyle = stroke;
        g.lineWidth = lineWidth;
        g.beginPath();
        this._path(g, region);
        g.stroke();
      }
      if (region.open) return;
      const label = this._labelAt(region);
      g.font = "600 12px system-ui, sans-serif";
      g.lineWidth = 3;
      g.strokeStyle = COLOURS.shadow;
      g.strokeText(String(index + 1), label.x + 3, label.y - 3);
      g.fillStyle = colour;
      g.fillText(String(index + 1), label.x + 3, label.y - 3);
    });
  }

  /** The star: a ring of its half-flux diameter and a cross on its centroid. */
  _starMark(g, colour) {
    const c = this._screen(this.star.x, this.star.y);
    const r = Math.max((this.star.hfd / 2) * this.overlay.scale(), 6);
    for (const [stroke, lineWidth] of [["rgba(0, 0, 0, 0.85)", 4], [colour, 2]]) {
      g.strokeStyle = stroke;
      g.lineWidth = lineWidth;
      g.beginPath();
      g.arc(c.x, c.y, r, 0, 2 * Math.PI);
      g.moveTo(c.x - r - 6, c.y); g.lineTo(c.x - r + 3, c.y);
      g.moveTo(c.x + r - 3, c.y); g.lineTo(c.x + r + 6, c.y);
      g.moveTo(c.x, c.y - r - 6); g.lineTo(c.x, c.y - r + 3);
      g.moveTo(c.x, c.y + r - 3); g.lineTo(c.x, c.y + r + 6);
      g.stroke();
    }
  }

  _path(g, region) {
    if (region.kind === "box") {
      const a = this.overlay.toScreen(region.x, region.y);
      const b = this.overlay.toScreen(region.x + region.w, region.y + region.h);
      g.rect(a.x, a.y, b.x - a.x, b.y - a.y);
    } else if (region.kind === "circle") {
      const c = this._screen(region.cx, region.cy);
      g.arc(c.x, c.y, Math.max(region.r * this.overlay.scale(), 1), 0, 2 * Math.PI);
    } else {
      region.points.forEach(([x, y], i) => {
        const p = this._screen(x, y);
        if (i) g.lineTo(p.x, p.y);
        else g.moveTo(p.x, p.y);
      });
      if (!region.open) g.closePath();
    }
  }

  _labelAt(region) {
    if (region.kind === "box") return this.overlay.toScreen(region.x, region.y);
    if (region.kind === "circle") return this._screen(region.cx + region.r * Math.SQRT1_2, region.cy - region.r * Math.SQRT1_2);
    return this._screen(...region.points[0]);
  }

  // ---- pointer ---------------------------------------------------------------------------

  /** The image point (pixel centres whole) of an OpenSeadragon event, or null. */
  _at(event) {
    if (!event.position || !this.overlay.size) return null;
    const p = this.overlay.toImage(event.position.x, event.position.y);
    return p && { x: p.x - 0.5, y: p.y - 0.5 };
  }

  _inside(point, region) {
    if (region.kind === "box") {
      return point.x >= region.x - 0.5 && point.x < region.x + region.w - 0.5 && point.y >= region.y - 0.5 && point.y < region.y + region.h - 0.5;
    }
    if (region.kind === "circle") return Math.hypot(point.x - region.cx, point.y - region.cy) <= region.r;
    let inside = false;
    const corners = region.points;
    corners.forEach(([ax, ay], i) => {
      const [bx, by] = corners[(i + 1) % corners.length];
      if ((ay <= point.y) !== (by <= point.y) && point.x < ax + ((point.y - ay) * (bx - ax)) / (by - ay)) inside = !inside;
    });
    return inside;
  }

  _press(event) {
    this.gesture = null;
    const start = this.mode && this._at(event);
    if (!start) return;
    const hit = this.regions.findIndex((region) => this._inside(start, region));
    if (hit >= 0 && !this.draft) this.gesture = { kind: "move", start, index: hit, from: structuredClone(this.regions[hit]) };
    else if (this.mode === "box" || this.mode === "circle") this.gesture = { kind: this.mode, start };
  }

  _drag(event) {
    const gesture = this.gesture;
    const now = gesture && this._at(event);
    if (!now) return;
    event.preventDefaultAction = true;
    const { start } = gesture;
    let region;
    if (gesture.kind === "move") {
      const dx = Math.round(now.x - start.x);
      const dy = Math.round(now.y - start.y);
      const from = gesture.from;
      if (from.kind === "box") region = { ...from, x: from.x + dx, y: from.y + dy };
      else if (from.kind === "circle") region = { ...from, cx: from.cx + dx, cy: from.cy + dy };
      else region = { ...from, points: from.points.map(([x, y]) => [x + dx, y + dy]) };
      this.regions[gesture.index] = region;
    } else if (gesture.kind === "box") {
      const x0 = Math.round(Math.min(start.x, now.x));
      const y0 = Math.round(Math.min(start.y, now.y));
      const x1 = Math.max(x0 + 1, Math.round(Math.max(start.x, now.x)) + 1);
      const y1 = Math.max(y0 + 1, Math.round(Math.max(start.y, now.y)) + 1);
      region = { kind: "box", x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    } else {
      const cx = half(start.x);
      const cy = half(start.y);
      region = { kind: "circle", cx, cy, r: Math.max(0.5, half(Math.hypot(now.x - cx, now.y - cy))) };
    }
    gesture.region = region;
    gesture.moved = true;
    this._drawWith(gesture.kind === "move" ? null : region);
  }

  _drawWith(pending) {
    if (pending) this.regions.push(pending);
    this.draw();
    if (pending) this.regions.pop();
  }

  _release() {
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture || !gesture.moved) return;
    if (gesture.kind === "move") this._changed();
    else this._add(gesture.region);
  }

  _click(event) {
    if (this.mode !== "polygon" || !event.quick) return;
    const at = this._at(event);
    if (!at) return;
    event.preventDefaultAction = true;
    const point = [half(at.x), half(at.y)];
    if (this.draft && this.draft.length >= 3) {
      const first = this._screen(...this.draft[0]);
      if (Math.hypot(first.x - event.position.x, first.y - event.position.y) <= GRAB_PX) {
        this.close();
        return;
      }
    }
    if (this.draft && this.draft.length >= this.maxCorners) {
      this.el.note.textContent = `a polygon has at most ${this.maxCorners} corners (the server's max_polygon_corners): close it with Enter or on its first corner`;
      return;
    }
    this.draft = [...(this.draft || []), point];
    this.draw();
  }
}
