// The metadata panel: every key of the image's metadata, each value exactly as published
// (no locale grouping, no rounding: a pulse id or a count can be read and copied as sent),
// every key as given, and 1-D numeric arrays (beam profiles, histograms) drawn as small plots.
// Only the keys the viewer knows get a friendly label (ALS's STACK_SIZE and EXPO); the raw
// key is always shown on hover. Rows are updated in place (same key → same row), so new
// values do not make the layout jump. Values are always inserted as text, never as HTML.

import { parts } from "./elements.js";

const SVG = "http://www.w3.org/2000/svg";
const MAX_PLOT_POINTS = 512;

const LABELS = {
  STACK_SIZE: "Stack size",
  EXPO: "Total exposure",
};

/** The label of a publisher's key: a friendly name for the keys the viewer knows
 *  (STACK_SIZE → "Stack size", EXPO → "Total exposure"), every other key as given. */
export function labelFor(key) {
  return Object.hasOwn(LABELS, key) ? LABELS[key] : String(key);
}

/** A published number exactly as JSON carried it: 4242 stays "4242", 6.1234567 stays
 *  "6.1234567" (JSON itself has no NaN or infinities; they are spelt out if they come). */
export function exactNumber(value) {
  if (typeof value !== "number") return String(value);
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
  return Object.is(value, -0) ? "-0" : String(value);
}

/** Byte counts as kB/MB. */
export function formatBytes(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes)) return "";
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

/** True for a non-empty array of finite numbers (what we plot). */
export function isNumericSeries(value) {
  return Array.isArray(value) && value.length > 1 && value.every((v) => typeof v === "number" && Number.isFinite(v));
}

/** Reduce a series to at most `maxPoints` points, keeping each bucket's min and max so
 *  that narrow peaks survive. Returns [[index, value], …]. */
export function decimate(values, maxPoints = MAX_PLOT_POINTS) {
  if (values.length <= maxPoints) return values.map((v, i) => [i, v]);
  const buckets = Math.floor(maxPoints / 2);
  const size = values.length / buckets;
  const points = [];
  for (let b = 0; b < buckets; b += 1) {
    const start = Math.floor(b * size);
    const end = Math.min(values.length, Math.floor((b + 1) * size));
    let lo = start;
    let hi = start;
    for (let i = start; i < end; i += 1) {
      if (values[i] < values[lo]) lo = i;
      if (values[i] > values[hi]) hi = i;
    }
    if (lo <= hi) points.push([lo, values[lo]], [hi, values[hi]]);
    else points.push([hi, values[hi]], [lo, values[lo]]);
  }
  return points;
}

/** One-line text for any non-plotted value; numbers and strings exactly as published. */
export function formatValue(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return exactNumber(value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((v) => typeof v !== "object" || v === null)) {
    return value.map(formatValue).join(", ");
  }
  const text = JSON.stringify(value);
  return text.length > 400 ? `${text.slice(0, 399)}…` : text;
}

function plot(values) {
  const points = decimate(values);
  let min = Infinity;
  let max = -Infinity;
  for (const [, v] of points) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min || 1;
  const last = values.length - 1;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "plot");
  svg.setAttribute("viewBox", "0 0 200 40");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", points
    .map(([i, v]) => `${((i / last) * 200).toFixed(2)},${(38 - ((v - min) / span) * 36).toFixed(2)}`)
    .join(" "));
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(line);
  svg.setAttribute("aria-label", `plot of ${values.length} values from ${exactNumber(min)} to ${exactNumber(max)}`);
  return svg;
}

/** Renders a list of key → value rows into a <dl>, updating rows in place. */
export class MetadataList {
  constructor(list, { rawLabels = false } = {}) {
    this.list = list;
    this.rawLabels = rawLabels;
    this.rows = new Map();  // key → {dt, dd, signature}
  }

  /** Show `entries` ([[key, value], …] in display order); rows of vanished keys go away. */
  render(entries) {
    const seen = new Set();
    let previous = null;
    for (const [key, value] of entries) {
      seen.add(key);
      let row = this.rows.get(key);
      if (!row) {
        const dt = document.createElement("dt");
        const dd = document.createElement("dd");
        dt.textContent = this.rawLabels ? key : labelFor(key);
        dt.title = key;
        row = { dt, dd, signature: null };
        this.rows.set(key, row);
      }
      // keep rows in the publisher's order
      const anchor = previous ? previous.dd.nextSibling : this.list.firstChild;
      if (row.dt !== anchor) this.list.insertBefore(row.dt, anchor);
      if (row.dd !== row.dt.nextSibling) this.list.insertBefore(row.dd, row.dt.nextSibling);
      this._fill(row, value);
      previous = row;
    }
    for (const [key, row] of this.rows) {
      if (!seen.has(key)) {
        row.dt.remove();
        row.dd.remove();
        this.rows.delete(key);
      }
    }
  }

  _fill(row, value) {
    if (isNumericSeries(value)) {
      row.dd.className = "series";
      const caption = document.createElement("span");
      caption.className = "caption";
      let min = Infinity;
      let max = -Infinity;
      for (const v of value) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      caption.textContent = `${value.length} values, ${exactNumber(min)} … ${exactNumber(max)}`;
      row.dd.replaceChildren(plot(value), caption);
      row.signature = null;
      return;
    }
    const text = formatValue(value);
    if (row.signature === text) return;
    row.signature = text;
    row.dd.className = typeof value === "number" ? "number" : "";
    row.dd.textContent = text;
  }
}

/** Split data.json / message metadata into the publisher's entries and framecast's own block. */
export function splitMetadata(metadata) {
  const own = metadata && typeof metadata.framecast === "object" && metadata.framecast !== null ? metadata.framecast : {};
  const entries = metadata && typeof metadata === "object"
    ? Object.entries(metadata).filter(([key]) => key !== "framecast")
    : [];
  return { own, entries };
}

/** framecast's own fields, as display rows. */
export function imageEntries(own, shown = {}) {
  const rows = [];
  const width = own.width ?? shown.width;
  const height = own.height ?? shown.height;
  if (width && height) rows.push(["size", `${width} × ${height} px`]);
  if (own.source_width && own.source_height && (own.source_width !== width || own.source_height !== height)) {
    rows.push(["source size", `${own.source_width} × ${own.source_height} px`]);
  }
  if (typeof own.time === "number") rows.push(["time", new Date(own.time * 1000).toLocaleTimeString()]);
  if (typeof own.bytes === "number") rows.push(["JPEG", formatBytes(own.bytes)]);
  return rows;
}

/** The panel beside the image (its root, #panel): the number of the image on screen, its
 *  size, time and bytes, the publisher's metadata, and the server line at the bottom. */
export class InfoPanel {
  constructor(root) {
    this.el = parts(root, { seq: "meta-seq", fixed: "meta-fixed", list: "meta", empty: "meta-empty", server: "server-info" });
    this.fixed = new MetadataList(this.el.fixed, { rawLabels: true });
    this.meta = new MetadataList(this.el.list);
  }

  /** The image on screen: `info` as the view's "shown" event hands it back, drawn
   *  `width` × `height`. */
  showImage(info, { width, height }) {
    const { entries } = splitMetadata(info.metadata);
    const own = info.own;
    this.el.seq.textContent = info.waiting ? "(waiting)" : own.seq ? `#${own.seq}` : "";
    this.fixed.render(imageEntries(own, { width, height }));
    this.meta.render(entries);
    this.el.empty.hidden = entries.length > 0;
  }

  /** The server line (serverstatus.js's `serverLine`). */
  setServerLine(text) {
    this.el.server.textContent = text;
  }
}
