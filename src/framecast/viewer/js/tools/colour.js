// Levels in the browser (docs/viewer.md): black and white points, a stretch and a colormap that
// turn raw values into display colours. Pure: numbers in, numbers out; no DOM, no network.

import { COLORMAP_HEX, COLORMAP_NAMES } from "./colormaps.js";

export const STRETCHES = ["linear", "sqrt", "squared", "log", "asinh", "power", "histeq"];
export const COLORMAPS = Object.keys(COLORMAP_NAMES);
/** What the menus say for each stretch and colormap. */
export const STRETCH_NAMES = { histeq: "histogram equalisation" };
export { COLORMAP_NAMES };
/** The saturation highlight's colour (docs/viewer.md): a pure red no colormap uses. */
export const SATURATED = [255, 0, 0];

const INTEGER_MAX = { uint8: 255, int8: 127, uint16: 65535, int16: 32767, uint32: 4294967295, int32: 2147483647 };

/** The level at which a frame saturates: its `saturation` metadata when a number, else its
 *  integer dtype's maximum; null for floats without one (as /api/stats counts them). */
export function saturationLevel(metadata, dtype) {
  if (metadata && typeof metadata.saturation === "number" && Number.isFinite(metadata.saturation)) return metadata.saturation;
  return INTEGER_MAX[dtype] ?? null;
}

const LOG_A = 1000;      // log stretch: log(1 + a·t) / log(1 + a), as DS9's log
const ASINH_A = 10;      // asinh stretch: asinh(a·t) / asinh(a)
const POWER_A = 1000;    // power stretch: (a^t - 1) / (a - 1), as DS9's pow

/** `t` (0..1, the value between black and white) through `stretch`, still 0..1. (The
 *  histogram equalisation needs the frame's quantiles: see `equalised`.) */
export function stretch(t, name = "linear") {
  const u = t <= 0 ? 0 : t >= 1 ? 1 : t;
  switch (name) {
    case "sqrt": return Math.sqrt(u);
    case "squared": return u * u;
    case "log": return Math.log1p(LOG_A * u) / Math.log1p(LOG_A);
    case "asinh": return Math.asinh(ASINH_A * u) / Math.asinh(ASINH_A);
    case "power": return (POWER_A ** u - 1) / (POWER_A - 1);
    default: return u;
  }
}

/** The share of a frame's values below `v` (0..1), from its `quantiles` (sorted values at
 *  evenly spaced shares, as /api/levels answers them): interpolated between two quantiles,
 *  the middle of a run of equal ones. Pure. */
export function shareBelow(quantiles, v) {
  const n = quantiles.length;
  let below = 0;  // quantiles < v
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (quantiles[mid] < v) lo = mid + 1; else hi = mid;
  }
  below = lo;
  if (below === 0) return 0;
  if (below === n) return 1;
  if (quantiles[below] > v) {
    const a = quantiles[below - 1];
    return (below - 1 + (v - a) / (quantiles[below] - a)) / (n - 1);
  }
  let equal = below;
  while (equal < n && quantiles[equal] === v) equal += 1;
  return ((below + equal - 1) / 2) / (n - 1);
}

/** Histogram equalisation between `black` and `white`: a 4096-step table from t to 0..255,
 *  each step the share of the frame's values below it (from `quantiles`), rescaled so that
 *  black is 0 and white 255. Pure. */
export function equalised(black, white, quantiles) {
  const table = new Uint8Array(4096);
  const low = shareBelow(quantiles, black);
  const span = shareBelow(quantiles, white) - low;
  for (let i = 0; i < 4096; i += 1) {
    const share = span > 0 ? (shareBelow(quantiles, black + (i / 4095) * (white - black)) - low) / span : i / 4095;
    table[i] = Math.round(Math.min(1, Math.max(0, share)) * 255);
  }
  return table;
}

function rgb(hex) {
  const n = parseInt(hex, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const luts = new Map();

/** The colormap `name` as a 256-entry table: Uint8Array of 256 × [r, g, b]; `invert`
 *  reverses it (white point at the map's start). */
export function lut(name, invert = false) {
  const key = `${COLORMAP_HEX[name] ? name : "grey"}${invert ? "|inverted" : ""}`;
  if (luts.has(key)) return luts.get(key);
  const hex = COLORMAP_HEX[key.split("|")[0]];
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i += 1) {
    const from = invert ? 255 - i : i;
    table.set(rgb(hex.slice(from * 6, from * 6 + 6)), i * 3);
  }
  luts.set(key, table);
  return table;
}

/** A 4096-step table from t to LUT index through `stretch` (so that painting a tile is one
 *  multiply and two lookups per pixel, whatever the stretch). */
function stretchTable(name) {
  const table = new Uint8Array(4096);
  for (let i = 0; i < 4096; i += 1) table[i] = Math.round(stretch(i / 4095, name) * 255);
  return table;
}
const stretchTables = new Map();

/** One colour as the 32-bit word that puts r, g, b, 255 in an RGBA byte array's order. */
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
function packed(r, g, b) {
  return (LITTLE ? (255 << 24) | (b << 16) | (g << 8) | r : (r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
}
const BLACK_WORD = packed(0, 0, 0);
const SATURATED_WORD = packed(...SATURATED);
// Integer dtypes small enough for a table of every value: values → table index offset.
const INTEGER_TABLES = { Uint8Array: 0, Int8Array: 128, Uint16Array: 0, Int16Array: 32768 };
const INTEGER_SIZES = { Uint8Array: 256, Int8Array: 256, Uint16Array: 65536, Int16Array: 65536 };

/**
 * The colours of `levels` = {black, white, stretch, colormap, invert, quantiles (for the
 * histogram equalisation), saturation} for raw values of
 * the typed-array kind `kind` ("Uint16Array", "Float32Array", …), ready to paint with
 * `paintWith`: for 8- and 16-bit integers a table of the packed colour of every possible
 * value (one lookup per pixel), else a 4096-step table of packed colours for the
 * arithmetic path. Built once per change of levels, not per tile. Pure, but for `spare`:
 * an earlier table of the same kind no longer used, whose arrays are filled again instead of
 * new ones allocated (a change of levels then leaves no 256 KB of garbage behind).
 */
export function colourTable({ black, white, stretch: name = "linear", colormap = "grey", invert = false, quantiles = null, saturation = null }, kind = "Float64Array", spare = null) {
  if (!stretchTables.has(name)) stretchTables.set(name, stretchTable(name));
  const steps = name === "histeq" && quantiles && quantiles.length > 1 ? equalised(black, white, quantiles) : stretchTables.get(name);
  const table = lut(colormap, invert);
  const words = spare && spare.words.length === 4096 ? spare.words : new Uint32Array(4096);
  for (let s = 0; s < 4096; s += 1) {
    const i = steps[s] * 3;
    words[s] = packed(table[i], table[i + 1], table[i + 2]);
  }
  const span = white - black;
  const scale = span !== 0 ? 4095 / span : 0;
  const colours = { kind, black, white, span, scale, saturation, steps, words, values: null, offset: 0 };
  if (kind in INTEGER_TABLES) {
    const offset = INTEGER_TABLES[kind];
    const size = INTEGER_SIZES[kind];
    const values = spare && spare.values && spare.values.length === size ? spare.values : new Uint32Array(size);
    // wordOf for every integer, inlined (no NaN to test for): 65536 values in a fraction of
    // a millisecond, at every change of levels
    const high = saturation === null ? Infinity : saturation;
    for (let index = 0; index < values.length; index += 1) {
      const v = index - offset;
      let s = span === 0 ? (v >= white ? 4095 : 0) : (v - black) * scale;
      s = s <= 0 ? 0 : s >= 4095 ? 4095 : s | 0;
      values[index] = v >= high ? SATURATED_WORD : words[s];
    }
    colours.values = values;
    colours.offset = offset;
  }
  return colours;
}

/** The packed colour of one raw value (one channel). */
function wordOf({ black, white, span, scale, saturation, words }, v) {
  if (saturation !== null && v >= saturation) return SATURATED_WORD;
  if (v - v !== 0) return BLACK_WORD;  // NaN, inf, -inf
  let s = (v - black) * scale;
  s = s <= 0 ? 0 : s >= 4095 ? 4095 : s | 0;
  if (span === 0) s = v >= white ? 4095 : 0;
  return words[s];
}

/**
 * Paint `values` (a typed array of raw values, `channels` per pixel) into `rgba` (a
 * Uint8ClampedArray of 4 per pixel) with `levels` = {black, white, stretch, colormap}.
 * Non-finite values are painted black; colour data gets the stretch per channel (the
 * colormap only applies to one channel). With `saturation` (a number), pixels at or above
 * it are painted in the warning colour SATURATED.
 */
export function paint(values, rgba, levels, channels = 1) {
  return paintWith(colourTable(levels, values.constructor.name), values, rgba, channels);
}

/** `paint` with the colours of `colourTable` (made for `values`' kind). */
export function paintWith(colours, values, rgba, channels = 1) {
  const pixels = Math.floor(values.length / channels);
  if (channels !== 1 || rgba.byteOffset % 4 !== 0) return paintChannels(colours, values, rgba, channels);
  const out = new Uint32Array(rgba.buffer, rgba.byteOffset, pixels);
  const table = colours.values;
  if (table && colours.kind === values.constructor.name) {
    const offset = colours.offset;
    if (offset === 0) for (let p = 0; p < pixels; p += 1) out[p] = table[values[p]];
    else for (let p = 0; p < pixels; p += 1) out[p] = table[values[p] + offset];
    return rgba;
  }
  const { black, scale, saturation, words } = colours;
  if (colours.span === 0 || saturation !== null) {
    for (let p = 0; p < pixels; p += 1) out[p] = wordOf(colours, values[p]);
    return rgba;
  }
  for (let p = 0; p < pixels; p += 1) {
    const v = values[p];
    if (v - v !== 0) {
      out[p] = BLACK_WORD;
      continue;
    }
    const s = (v - black) * scale;
    out[p] = words[s <= 0 ? 0 : s >= 4095 ? 4095 : s | 0];
  }
  return rgba;
}

/** `paintWith` for one channel of values, only the pixels x0 ≤ x < x1, y0 ≤ y < y1
 *  (`rect`) of a tile `width` pixels wide (`rgba` aligned to 4 bytes, as an ImageData's). */
export function paintRect(colours, values, rgba, width, [x0, y0, x1, y1]) {
  const out = new Uint32Array(rgba.buffer, rgba.byteOffset, values.length);
  const table = colours.values;
  const offset = colours.offset;
  const exact = Boolean(table) && colours.kind === values.constructor.name;
  const { black, scale, saturation, words } = colours;
  const simple = colours.span !== 0 && saturation === null;
  for (let y = y0; y < y1; y += 1) {
    const end = y * width + x1;
    if (exact) {
      for (let p = y * width + x0; p < end; p += 1) out[p] = table[values[p] + offset];
      continue;
    }
    for (let p = y * width + x0; p < end; p += 1) {
      const v = values[p];
      if (!simple) out[p] = wordOf(colours, v);
      else if (v - v !== 0) out[p] = BLACK_WORD;
      else {
        const s = (v - black) * scale;
        out[p] = words[s <= 0 ? 0 : s >= 4095 ? 4095 : s | 0];
      }
    }
  }
  return rgba;
}

/** Colour data (the stretch per channel, no colormap), or an unaligned `rgba`. */
function paintChannels({ black, white, span, scale, saturation, steps, words }, values, rgba, channels) {
  const pixels = Math.floor(values.length / channels);
  const word = new Uint32Array(1);
  const bytes = new Uint8Array(word.buffer);
  for (let p = 0; p < pixels; p += 1) {
    const o = p * 4;
    if (channels === 1) {
      word[0] = wordOf({ black, white, span, scale, saturation, words }, values[p]);
      rgba[o] = bytes[0]; rgba[o + 1] = bytes[1]; rgba[o + 2] = bytes[2]; rgba[o + 3] = bytes[3];
      continue;
    }
    let saturated = false;
    for (let c = 0; c < channels && saturation !== null; c += 1) saturated ||= values[p * channels + c] >= saturation;
    if (saturated) {
      rgba[o] = SATURATED[0]; rgba[o + 1] = SATURATED[1]; rgba[o + 2] = SATURATED[2]; rgba[o + 3] = 255;
      continue;
    }
    for (let c = 0; c < 3; c += 1) {
      const v = values[p * channels + Math.min(c, channels - 1)];
      let s = Number.isFinite(v) ? (v - black) * scale : 0;
      s = s <= 0 ? 0 : s >= 4095 ? 4095 : s | 0;
      rgba[o + c] = steps[s];
    }
    rgba[o + 3] = 255;
  }
  return rgba;
}

/** Black and white points that leave out the darkest and brightest `clip` share of the
 *  finite pixels of a histogram ({edges, counts}, as /api/histogram answers). */
export function autoLevels({ edges, counts }, clip = 0.001) {
  const sums = Array.isArray(counts[0]) ? counts[0].map((_, i) => counts.reduce((s, c) => s + c[i], 0)) : counts;
  const total = sums.reduce((a, b) => a + b, 0);
  if (!total) return { black: edges[0], white: edges[edges.length - 1] };
  const low = total * clip;
  const high = total * (1 - clip);
  let seen = 0;
  let black = edges[0];
  let white = edges[edges.length - 1];
  let blackSet = false;
  for (let i = 0; i < sums.length; i += 1) {
    seen += sums[i];
    if (!blackSet && seen > low) { black = edges[i]; blackSet = true; }
    if (seen >= high) { white = edges[i + 1]; break; }
  }
  return { black, white: white > black ? white : edges[edges.length - 1] };
}
