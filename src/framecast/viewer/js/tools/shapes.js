// Shapes drawn over the image in its pixels (docs/together.md): the producer's overlays of
// the frame on screen, the stream's shared marks, and the mark being drawn. An SVG layer
// laid over OpenSeadragon's element, redrawn whenever the viewport moves, so the shapes zoom
// and pan with the image; strokes and texts keep their size on screen. No network, no
// pointer: it draws what it is given.
//
// A shape is {shape: circle|rectangle|line|polygon|point|text, x, y, r, w, h, points, text,
// colour} in full-resolution image pixels from the image's top-left corner (pixel (i, j)
// covers [i, i+1) × [j, j+1)). Every element drawn bears data-group (overlays; shared: the
// marks; draft: the mark being drawn) and data-shape; a mark's also data-id.

const OSD = globalThis.OpenSeadragon;
const SVG = "http://www.w3.org/2000/svg";
const GROUPS = ["overlays", "shared", "draft"];
const COLOURS = { overlays: "#00e5ff", shared: "#ffd54f", draft: "#ffffff" };
const NIGHT = "#ff4d4d";
const POINT_PX = 5;        // a point's ring, in screen pixels
const LABEL_PX = 8;        // a text's offset from its shape

export class ShapeLayer {
  /** `view`: the ImageView (its OpenSeadragon viewer): the layer is laid over its element. */
  constructor(view) {
    this.view = view;
    this.osd = view.osd;
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.setAttribute("class", "shape-layer");
    this.svg.setAttribute("aria-hidden", "true");
    this.osd.element.after(this.svg);
    this.size = null;
    this.shapes = { overlays: [], shared: [], draft: [] };
    this.hidden = { overlays: false, shared: false, draft: false };
    this.queued = false;
    this.osd.addHandler("update-viewport", () => this.draw());
    this.osd.addHandler("resize", () => this.redraw());
    new MutationObserver(() => this.redraw()).observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
  }

  /** The full-resolution size of the frame on screen. */
  setSize(width, height) {
    if (!(width > 0 && height > 0)) return;
    if (this.size && this.size.width === width && this.size.height === height) return;
    this.size = { width, height };
    this.redraw();
  }

  /** The shapes of `group` ("overlays", "shared" marks or "draft"). */
  set(group, shapes) {
    this.shapes[group] = Array.isArray(shapes) ? shapes : [];
    this.redraw();
  }

  /** Show or hide `group`. */
  hide(group, hidden) {
    this.hidden[group] = Boolean(hidden);
    this.redraw();
  }

  redraw() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      this.draw();
    });
  }

  /** Screen position (relative to OpenSeadragon's element) of image position (x, y). */
  toScreen(x, y) {
    const width = this.size.width;
    const p = this.osd.viewport.pixelFromPoint(new OSD.Point(x / width, y / width), true);
    return { x: p.x, y: p.y };
  }

  draw() {
    const svg = this.svg;
    svg.replaceChildren();
    svg.setAttribute("width", String(this.osd.element.clientWidth));
    svg.setAttribute("height", String(this.osd.element.clientHeight));
    if (!this.size || !this.view.current) return;
    const origin = this.toScreen(0, 0);
    const one = this.toScreen(1, 0);
    const scale = Math.hypot(one.x - origin.x, one.y - origin.y);
    const night = document.documentElement.classList.contains("night");
    for (const group of GROUPS) {
      if (this.hidden[group]) continue;
      const g = element("g", { "data-group": group });
      for (const shape of this.shapes[group]) {
        const colour = night ? NIGHT : shape.colour || COLOURS[group];
        const drawn = this._shape(shape, scale);
        if (!drawn) continue;
        drawn.setAttribute("data-group", group);
        drawn.setAttribute("data-shape", shape.shape);
        if (shape.id) drawn.setAttribute("data-id", shape.id);
        drawn.setAttribute("stroke", colour);
        drawn.setAttribute("fill", shape.shape === "text" ? colour : "none");
        g.append(drawn);
        if (shape.text && shape.shape !== "text") g.append(this._label(shape, colour));
      }
      svg.append(g);
    }
  }

  _shape(shape, scale) {
    const at = (x, y) => this.toScreen(x, y);
    switch (shape.shape) {
      case "circle": {
        const c = at(shape.x, shape.y);
        return element("circle", { cx: c.x, cy: c.y, r: Math.max(1, shape.r * scale) });
      }
      case "rectangle": {
        const a = at(shape.x, shape.y);
        return element("rect", { x: a.x, y: a.y, width: shape.w * scale, height: shape.h * scale });
      }
      case "line":
      case "polygon": {
        const points = shape.points.map(([x, y]) => at(x, y)).map((p) => `${p.x},${p.y}`).join(" ");
        return element(shape.shape === "line" ? "polyline" : "polygon", { points });
      }
      case "point": {
        const c = at(shape.x, shape.y);
        return element("circle", { cx: c.x, cy: c.y, r: POINT_PX });
      }
      case "text": {
        const c = at(shape.x, shape.y);
        const text = element("text", { x: c.x, y: c.y });
        text.textContent = shape.text;
        return text;
      }
      default:
        return null;
    }
  }

  /** A shape's text, just beyond its top-right. */
  _label(shape, colour) {
    let x = shape.x;
    let y = shape.y;
    if (shape.shape === "circle") {
      x += shape.r;
      y -= shape.r;
    } else if (shape.shape === "rectangle") {
      x += shape.w;
    } else if (shape.points) {
      [x, y] = shape.points[0];
    }
    const p = this.toScreen(x, y);
    const extra = shape.shape === "point" ? POINT_PX : 0;
    const text = element("text", { x: p.x + LABEL_PX + extra, y: p.y - LABEL_PX - extra });
    text.setAttribute("fill", colour);
    text.setAttribute("data-label", "");
    text.textContent = shape.text;
    return text;
  }
}

function element(name, attributes) {
  const made = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) made.setAttribute(key, String(value));
  return made;
}
