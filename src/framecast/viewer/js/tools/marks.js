// The stream's shared marks in the viewer (docs/together.md): drawn for everyone (the shape
// layer's "shared" group; the layer, shapes.js, also draws the producer's overlays of the
// frame on screen), the Mark tool that makes one — a click places a point, a drag a
// circle, rectangle or line (as chosen), then a short text — and the list that deletes
// them. A mark made while looking back at a history frame belongs to that frame and is drawn
// with it only. The network is the caller's: it hands `api` ({list, add, remove}), built on
// the transport; the marks themselves arrive from the live channel (received()).

import { ShapeLayer } from "./shapes.js";

const DRAG_SHAPES = ["circle", "rectangle", "line"];
const MAX_TEXT = 200;

const SECTION = `
  <h3>Marks <span class="tools-count" id="tools-marks-count"></span></h3>
  <p class="tools-plot"><label>A drag draws a <select id="tools-mark-shape" aria-label="Shape a drag draws">${DRAG_SHAPES.map((n) => `<option>${n}</option>`).join("")}</select></label></p>
  <ul class="tools-marks" id="tools-marks-list" aria-label="The stream's marks"></ul>`;

const round = (v) => Math.round(v * 10) / 10;

export class MarkTool {
  /** `root`: the element the marks' section is laid in (the tools panel); `view`: the
   *  ImageView (the shape layer is laid over it); `overlay`: the ToolOverlay (screen to image
   *  pixels); `api`: {list(), add(mark), remove(id)} → {status, data}; `say(text, bad)`: a line for
   *  the user. */
  constructor(root, { view, overlay, api, say }) {
    this.layer = new ShapeLayer(view);
    this.overlay = overlay;
    this.api = api;
    this.say = say;
    this.marks = [];
    this.frame = null;        // {seq, latest} of the frame on screen
    this.active = false;
    this.gesture = null;
    const section = document.createElement("div");
    section.className = "tools-marks-section";
    section.innerHTML = SECTION;
    root.append(section);
    this.list = section.querySelector("#tools-marks-list");
    this.count = section.querySelector("#tools-marks-count");
    this.kind = section.querySelector("#tools-mark-shape");
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("[data-mark-id]");
      if (button) this.remove(button.dataset.markId);
    });
    const osd = view.osd;
    osd.addHandler("canvas-press", (event) => this._press(event));
    osd.addHandler("canvas-drag", (event) => this._drag(event));
    osd.addHandler("canvas-drag-end", (event) => { if (this.gesture) event.preventDefaultAction = true; });
    osd.addHandler("canvas-release", () => this._release());
    osd.addHandler("canvas-click", (event) => this._click(event));
  }

  /** The Mark tool is on (a click or a drag on the image makes a mark) or off. */
  setActive(on) {
    this.active = Boolean(on);
    this.gesture = null;
    this.layer.set("draft", []);
  }

  /** The frame on screen: {seq, latest, width, height}, and its `overlays` (drawn with it
   *  only); the marks of another history frame are not drawn. */
  shown(frame, overlays) {
    this.frame = frame;
    this.layer.setSize(frame.width, frame.height);
    this.layer.set("overlays", Array.isArray(overlays) ? overlays : []);
    this._render();
  }

  /** Ask the server for the stream's marks (on each (re)connection). */
  async load() {
    try {
      const { status, data } = await this.api.list();
      if (status === 200) this.set(data);
    } catch {
      /* the next marks message brings them */
    }
  }

  /** A marks message of the live channel. */
  received(message) {
    this.set(message.marks);
  }

  set(marks) {
    this.marks = Array.isArray(marks) ? marks.filter((m) => m && typeof m === "object" && typeof m.shape === "string") : [];
    this._render();
  }

  /** The marks drawn with the frame on screen: the stream's, and that frame's own. */
  visible() {
    const seq = this.frame ? this.frame.seq : null;
    return this.marks.filter((m) => m.seq === null || m.seq === undefined || m.seq === seq);
  }

  _render() {
    const visible = this.visible();
    this.layer.set("shared", visible);
    this.count.textContent = this.marks.length ? `(${this.marks.length})` : "";
    this.list.replaceChildren(...visible.map((mark) => {
      const item = document.createElement("li");
      const what = document.createElement("span");
      const where = mark.points ? `${mark.points[0][0]}, ${mark.points[0][1]}` : `${mark.x}, ${mark.y}`;
      what.textContent = `${mark.text ? `${mark.text} — ` : ""}${mark.shape} at ${where}${mark.seq !== null && mark.seq !== undefined ? ` (frame #${mark.seq})` : ""}`;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "remove";
      button.dataset.markId = mark.id;
      button.setAttribute("aria-label", `Delete the mark ${mark.text || mark.shape}`);
      button.textContent = "×";
      item.append(what, " ", button);
      return item;
    }));
  }

  async remove(id) {
    const { status, data } = await this.api.remove(id).catch(() => ({ status: 0, data: null }));
    if (status !== 200 && status !== 404) this.say(`mark not deleted: ${(data && data.error) || `HTTP ${status}`}`, true);
  }

  // ---- making a mark --------------------------------------------------------------------

  _at(position) {
    const p = this.overlay.toImage(position.x, position.y);
    return p ? { x: round(p.x), y: round(p.y) } : null;
  }

  _press(event) {
    this.gesture = null;
    if (!this.active || !event.position) return;
    const start = this._at(event.position);
    if (start) this.gesture = { start, shape: null };
  }

  _drag(event) {
    const gesture = this.gesture;
    if (!gesture) return;
    event.preventDefaultAction = true;  // the image does not pan under a mark being drawn
    const now = this._at(event.position);
    if (!now) return;
    gesture.shape = dragged(this.kind.value, gesture.start, now);
    this.layer.set("draft", [gesture.shape]);
  }

  _release() {
    const gesture = this.gesture;
    this.gesture = null;
    if (gesture && gesture.shape) this._make(gesture.shape);
  }

  _click(event) {
    if (!this.active || !event.quick || !event.position) return;
    event.preventDefaultAction = true;  // no zoom on a click that places a point
    const at = this._at(event.position);
    if (at) this._make({ shape: "point", ...at });
  }

  async _make(shape) {
    this.layer.set("draft", [shape]);
    const text = globalThis.prompt(`Text for this ${shape.shape} (optional; Cancel drops the mark)`, "");
    this.layer.set("draft", []);
    if (text === null) return;
    const mark = { ...shape };
    if (text.trim()) mark.text = text.trim().slice(0, MAX_TEXT);
    if (this.frame && !this.frame.latest && Number.isInteger(this.frame.seq)) mark.seq = this.frame.seq;
    const { status, data } = await this.api.add(mark).catch((error) => ({ status: 0, data: { error: error.message } }));
    if (status === 201) this.say(`marked ${mark.text || mark.shape} for everyone`, false);
    else this.say(`mark not stored: ${(data && data.error) || `HTTP ${status}`}`, true);
  }
}

/** The shape of `kind` a drag from `start` to `now` draws (image pixels). */
export function dragged(kind, start, now) {
  if (kind === "rectangle") {
    return {
      shape: "rectangle", x: Math.min(start.x, now.x), y: Math.min(start.y, now.y),
      w: round(Math.abs(now.x - start.x)), h: round(Math.abs(now.y - start.y)),
    };
  }
  if (kind === "line") return { shape: "line", points: [[start.x, start.y], [now.x, now.y]] };
  return { shape: "circle", x: start.x, y: start.y, r: round(Math.hypot(now.x - start.x, now.y - start.y)) };
}
