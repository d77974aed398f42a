// A small live line chart on a canvas (metadata over time, a region's figure over frames):
// points [[x, y], …], an optional horizontal threshold, and the last value. Plain canvas:
// no library, no DOM beyond its own canvas, no network.

export class LineChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.points = [];
    this.threshold = null;
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /** Show `points` ([[x, y], …], x increasing) and a threshold value (or null). */
  set(points, threshold = null) {
    this.points = points;
    this.threshold = threshold;
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const prepared = prepareCanvas(canvas);
    if (!prepared) return;
    const { g, width, height } = prepared;
    const style = getComputedStyle(canvas);
    const colour = style.getPropertyValue("--plot").trim() || "#8ab4f8";
    const dim = style.getPropertyValue("--fg-dim").trim() || "#aab4bf";
    const warn = style.getPropertyValue("--stopped").trim() || "#ff6e6e";
    const points = this.points;
    if (!points.length) return;
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    if (this.threshold !== null) ys.push(this.threshold);
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (y0 === y1) { y0 -= 1; y1 += 1; }
    const pad = { left: 4, right: 4, top: 14, bottom: 14 };
    const sx = (x) => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
    const sy = (y) => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
    g.font = "11px system-ui, sans-serif";
    g.fillStyle = dim;
    g.textBaseline = "top";
    g.fillText(String(y1), pad.left, 0);
    g.textBaseline = "bottom";
    g.fillText(String(y0), pad.left, height);
    if (this.threshold !== null) {
      g.strokeStyle = warn;
      g.setLineDash([4, 3]);
      g.lineWidth = 1;
      g.beginPath();
      g.moveTo(pad.left, sy(this.threshold));
      g.lineTo(width - pad.right, sy(this.threshold));
      g.stroke();
      g.setLineDash([]);
    }
    g.strokeStyle = colour;
    g.lineWidth = 1.5;
    g.beginPath();
    points.forEach(([x, y], i) => (i ? g.lineTo(sx(x), sy(y)) : g.moveTo(sx(x), sy(y))));
    g.stroke();
    g.fillStyle = colour;
    for (const [x, y] of points.length <= 200 ? points : points.slice(-1)) {
      g.beginPath();
      g.arc(sx(x), sy(y), 2, 0, 2 * Math.PI);
      g.fill();
    }
  }
}

/** Size `canvas`'s backing store to its CSS size at the device's pixel ratio and clear it;
 *  returns its 2-D context (in CSS pixels) with the size, or null while it is not laid out. */
export function prepareCanvas(canvas) {
  const ratio = globalThis.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return null;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  return { g, width, height };
}
