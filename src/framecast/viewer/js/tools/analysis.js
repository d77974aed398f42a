// The server's answers about a frame, as the tools read them (no DOM): the raw value of a
// pixel (/api/pixel, asked at most ten times a second), each kept frame's metadata
// (history/<seq>.json), and members of an answer's JSON text. Values are handed on as the
// text the server wrote, so a value is shown exactly as published (3.25e-05 stays 3.25e-05,
// a count stays a count) — JSON.parse would re-spell floats. The requests themselves go
// through the transport.

import { fetchAnswer, fetchJson } from "../transport.js";

/** The text of member `name` of a JSON object (its value as written), or null. Only the top
 *  level of the object is searched. */
export function memberText(json, name) {
  let depth = 0;
  let i = 0;
  const n = json.length;
  const skipString = (k) => {
    let j = k + 1;
    while (j < n && json[j] !== '"') j += json[j] === "\\" ? 2 : 1;
    return j + 1;
  };
  while (i < n) {
    const ch = json[i];
    if (ch === '"') {
      const end = skipString(i);
      if (depth === 1) {
        const key = JSON.parse(json.slice(i, end));
        let j = end;
        while (j < n && /\s/.test(json[j])) j += 1;
        if (json[j] === ":") {
          j += 1;
          while (j < n && /\s/.test(json[j])) j += 1;
          const start = j;
          let level = 0;
          while (j < n) {
            const c = json[j];
            if (c === '"') { j = skipString(j); continue; }
            if (c === "[" || c === "{") level += 1;
            else if (c === "]" || c === "}") {
              if (level === 0) break;
              level -= 1;
            } else if (c === "," && level === 0) break;
            j += 1;
          }
          if (key === name) return json.slice(start, j).trim();
          i = j;
          continue;
        }
      }
      i = end;
      continue;
    }
    if (ch === "{" || ch === "[") depth += 1;
    else if (ch === "}" || ch === "]") depth -= 1;
    i += 1;
  }
  return null;
}

/** A raw value as /api/pixel writes it, for display: numbers as written, NaN for null,
 *  inf and -inf for the strings, a list per channel. */
export function valueText(text) {
  if (text === null) return "–";
  const t = text.trim();
  if (t.startsWith("[")) {
    const inner = t.slice(1, -1).trim();
    return inner ? inner.split(",").map((part) => valueText(part)).join(", ") : "";
  }
  if (t === "null") return "NaN";
  if (t.startsWith('"')) return JSON.parse(t);
  return t;
}

/** A JSON.parse reviver that keeps integers beyond 2^53 exact, as BigInts (int64 and
 *  uint64 data), from the number's own text. */
function exactInteger(key, value, context) {
  if (typeof value !== "number" || Number.isSafeInteger(value) || !context || !/^-?\d+$/.test(context.source)) return value;
  return BigInt(context.source);
}

/** The pixel values of stream pages: `ask(seq, x, y, r)` resolves to {value, around,
 *  world}: the value's text (or null when the server has no raw data), with `r` > 0 the
 *  pixels within `r` as /api/pixel answers them ({x, y, values}: its rows), else null, and
 *  the pixel's {ra, dec} for a frame with a celestial WCS, else null; undefined
 *  when a newer ask replaced it. At most one request every `intervalMs`; a newer ask
 *  replaces one still waiting (the pointer moved on). */
export class PixelReader {
  constructor({ intervalMs = 100, answer = fetchAnswer } = {}) {
    this.intervalMs = intervalMs;
    this.answer = answer;
    this.last = 0;
    this.waiting = null;
    this.timer = null;
    this.requests = 0;
    this.unavailable = false;
  }

  ask(seq, x, y, r = 0) {
    return new Promise((resolve) => {
      if (this.waiting) this.waiting.resolve(undefined);  // superseded
      this.waiting = { seq, x, y, r, resolve };
      const due = this.last + this.intervalMs - performance.now();
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this._run(), Math.max(0, due));
    });
  }

  async _run() {
    const job = this.waiting;
    this.waiting = null;
    if (!job) return;
    this.last = performance.now();
    this.requests += 1;
    const query = `${job.seq !== null && job.seq !== undefined ? `seq=${job.seq}&` : ""}x=${job.x}&y=${job.y}${job.r ? `&r=${job.r}` : ""}`;
    const { status, text } = await this.answer(`api/pixel?${query}`);
    if (status === 404 && !job.seq) this.unavailable = true;
    if (text === null) {
      job.resolve({ value: null, around: null, world: null });
      return;
    }
    const around = job.r ? memberText(text, "around") : null;
    const world = memberText(text, "world");  // RA and Dec, for a frame with a WCS
    job.resolve({
      value: valueText(memberText(text, "value")),
      around: around ? JSON.parse(around, exactInteger) : null,
      world: world ? JSON.parse(world) : null,
    });
  }
}

/** Each kept frame's metadata (history/<seq>.json), read `parallel` at a time: a Map seq →
 *  data; a frame dropped meanwhile (or a server away) is left out. */
export async function fetchMetadata(seqs, { parallel = 4, read = (url) => fetchJson(url, { cache: "default" }) } = {}) {
  const found = new Map();
  const queue = [...seqs];
  const worker = async () => {
    while (queue.length) {
      const seq = queue.shift();
      try {
        found.set(seq, (await read(`history/${seq}.json`)).data);
      } catch {
        /* dropped meanwhile, or the server is away: that frame is left out */
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker));
  return found;
}

/** A JSON number as written, or a list of them, to a JS number (null → NaN; "inf"). */
export function toNumber(value) {
  if (value === null) return NaN;
  if (value === "inf") return Infinity;
  if (value === "-inf") return -Infinity;
  if (Array.isArray(value)) return value.reduce((a, b) => a + toNumber(b), 0);
  return Number(value);
}
