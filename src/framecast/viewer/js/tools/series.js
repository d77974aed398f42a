// Metadata over time (docs/viewer.md): the numeric metadata values of the frames seen, by key,
// and whether a value crosses a threshold. Pure: no DOM, no network.

/** Keep at most this many frames (the server's history is 100 by default). */
const MAX_FRAMES = 2000;

export class MetaSeries {
  constructor() {
    this.frames = new Map();   // seq → {seq, time, values: {key: number}}
  }

  /** Record the metadata (data.json shape) of frame `seq`. */
  add(seq, metadata) {
    if (!Number.isInteger(seq) || !metadata || typeof metadata !== "object") return;
    const values = {};
    for (const [key, value] of Object.entries(metadata)) {
      if (key !== "framecast" && typeof value === "number" && Number.isFinite(value)) values[key] = value;
    }
    const own = metadata.framecast && typeof metadata.framecast === "object" ? metadata.framecast : {};
    this.frames.set(seq, { seq, time: typeof own.time === "number" ? own.time : null, values });
    if (this.frames.size > MAX_FRAMES) {
      const oldest = Math.min(...this.frames.keys());
      this.frames.delete(oldest);
    }
  }

  has(seq) {
    return this.frames.has(seq);
  }

  /** Forget everything (a new server run numbers its frames from 1 again). */
  clear() {
    this.frames.clear();
  }

  /** Every key that had a numeric value, sorted. */
  keys() {
    const keys = new Set();
    for (const frame of this.frames.values()) Object.keys(frame.values).forEach((k) => keys.add(k));
    return [...keys].sort();
  }

  /** [[seq, value], …] of `key`, oldest first. */
  points(key) {
    return [...this.frames.values()]
      .filter((f) => key in f.values)
      .sort((a, b) => a.seq - b.seq)
      .map((f) => [f.seq, f.values[key]]);
  }
}

/** True when `value` crosses `threshold` ({direction: "above"|"below", value}). */
export function crosses(value, threshold) {
  if (!threshold || typeof value !== "number" || !Number.isFinite(value)) return false;
  return threshold.direction === "below" ? value < threshold.value : value > threshold.value;
}
