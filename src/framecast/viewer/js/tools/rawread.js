// A module worker that reads a frame's raw data whole (SPEC §11.2: <seq>.npy) off the page's
// thread: the bytes arrive, are parsed, counted into a histogram and reduced into the
// pyramid of means here, while the page goes on drawing; the page gets the numbers back
// without a copy (transferred buffers). Started by analysis.js (`readWhole`); no DOM here.
//
// Messages in: {id, url, maxLevel} to read, {id, abort: true} to give a read up.
// Messages out: {id, dtype, shape, fortran, kind, buffer, byteOffset, length, histogram,
// levels: [{level, width, height, data}]} or {id, error}.

import { parseNpy } from "./npy.js";
import { histogram, pyramid } from "./rawtiles.js";

const reads = new Map();  // id → AbortController of the reads under way

self.addEventListener("message", async ({ data }) => {
  const { id, url, maxLevel, abort } = data;
  if (abort) {
    if (reads.has(id)) reads.get(id).abort();
    reads.delete(id);
    return;
  }
  const reading = new AbortController();
  reads.set(id, reading);
  try {
    const response = await fetch(url, { cache: "force-cache", signal: reading.signal });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const npy = parseNpy(await response.arrayBuffer());
    if (reading.signal.aborted) return;
    const frame = pyramid(npy, maxLevel);
    const levels = [];
    for (let level = maxLevel - 1; level >= 0; level -= 1) {
      const { width, height, data: means } = frame.level(level);
      levels.push({ level, width, height, data: means });
    }
    const values = npy.data;
    self.postMessage({
      id,
      dtype: npy.dtype,
      shape: npy.shape,
      fortran: npy.fortran,
      kind: values.constructor.name,
      buffer: values.buffer,
      byteOffset: values.byteOffset,
      length: values.length,
      histogram: histogram(values),
      levels,
    }, [values.buffer, ...levels.map((level) => level.data.buffer)]);
  } catch (error) {
    if (!reading.signal.aborted) self.postMessage({ id, error: String((error && error.message) || error) });
  } finally {
    reads.delete(id);
  }
});
