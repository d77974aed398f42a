// A small live line chart on a canvas (metadata over time, a region's figure over frames, a
// line's profile): points [[x, y], …] with an x axis (frame numbers, or positions along a
// line) and a y axis scaled to the points shown, an optional horizontal threshold. Plain
// canvas: no library, no DOM beyond its own canvas, no network (docs/viewer.md, "Charts").

const FONT = "11px system-ui, sans-serif";
const TICK = 4;

/** About `count` round tick values (1, 2 or 5 × 10ⁿ apart) covering [lo, hi]; `integers`:
 *  no step under 1 (frame numbers). Returns {ticks, lo, hi} with the range widened to them. */
export function niceTicks(lo, hi, count = 4, { integers = false } = {}) {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.05;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
  if (integers) step = Math.max(1, Math.round(step));
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const ticks = [];
  for (let i = first; i <= last && ticks.length < 50; i += 1) ticks.push(i * step);
  return { ticks, step, lo, hi };
}

/** A tick's text with no more digits than its step needs (`2.5`, `1200`, `1e-7`). */
export function tickText(value, step) {
  if (Math.abs(value) < step * 1e-6) return "0";
  const decimals = -Math.floor(Math.log10(step) + 1e-9);
  if (decimals > 0 && decimals <= 6 && Math.abs(value) < 1e6) return value.toFixed(decimals);
  return String(Number(value.toPrecision(6)));
}

export class LineChart {
  /** `xText(tick)`: how an x tick reads (frame numbers: `#12`). */
  constructor(canvas, { xText = (x) => String(x), integerX = true } = {}) {
    this.canvas = canvas;
    this.xText = xText;
    this.integerX = integerX;
    this.points = [];
    this.threshold = null;
    this.axes = null;           // what was drawn: {x: [labels], y: [labels], area: {left, top, right, bottom}}
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
    const line = style.getPropertyValue("--line").trim() || "#3a4452";
    const warn = style.getPropertyValue("--stopped").trim() || "#ff6e6e";
    const points = this.points;
    this.axes = null;
    if (!points.length) return;
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    if (this.threshold !== null) ys.push(this.threshold);
    const rows = Math.max(2, Math.min(5, Math.floor(height / 22)));
    const y = niceTicks(Math.min(...ys), Math.max(...ys), rows);
    // The y axis spans the values themselves (ticks inside it), so the points fill the height.
    const [y0, y1] = Math.min(...ys) < Math.max(...ys) ? [Math.min(...ys), Math.max(...ys)] : [y.lo, y.hi];
    const yTicks = y.ticks.filter((t) => t >= y0 - 1e-9 * Math.abs(y0) && t <= y1 + 1e-9 * Math.abs(y1));
    const yLabels = yTicks.map((t) => tickText(t, y.step));
    g.font = FONT;
    const left = Math.ceil(Math.max(...yLabels.map((t) => g.measureText(t).width), 8)) + TICK + 4;
    const area = { left, top: 7, right: width - 8, bottom: height - 17 };
    const columns = Math.max(2, Math.min(6, Math.floor((area.right - area.left) / 60)));
    const x = niceTicks(Math.min(...xs), Math.max(...xs), columns, { integers: this.integerX });
    const [x0, x1] = x.hi > x.lo && Math.min(...xs) < Math.max(...xs) ? [Math.min(...xs), Math.max(...xs)] : [x.lo, x.hi];
    const xTicks = x.ticks.filter((t) => t >= x0 && t <= x1);
    const sx = (v) => area.left + ((v - x0) / (x1 - x0)) * (area.right - area.left);
    const sy = (v) => area.bottom - ((v - y0) / (y1 - y0)) * (area.bottom - area.top);

    // axes, ticks and their labels
    g.strokeStyle = line;
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(area.left - 0.5, area.top);
    g.lineTo(area.left - 0.5, area.bottom + 0.5);
    g.lineTo(area.right, area.bottom + 0.5);
    for (const t of yTicks) {
      g.moveTo(area.left - TICK, Math.round(sy(t)) + 0.5);
      g.lineTo(area.left, Math.round(sy(t)) + 0.5);
    }
    for (const t of xTicks) {
      g.moveTo(Math.round(sx(t)) + 0.5, area.bottom);
      g.lineTo(Math.round(sx(t)) + 0.5, area.bottom + TICK);
    }
    g.stroke();
    g.fillStyle = dim;
    g.textAlign = "right";
    g.textBaseline = "middle";
    yTicks.forEach((t, i) => g.fillText(yLabels[i], area.left - TICK - 2, Math.min(Math.max(sy(t), area.top + 4), area.bottom - 4)));
    g.textBaseline = "top";
    const xLabels = xTicks.map((t) => this.xText(tickText(t, x.step)));
    xTicks.forEach((t, i) => {
      const w = g.measureText(xLabels[i]).width;
      g.textAlign = "left";
      g.fillText(xLabels[i], Math.min(Math.max(sx(t) - w / 2, area.left), width - w - 1), area.bottom + TICK + 1);
    });
    g.textAlign = "left";

    if (this.threshold !== null) {
      g.strokeStyle = warn;
      g.setLineDash([4, 3]);
      g.beginPath();
      g.moveTo(area.left, sy(this.threshold));
      g.lineTo(area.right, sy(this.threshold));
      g.stroke();
      g.setLineDash([]);
    }
    g.strokeStyle = colour;
    g.lineWidth = 1.5;
    g.beginPath();
    points.forEach(([px, py], i) => (i ? g.lineTo(sx(px), sy(py)) : g.moveTo(sx(px), sy(py))));
    g.stroke();
    g.fillStyle = colour;
    for (const [px, py] of points.length <= 200 ? points : points.slice(-1)) {
      g.beginPath();
      g.arc(sx(px), sy(py), 2, 0, 2 * Math.PI);
      g.fill();
    }
    this.axes = { x: xLabels, y: yLabels, area };
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
