// What the tools draw over the image, fixed to image pixels (docs/viewer.md, "Scientific tools"): the reticle, the
// scale bar, the region and the line. A canvas laid over OpenSeadragon's, redrawn whenever
// the viewport moves, so the marks zoom and pan with the image. It also turns the pointer
// into image pixels: hovering, touch-and-hold, drawing and dragging the marks, and a click
// for the point tool. No network here: it says what happened in events.
//
// Image pixels are those of the full-resolution frame: pixel (x, y) covers [x, x+1) ×
// [y, y+1) and its centre is (x + 0.5, y + 0.5) in OpenSeadragon's world, where the image
// spans 0..1 across (so 0..height/width down), whatever the resolution of what is drawn.
//
// Events (CustomEvent, payload in `detail`):
//   "change"  {reticle|region|line}  — a mark was moved, drawn or removed by the user
//   "hover"   {x, y} | null          — the pixel under the pointer (null: off the image)
//   "hold"    {x, y}                 — a touch held still on a pixel (a phone's hover)
//   "point"   {x, y}                 — a click with the point tool

const OSD = globalThis.OpenSeadragon;
const GRAB_PX = 14;        // how close to a mark (screen pixels) a press takes hold of it
const HOLD_MS = 450;       // touch-and-hold
const HOLD_SLOP_PX = 10;

const PALETTES = {
  day: { reticle: "#00e5ff", region: "#ffd54f", line: "#69f0ae", bar: "#ffffff", shadow: "rgba(0, 0, 0, 0.85)" },
  night: { reticle: "#ff4d4d", region: "#ff4d4d", line: "#e04040", bar: "#ff4d4d", shadow: "rgba(0, 0, 0, 0.9)" },
};

export class ToolOverlay extends EventTarget {
  /** `view`: the ImageView (its OpenSeadragon viewer): the canvas is laid over
   *  OpenSeadragon's element, next to it. */
  constructor(view, { scaleBarFor = () => null } = {}) {
    super();
    this.view = view;
    this.osd = view.osd;
    this.scaleBarFor = scaleBarFor;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "tools-overlay";
    this.canvas.setAttribute("aria-hidden", "true");
    this.osd.element.after(this.canvas);
    this.size = null;               // full-resolution {width, height}
    this.marks = { reticle: null, region: null, line: null, scaleBar: false };
    this.mode = null;               // null | "region" | "line" | "point"
    this.gesture = null;            // what a press is dragging
    this.queued = false;
    this.osd.addHandler("update-viewport", () => this.draw());
    this.osd.addHandler("resize", () => this.redraw());
    this.osd.addHandler("canvas-press", (event) => this._press(event));
    this.osd.addHandler("canvas-drag", (event) => this._drag(event));
    this.osd.addHandler("canvas-drag-end", (event) => { if (this.gesture) event.preventDefaultAction = true; });
    this.osd.addHandler("canvas-release", () => this._release());
    this.osd.addHandler("canvas-click", (event) => this._click(event));
    this._pointer(this.osd.element);
    new MutationObserver(() => this.redraw()).observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
  }

  /** The full-resolution size of the frame on screen. */
  setSize(width, height) {
    if (!(width > 0 && height > 0)) return;
    if (this.size && this.size.width === width && this.size.height === height) return;
    this.size = { width, height };
    this.redraw();
  }

  /** The marks to draw: {reticle, region, line, scaleBar, pending} (`pending`: the pixel
   *  the point tool asks about). */
  setMarks(marks) {
    this.marks = { ...this.marks, ...marks };
    this.redraw();
  }

  setMode(mode) {
    this.mode = mode;
    this.osd.element.classList.toggle("tools-drawing", mode === "region" || mode === "line");
    this.osd.element.classList.toggle("tools-pointing", mode === "point");
  }

  /** Draw at the next animation frame (several changes, one drawing). */
  redraw() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      this.draw();
    });
  }

  // ---- coordinates --------------------------------------------------------------------

  /** Screen position (relative to OpenSeadragon's element) of image position (x, y). */
  toScreen(x, y) {
    const width = this.size.width;
    const p = this.osd.viewport.pixelFromPoint(new OSD.Point(x / width, y / width), true);
    return { x: p.x, y: p.y };
  }

  /** Image position (fractional pixels) of a screen position, or null without an image. */
  toImage(sx, sy) {
    if (!this.size) return null;
    const p = this.osd.viewport.pointFromPixel(new OSD.Point(sx, sy), true);
    return { x: p.x * this.size.width, y: p.y * this.size.width };
  }

  /** The pixel at a screen position, or null off the image. */
  pixelAt(sx, sy) {
    const p = this.toImage(sx, sy);
    if (!p) return null;
    const x = Math.floor(p.x);
    const y = Math.floor(p.y);
    if (x < 0 || y < 0 || x >= this.size.width || y >= this.size.height) return null;
    return { x, y };
  }

  /** Screen pixels per image pixel at the current zoom. */
  scale() {
    const a = this.toScreen(0, 0);
    const b = this.toScreen(1, 0);
    return Math.hypot(b.x - a.x, b.y - a.y);
  }

  // ---- drawing ------------------------------------------------------------------------

  draw() {
    const canvas = this.canvas;
    const ratio = globalThis.devicePixelRatio || 1;
    const width = this.osd.element.clientWidth;
    const height = this.osd.element.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    this.canvas.dataset.scaleBar = "";
    if (!this.size || !this.view.current) return;
    const colours = document.documentElement.classList.contains("night") ? PALETTES.night : PALETTES.day;
    const { reticle, region, line, scaleBar, pending } = this.marks;
    if (region) this._region(g, region, colours.region, colours.shadow);
    if (line) this._line(g, line, colours.line, colours.shadow);
    if (reticle) this._reticle(g, reticle, colours.reticle, colours.shadow, width, height);
    if (scaleBar) this._scaleBar(g, colours.bar, colours.shadow, height);
    if (pending) this._pending(g, pending, colours.reticle, colours.shadow);
  }

  /** The pixel the point tool asks about before sending it: a square around it. */
  _pending(g, { x, y }, colour, shadow) {
    const c = this.toScreen(x + 0.5, y + 0.5);
    const r = Math.max(7, this.scale() / 2 + 3);
    this._stroke(g, colour, shadow, () => {
      g.beginPath();
      g.rect(c.x - r, c.y - r, 2 * r, 2 * r);
      g.moveTo(c.x, c.y - r - 6); g.lineTo(c.x, c.y - r);
      g.moveTo(c.x, c.y + r); g.lineTo(c.x, c.y + r + 6);
    });
  }

  _stroke(g, colour, shadow, path, width = 2) {
    g.lineWidth = width + 2;
    g.strokeStyle = shadow;
    path();
    g.stroke();
    g.lineWidth = width;
    g.strokeStyle = colour;
    path();
    g.stroke();
  }

  _reticle(g, { x, y }, colour, shadow, width, height) {
    const c = this.toScreen(x + 0.5, y + 0.5);
    const gap = 6;
    this._stroke(g, colour, shadow, () => {
      g.beginPath();
      g.moveTo(0, c.y); g.lineTo(c.x - gap, c.y);
      g.moveTo(c.x + gap, c.y); g.lineTo(width, c.y);
      g.moveTo(c.x, 0); g.lineTo(c.x, c.y - gap);
      g.moveTo(c.x, c.y + gap); g.lineTo(c.x, height);
    }, 1.5);
    this._stroke(g, colour, shadow, () => {
      g.beginPath();
      g.arc(c.x, c.y, Math.max(gap + 4, this.scale() / 2 + 2), 0, 2 * Math.PI);
    }, 1.5);
  }

  _region(g, { x, y, w, h }, colour, shadow) {
    const a = this.toScreen(x, y);
    const b = this.toScreen(x + w, y + h);
    this._stroke(g, colour, shadow, () => {
      g.beginPath();
      g.rect(a.x, a.y, b.x - a.x, b.y - a.y);
    });
  }

  _line(g, { x0, y0, x1, y1 }, colour, shadow) {
    const a = this.toScreen(x0 + 0.5, y0 + 0.5);
    const b = this.toScreen(x1 + 0.5, y1 + 0.5);
    this._stroke(g, colour, shadow, () => {
      g.beginPath();
      g.moveTo(a.x, a.y);
      g.lineTo(b.x, b.y);
    });
    for (const end of [a, b]) {
      this._stroke(g, colour, shadow, () => {
        g.beginPath();
        g.arc(end.x, end.y, 4, 0, 2 * Math.PI);
      });
    }
  }

  _scaleBar(g, colour, shadow, height) {
    const bar = this.scaleBarFor(this.scale());
    this.canvas.dataset.scaleBar = bar ? bar.label : "";
    if (!bar) return;
    const left = 16;
    const base = height - 56;
    this._stroke(g, colour, shadow, () => {
      g.beginPath();
      g.moveTo(left, base - 6); g.lineTo(left, base);
      g.lineTo(left + bar.screen, base);
      g.lineTo(left + bar.screen, base - 6);
    }, 3);
    g.font = "600 14px system-ui, sans-serif";
    g.textBaseline = "bottom";
    g.lineWidth = 4;
    g.strokeStyle = shadow;
    g.strokeText(bar.label, left, base - 8);
    g.fillStyle = colour;
    g.fillText(bar.label, left, base - 8);
  }

  // ---- pointer ------------------------------------------------------------------------

  _near(position, mark) {
    const { reticle, region, line } = this.marks;
    if (mark === "reticle" && reticle) {
      const c = this.toScreen(reticle.x + 0.5, reticle.y + 0.5);
      return Math.hypot(c.x - position.x, c.y - position.y) <= GRAB_PX;
    }
    if (mark === "region" && region) {
      const a = this.toScreen(region.x, region.y);
      const b = this.toScreen(region.x + region.w, region.y + region.h);
      return position.x >= a.x && position.x <= b.x && position.y >= a.y && position.y <= b.y;
    }
    if (mark === "line" && line) {
      const a = this.toScreen(line.x0 + 0.5, line.y0 + 0.5);
      const b = this.toScreen(line.x1 + 0.5, line.y1 + 0.5);
      return distanceToSegment(position, a, b) <= GRAB_PX;
    }
    return false;
  }

  _press(event) {
    this.gesture = null;
    if (!this.size || !event.position) return;
    const start = this.toImage(event.position.x, event.position.y);
    const { reticle, region, line } = this.marks;
    if (this._near(event.position, "reticle")) {
      this.gesture = { kind: "reticle", start, from: { ...reticle } };
    } else if (this.mode === "region") {
      this.gesture = this._near(event.position, "region")
        ? { kind: "move-region", start, from: { ...region } }
        : { kind: "draw-region", start };
    } else if (this.mode === "line") {
      this.gesture = this._near(event.position, "line")
        ? { kind: "move-line", start, from: { ...line } }
        : { kind: "draw-line", start };
    }
  }

  _drag(event) {
    const gesture = this.gesture;
    if (!gesture) return;
    event.preventDefaultAction = true;  // the image does not pan under a drawn mark
    const now = this.toImage(event.position.x, event.position.y);
    const { width, height } = this.size;
    const dx = Math.round(now.x - gesture.start.x);
    const dy = Math.round(now.y - gesture.start.y);
    const clampX = (v) => Math.min(width - 1, Math.max(0, v));
    const clampY = (v) => Math.min(height - 1, Math.max(0, v));
    let change;
    if (gesture.kind === "reticle") {
      change = { reticle: { x: clampX(gesture.from.x + dx), y: clampY(gesture.from.y + dy) } };
    } else if (gesture.kind === "draw-region") {
      const x0 = clampX(Math.floor(Math.min(gesture.start.x, now.x)));
      const y0 = clampY(Math.floor(Math.min(gesture.start.y, now.y)));
      const x1 = Math.min(width, Math.max(x0 + 1, Math.ceil(Math.max(gesture.start.x, now.x))));
      const y1 = Math.min(height, Math.max(y0 + 1, Math.ceil(Math.max(gesture.start.y, now.y))));
      change = { region: { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } };
    } else if (gesture.kind === "move-region") {
      const { w, h } = gesture.from;
      const x = Math.min(width - w, Math.max(0, gesture.from.x + dx));
      const y = Math.min(height - h, Math.max(0, gesture.from.y + dy));
      change = { region: { x, y, w, h } };
    } else if (gesture.kind === "draw-line") {
      change = {
        line: {
          x0: clampX(Math.floor(gesture.start.x)), y0: clampY(Math.floor(gesture.start.y)),
          x1: clampX(Math.floor(now.x)), y1: clampY(Math.floor(now.y)),
        },
      };
    } else if (gesture.kind === "move-line") {
      const { x0, y0, x1, y1 } = gesture.from;
      const sx = Math.min(width - 1 - Math.max(x0, x1), Math.max(-Math.min(x0, x1), dx));
      const sy = Math.min(height - 1 - Math.max(y0, y1), Math.max(-Math.min(y0, y1), dy));
      change = { line: { x0: x0 + sx, y0: y0 + sy, x1: x1 + sx, y1: y1 + sy } };
    }
    gesture.moved = true;
    this.setMarks(change);
    gesture.change = change;
  }

  _release() {
    const gesture = this.gesture;
    this.gesture = null;
    if (gesture && gesture.change) this.dispatchEvent(new CustomEvent("change", { detail: gesture.change }));
  }

  _click(event) {
    if (this.mode !== "point" || !event.quick || !event.position) return;
    event.preventDefaultAction = true;
    const pixel = this.pixelAt(event.position.x, event.position.y);
    if (pixel) this.dispatchEvent(new CustomEvent("point", { detail: pixel }));
  }

  /** Hover (mouse and pen) and touch-and-hold report the pixel under the pointer. */
  _pointer(element) {
    let hold = null;
    const local = (event) => {
      const box = element.getBoundingClientRect();
      return { x: event.clientX - box.left, y: event.clientY - box.top };
    };
    const cancel = () => {
      if (hold) clearTimeout(hold.timer);
      hold = null;
    };
    element.addEventListener("pointermove", (event) => {
      if (event.pointerType === "touch") {
        if (hold && Math.hypot(event.clientX - hold.x, event.clientY - hold.y) > HOLD_SLOP_PX) cancel();
        return;
      }
      const p = local(event);
      this.dispatchEvent(new CustomEvent("hover", { detail: this.pixelAt(p.x, p.y) }));
    });
    element.addEventListener("pointerleave", (event) => {
      if (event.pointerType !== "touch") this.dispatchEvent(new CustomEvent("hover", { detail: null }));
    });
    element.addEventListener("pointerdown", (event) => {
      cancel();
      if (event.pointerType !== "touch" || !event.isPrimary) return;
      const p = local(event);
      hold = {
        x: event.clientX,
        y: event.clientY,
        timer: setTimeout(() => {
          hold = null;
          const pixel = this.pixelAt(p.x, p.y);
          if (pixel) this.dispatchEvent(new CustomEvent("hold", { detail: pixel }));
        }, HOLD_MS),
      };
    });
    for (const name of ["pointerup", "pointercancel"]) element.addEventListener(name, cancel);
  }
}

function distanceToSegment(p, a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length = dx * dx + dy * dy;
  const t = length ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / length)) : 0;
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}
