// The tools' state in the URL fragment, next to the view's zoom and pan (viewstate.js), so
// that a reload or a copied link reopens the same tools (docs/viewer.md "Shareable view"):
//   tools=1                  the tools panel is open
//   ro=1                     the pixel table is on (the status line needs no switch)
//   lp=1                     the loupe is on
//   ret=X,Y | ret=c          the reticle, at image pixel (X, Y) or the centre
//   bar=1                    the scale bar
//   roi=X,Y,W,H              the region
//   line=X0,Y0,X1,Y1         the line
//   rg=b:…;c:…;p:…           boxes, circles and polygons (regionfile.js)
//   plot=KEY                 the metadata key plotted over time
//   th=above:V | below:V     its threshold
//   lv=BLACK,WHITE           levels (black and white points); st=STRETCH; cm=COLORMAP; auto=1
//   pre=PRESET               what auto levels follow: minmax, 99.5, 99, 95 (zscale when absent)
//   inv=1                    the colormap inverted
//   ov=0                     the producer's overlays are hidden (docs/together.md)
// Pure: strings in, objects out.

import { COLORMAPS, STRETCHES } from "./colour.js";
import { writeFragment } from "../viewstate.js";

/** The presets auto levels may follow (docs/viewer.md, "Levels"), as /api/levels names them:
 *  the first is the default. */
export const PRESETS = ["zscale", "minmax", "99.5", "99", "95"];

const NAMES = ["tools", "ro", "ret", "bar", "roi", "line", "rg", "plot", "th", "lv", "st", "cm", "auto", "sat", "pre", "inv", "lp", "ov"];
const LIMIT = 1e7;  // image pixels: no frame is this large

export function emptyTools() {
  return {
    open: false, readout: false, reticle: null, scaleBar: false, region: null, line: null, shapes: "",
    plot: null, threshold: null, levels: null, stretch: "linear", colormap: "grey", auto: false,
    saturation: false, preset: PRESETS[0], invert: false, loupe: false, overlays: true,
  };
}

function numbers(text, count, { integer = true } = {}) {
  if (typeof text !== "string") return null;
  const parts = text.split(",");
  if (parts.length !== count) return null;
  const values = parts.map(Number);
  if (!values.every((v) => Number.isFinite(v) && Math.abs(v) < (integer ? LIMIT : Infinity))) return null;
  if (integer && !values.every(Number.isInteger)) return null;
  return values;
}

/** The tools' state from a location hash (what is missing or malformed is left off). */
export function parseTools(hash) {
  const params = new URLSearchParams(String(hash || "").replace(/^#/, ""));
  const state = emptyTools();
  state.open = params.get("tools") === "1";
  state.readout = params.get("ro") === "1";
  const ret = numbers(params.get("ret"), 2);
  if (ret && ret[0] >= 0 && ret[1] >= 0) state.reticle = { x: ret[0], y: ret[1] };
  else if (params.get("ret") === "c") state.reticle = "centre";
  state.scaleBar = params.get("bar") === "1";
  state.saturation = params.get("sat") === "1";
  const roi = numbers(params.get("roi"), 4);
  if (roi && roi[2] > 0 && roi[3] > 0) state.region = { x: roi[0], y: roi[1], w: roi[2], h: roi[3] };
  const line = numbers(params.get("line"), 4);
  if (line) state.line = { x0: line[0], y0: line[1], x1: line[2], y1: line[3] };
  const shapes = params.get("rg");
  if (shapes && shapes.length <= 8000) state.shapes = shapes;
  const plot = params.get("plot");
  if (plot && plot.length <= 200) state.plot = plot;
  const th = /^(above|below):(.+)$/.exec(params.get("th") || "");
  if (th && Number.isFinite(Number(th[2]))) state.threshold = { direction: th[1], value: Number(th[2]) };
  const lv = numbers(params.get("lv"), 2, { integer: false });
  if (lv && lv[0] < lv[1]) state.levels = { black: lv[0], white: lv[1] };
  if (STRETCHES.includes(params.get("st"))) state.stretch = params.get("st");
  if (COLORMAPS.includes(params.get("cm"))) state.colormap = params.get("cm");
  state.auto = params.get("auto") === "1";
  if (PRESETS.includes(params.get("pre"))) state.preset = params.get("pre");
  state.invert = params.get("inv") === "1";
  state.loupe = params.get("lp") === "1";
  state.overlays = params.get("ov") !== "0";
  return state;
}

/** `previousHash` with the tools' parameters replaced by `state`'s (others are kept). */
export function formatTools(state, previousHash = "") {
  const params = new URLSearchParams(String(previousHash || "").replace(/^#/, ""));
  for (const name of NAMES) params.delete(name);
  if (state.open) params.set("tools", "1");
  if (state.readout) params.set("ro", "1");
  if (state.reticle === "centre") params.set("ret", "c");
  else if (state.reticle) params.set("ret", `${state.reticle.x},${state.reticle.y}`);
  if (state.scaleBar) params.set("bar", "1");
  if (state.saturation) params.set("sat", "1");
  if (state.region) {
    const { x, y, w, h } = state.region;
    params.set("roi", `${x},${y},${w},${h}`);
  }
  if (state.line) {
    const { x0, y0, x1, y1 } = state.line;
    params.set("line", `${x0},${y0},${x1},${y1}`);
  }
  if (state.shapes) params.set("rg", state.shapes);
  if (state.plot) params.set("plot", state.plot);
  if (state.plot && state.threshold) params.set("th", `${state.threshold.direction}:${state.threshold.value}`);
  if (state.levels) params.set("lv", `${state.levels.black},${state.levels.white}`);
  if (state.stretch !== "linear") params.set("st", state.stretch);
  if (state.colormap !== "grey") params.set("cm", state.colormap);
  if (state.auto) params.set("auto", "1");
  if (state.preset !== PRESETS[0]) params.set("pre", state.preset);
  if (state.invert) params.set("inv", "1");
  if (state.loupe) params.set("lp", "1");
  if (state.overlays === false) params.set("ov", "0");
  const text = params.toString().replace(/%2C/g, ",").replace(/%3A/g, ":").replace(/%3B/g, ";");
  return text ? `#${text}` : "";
}

/** Write `state` into the address bar (no new history entry), keeping the view's zoom/pan. */
export function rememberTools(state) {
  const hash = formatTools(state, location.hash);
  if (hash === location.hash || (!hash && !location.hash)) return;
  writeFragment(hash);
}
