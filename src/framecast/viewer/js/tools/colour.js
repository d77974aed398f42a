// Levels in the browser (docs/viewer.md): black and white points, a stretch and a colormap that
// turn raw values into display colours. Pure: numbers in, numbers out; no DOM, no network.

export const STRETCHES = ["linear", "sqrt", "log", "asinh"];
export const COLORMAPS = ["grey", "viridis", "inferno", "diverging"];
/** The saturation highlight's colour (docs/viewer.md): a pure red no colormap uses. */
export const SATURATED = [255, 0, 0];

const INTEGER_MAX = { uint8: 255, int8: 127, uint16: 65535, int16: 32767, uint32: 4294967295, int32: 2147483647 };

/** The level at which a frame saturates: its `saturation` metadata when a number, else its
 *  integer dtype's maximum; null for floats without one (as /api/stats counts them). */
export function saturationLevel(metadata, dtype) {
  if (metadata && typeof metadata.saturation === "number" && Number.isFinite(metadata.saturation)) return metadata.saturation;
  return INTEGER_MAX[dtype] ?? null;
}

const LOG_A = 1000;      // log stretch: log(1 + a·t) / log(1 + a)
const ASINH_A = 10;      // asinh stretch: asinh(a·t) / asinh(a)

/** `t` (0..1, the value between black and white) through `stretch`, still 0..1. */
export function stretch(t, name = "linear") {
  const u = t <= 0 ? 0 : t >= 1 ? 1 : t;
  switch (name) {
    case "sqrt": return Math.sqrt(u);
    case "log": return Math.log1p(LOG_A * u) / Math.log1p(LOG_A);
    case "asinh": return Math.asinh(ASINH_A * u) / Math.asinh(ASINH_A);
    default: return u;
  }
}

// Each map as a few anchor colours, evenly spaced from 0 to 1 and interpolated linearly in
// RGB: the published colours of viridis and inferno at tenths, and a blue–grey–red
// diverging map for signed data (0 at the middle when black = -white).
const ANCHORS = {
  grey: ["#000000", "#ffffff"],
  viridis: ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"],
  inferno: ["#000004", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60", "#cf4446", "#ed6925", "#fb9b06", "#f7d13d", "#fcffa4"],
  diverging: ["#3b4cc0", "#7b9ff9", "#c0d4f5", "#dddddd", "#f2cbb7", "#ee8468", "#b40426"],
};

function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const luts = new Map();

/** The colormap `name` as a 256-entry table: Uint8Array of 256 × [r, g, b]. */
export function lut(name) {
  const key = ANCHORS[name] ? name : "grey";
  if (luts.has(key)) return luts.get(key);
  const anchors = ANCHORS[key].map(rgb);
  const table = new Uint8Array(256 * 3);
  const spans = anchors.length - 1;
  for (let i = 0; i < 256; i += 1) {
    const position = (i / 255) * spans;
    const k = Math.min(spans - 1, Math.floor(position));
    const f = position - k;
    for (let c = 0; c < 3; c += 1) {
      table[i * 3 + c] = Math.round(anchors[k][c] + (anchors[k + 1][c] - anchors[k][c]) * f);
    }
  }
  luts.set(key, table);
  return table;
}

/** A 65536-step table from t to LUT index through `stretch` (so that painting a tile is one
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
 * The colours of `levels` = {black, white, stretch, colormap, saturation} for raw values of
 * the typed-array kind `kind` ("Uint16Array", "Float32Array", …), ready to paint with
 * `paintWith`: for 8- and 16-bit integers a table of the packed colour of every possible
 * value (one lookup per pixel), else a 4096-step table of packed colours for the
 * arithmetic path. Built once per change of levels, not per tile. Pure.
 */
export function colourTable({ black, white, stretch: name = "linear", colormap = "grey", saturation = null }, kind = "Float64Array") {
  if (!stretchTables.has(name)) stretchTables.set(name, stretchTable(name));
  const steps = stretchTables.get(name);
  const table = lut(colormap);
  const words = new Uint32Array(4096);
  for (let s = 0; s < 4096; s += 1) {
    const i = steps[s] * 3;
    words[s] = packed(table[i], table[i + 1], table[i + 2]);
  }
  const span = white - black;
  const scale = span !== 0 ? 4095 / span : 0;
  const colours = { kind, black, white, span, scale, saturation, steps, words, values: null, offset: 0 };
  if (kind in INTEGER_TABLES) {
    const offset = INTEGER_TABLES[kind];
    const values = new Uint32Array(INTEGER_SIZES[kind]);
    for (let index = 0; index < values.length; index += 1) values[index] = wordOf(colours, index - offset);
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
