// A frame's raw pixels as the raw tiles' pyramid (docs/science.md, "Raw tiles": TileSize
// 254, Overlap 1; the top level holds the raw pixels in their dtype, lower levels float32
// means): its geometry, the pyramid made from a frame read whole, a rectangle of one level
// read at once, tiles cut from them, a pixel's value, and the histogram. Pure: numbers in,
// numbers out; no DOM, no network.

export const TILE_SIZE = 254;
export const OVERLAP = 1;

/** The DZI geometry of a width × height image (as the server cuts it). Pure. */
export function dziLevels(width, height) {
  const maxLevel = Math.ceil(Math.log2(Math.max(1, width, height)));
  return { maxLevel, size: (level) => {
    const scale = 2 ** (maxLevel - level);
    return { width: Math.ceil(width / scale), height: Math.ceil(height / scale) };
  } };
}

/** Tile (col, row)'s pixels in a level of levelWidth × levelHeight, overlap included:
 *  {x0, y0, x1, y1}. Pure. */
export function tileRect(col, row, levelWidth, levelHeight) {
  return {
    x0: col * TILE_SIZE - (col > 0 ? OVERLAP : 0),
    y0: row * TILE_SIZE - (row > 0 ? OVERLAP : 0),
    x1: Math.min((col + 1) * TILE_SIZE + OVERLAP, levelWidth),
    y1: Math.min((row + 1) * TILE_SIZE + OVERLAP, levelHeight),
  };
}

/** The tile (level, col, row) holding full-resolution pixel (x, y), and the pixel's place
 *  in it: {col, row, ix, iy}. Pure. */
export function tileOf(x, y) {
  const col = Math.floor(x / TILE_SIZE);
  const row = Math.floor(y / TILE_SIZE);
  const { x0, y0 } = tileRect(col, row, Infinity, Infinity);
  return { col, row, ix: x - x0, iy: y - y0 };
}

/** Whether `area` ({level, x0, y0, x1, y1}) is the whole top level of a width × height
 *  frame. Pure. */
export function wholeFrame({ level, x0, y0, x1, y1 }, width, height, maxLevel) {
  return level === maxLevel && x0 === 0 && y0 === 0 && x1 === width && y1 === height;
}

/** The value(s) of pixel (x, y) of `values` ({data, exact?, dtype}: rows of `width`
 *  pixels, `channels` interleaved; `exact`, when given, the values as published):
 *  {value: number | bigint | array of them, dtype}. Pure. */
export function pixelOf({ data, exact, dtype }, width, channels, x, y) {
  const from = exact || data;
  const at = (y * width + x) * channels;
  const value = channels === 1 ? from[at] : Array.from(from.subarray(at, at + channels));
  return { value, dtype };
}

/** The pixels x0 ≤ x < x1, y0 ≤ y < y1 of `data` (rows of `width` pixels, `channels`
 *  interleaved). Pure. */
function cropped(data, width, channels, { x0, y0, x1, y1 }) {
  const w = x1 - x0;
  const out = new data.constructor(w * (y1 - y0) * channels);
  for (let y = y0; y < y1; y += 1) {
    out.set(data.subarray((y * width + x0) * channels, (y * width + x1) * channels), (y - y0) * w * channels);
  }
  return out;
}

/** `rect` of `values` ({data, exact?}, rows of `width` pixels, `channels` interleaved),
 *  shaped like a parsed .npy of `dtype` (`exact` cut too when given). Pure. */
function crop({ data, exact }, width, channels, rect, dtype) {
  const w = rect.x1 - rect.x0;
  const h = rect.y1 - rect.y0;
  const shape = channels > 1 ? [h, w, channels] : [h, w];
  const tile = { dtype, shape, data: cropped(data, width, channels, rect) };
  if (exact) tile.exact = cropped(exact, width, channels, rect);
  return tile;
}

/** A rectangle of one level read from the server: `npy` (parsed) holds `area` = {level,
 *  x0, y0, x1, y1} of a pyramid of maxLevel + 1 levels. `cut(level, col, row, levelWidth,
 *  levelHeight)` gives a tile that lies wholly inside it, else null; `valueAt(x, y)` the raw
 *  value of a full-resolution pixel inside it (top level only), else null. Pure. */
export function areaOf(npy, area, maxLevel) {
  const { level, x0, y0, x1, y1 } = area;
  const [height, width] = npy.shape;
  if (width !== x1 - x0 || height !== y1 - y0) throw new RangeError(`a ${width}×${height} area is not ${x1 - x0}×${y1 - y0}`);
  const channels = npy.shape.length > 2 ? npy.shape[2] : 1;
  return {
    dtype: npy.dtype,
    channels,
    maxLevel,
    area,
    top: null,
    cut(at, col, row, levelWidth, levelHeight) {
      const rect = tileRect(col, row, levelWidth, levelHeight);
      if (at !== level || rect.x0 < x0 || rect.y0 < y0 || rect.x1 > x1 || rect.y1 > y1) return null;
      const local = { x0: rect.x0 - x0, y0: rect.y0 - y0, x1: rect.x1 - x0, y1: rect.y1 - y0 };
      return crop(npy, width, channels, local, npy.dtype);
    },
    valueAt(x, y) {
      if (level !== maxLevel || x < x0 || y < y0 || x >= x1 || y >= y1) return null;
      return pixelOf(npy, width, channels, x - x0, y - y0);
    },
  };
}

/** The DZI pyramid of a whole frame (a parsed .npy), as the server would cut it
 *  (docs/science.md): level maxLevel is the raw data; the level 2^k times smaller holds, as
 *  float32, the mean of the raw pixels of each 2^k × 2^k block (cut at the edges). A level is made only
 *  when first asked for (`level(k)`), from the float64 block sums of the level above it, so
 *  that every mean is exact and the levels nobody looks at cost nothing. Pure. */
export function pyramid(npy, maxLevel) {
  const [height, width] = npy.shape;
  const channels = npy.shape.length > 2 ? npy.shape[2] : 1;
  const top = { width, height, data: npy.data, exact: npy.exact, sums: npy.data };
  const made = new Map([[maxLevel, top]]);
  const level = (k) => {
    if (made.has(k)) return made.get(k);
    if (!(k >= 0 && k < maxLevel)) throw new RangeError(`no level ${k} in a pyramid of ${maxLevel + 1}`);
    const above = level(k + 1);
    const sums = halve(above.sums, above.width, above.height, channels);
    const made_ = { ...sums, data: means(sums, width, height, 2 ** (maxLevel - k), channels) };
    made.set(k, made_);
    return made_;
  };
  const frame = {
    dtype: npy.dtype, channels, maxLevel, top, level,
    cut: (at, col, row) => cutTile(frame, at, col, row),
    valueAt: (x, y) => pixelOf(npy, width, channels, x, y),
  };
  return frame;
}

/** The sums of the 2 × 2 blocks of `values` (width × height, `channels` interleaved), as
 *  float64 (exact for every integer frame): {width, height, sums}. One channel: each sum is
 *  written once, (top pair) + (bottom pair), the order the row-by-row sums had. */
function halve(values, width, height, channels) {
  const nw = Math.ceil(width / 2);
  const nh = Math.ceil(height / 2);
  const sums = new Float64Array(nw * nh * channels);
  if (channels === 1) {
    const even = width - (width % 2);
    for (let j = 0; j < nh; j += 1) {
      const top = 2 * j * width;
      const bottom = top + width;
      let to = j * nw;
      let i = 0;
      if (2 * j + 1 < height) {
        for (; i < even; i += 2, to += 1) {
          sums[to] = (values[top + i] + values[top + i + 1]) + (values[bottom + i] + values[bottom + i + 1]);
        }
        if (i < width) sums[to] = values[top + i] + values[bottom + i];
      } else {
        for (; i < even; i += 2, to += 1) sums[to] = values[top + i] + values[top + i + 1];
        if (i < width) sums[to] = values[top + i];
      }
    }
  } else {
    for (let j = 0; j < height; j += 1) {
      for (let i = 0; i < width; i += 1) {
        const to = ((j >> 1) * nw + (i >> 1)) * channels;
        const from = (j * width + i) * channels;
        for (let c = 0; c < channels; c += 1) sums[to + c] += values[from + c];
      }
    }
  }
  return { width: nw, height: nh, sums };
}

/** Block sums to float32 means: the blocks are `scale` full-resolution pixels a side, cut
 *  at the frame's edges (`width` × `height`). */
function means({ width, height, sums }, fullWidth, fullHeight, scale, channels) {
  const out = new Float32Array(sums.length);
  const across = new Float64Array(width);
  for (let i = 0; i < width; i += 1) across[i] = Math.min(scale, fullWidth - i * scale);
  for (let j = 0; j < height; j += 1) {
    const rows = Math.min(scale, fullHeight - j * scale);
    const row = j * width;
    if (channels === 1) {
      for (let i = 0; i < width; i += 1) out[row + i] = sums[row + i] / (rows * across[i]);
      continue;
    }
    for (let i = 0; i < width; i += 1) {
      const count = rows * across[i];
      const at = (row + i) * channels;
      for (let c = 0; c < channels; c += 1) out[at + c] = sums[at + c] / count;
    }
  }
  return out;
}

/** Tile (level, col, row) of a pyramid, with its overlap, shaped like a parsed .npy. Pure. */
export function cutTile(frame, level, col, row) {
  const values = frame.level(level);
  const { width, height } = values;
  const dtype = level === frame.maxLevel ? frame.dtype : "float32";
  return crop(values, width, frame.channels, tileRect(col, row, width, height), dtype);
}

// Integer kinds counted value by value (a tally of every possible value, then binned).
const TALLIES = { Uint8Array: [0, 256], Int8Array: [128, 256], Uint16Array: [0, 65536], Int16Array: [32768, 65536] };

/** A histogram of `values` (finite ones; `channels` interleaved, summed over all): {min,
 *  max, edges, counts}, like /api/histogram. Pure. */
export function histogram(values, bins = 256) {
  const tally = TALLIES[values.constructor.name];
  if (tally) return tallied(values, bins, ...tally);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(min <= max)) return { min: null, max: null, edges: [0, 1], counts: [0] };
  const span = max - min || 1;
  const counts = new Array(bins).fill(0);
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    counts[Math.min(bins - 1, Math.floor(((v - min) / span) * bins))] += 1;
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => min + (span * i) / bins);
  return { min, max, edges, counts };
}

/** `histogram` of 8- or 16-bit integers: one pass that counts each value (index + `offset`
 *  in a table of `size`), then the same bins from the counts. */
function tallied(values, bins, offset, size) {
  const seen = new Uint32Array(size);
  if (offset === 0) for (let i = 0; i < values.length; i += 1) seen[values[i]] += 1;
  else for (let i = 0; i < values.length; i += 1) seen[values[i] + offset] += 1;
  let low = 0;
  while (low < size && seen[low] === 0) low += 1;
  if (low === size) return { min: null, max: null, edges: [0, 1], counts: [0] };
  let high = size - 1;
  while (seen[high] === 0) high -= 1;
  const min = low - offset;
  const max = high - offset;
  const span = max - min || 1;
  const counts = new Array(bins).fill(0);
  for (let index = low; index <= high; index += 1) {
    if (seen[index]) counts[Math.min(bins - 1, Math.floor(((index - offset - min) / span) * bins))] += seen[index];
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => min + (span * i) / bins);
  return { min, max, edges, counts };
}
