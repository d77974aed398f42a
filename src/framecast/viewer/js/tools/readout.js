// The pixel readout (docs/viewer.md, "The value under the pointer"): the image pixel under
// the pointer and its raw value in the status line, with no tool opened first — from the raw
// tiles in memory when levels are on, else asked of the server (/api/pixel, at most ten
// times a second) when the frame has raw data. With the pixel table or the loupe on, the
// same request brings the pixels around it (`r`), handed to `onAround`.

import { PixelReader } from "./analysis.js";
import { formatRaw } from "./rawtext.js";

/** A float value as the server wrote it (a float64 text: 3.2500000088475645e-05 for a
 *  float32, 40000.0) with the shortest digits of its own precision, as `formatRaw` prints
 *  it (3.25e-05, 40000); lists per channel too; integers' text as written (exact). */
export function narrowText(text, dtype) {
  if (typeof dtype !== "string" || !dtype.startsWith("float")) return text;
  return text.split(", ").map((part) => {
    const number = Number(part);
    return Number.isFinite(number) ? formatRaw(number, dtype) : part;
  }).join(", ");
}

export class Readout {
  /** `line`: the status line the readout is written in; `inMemory(x, y)`: the raw value
   *  from the tiles in memory ({value, dtype}) or null; `radius()`: how many pixels around
   *  the pointer are wanted (0: none); `onAround(around, pixel, frame)`: they came
   *  ({x, y, values}, as /api/pixel answers them), or null (none, or off the image). */
  constructor(line, { inMemory, radius = () => 0, onAround = () => {} }) {
    this.line = line;
    this.inMemory = inMemory;
    this.radius = radius;
    this.onAround = onAround;
    this.pixels = new PixelReader();
    this.token = 0;
  }

  hide() {
    this.line.hidden = true;
    this.onAround(null, null, null);
  }

  /** Show pixel `pixel` ({x, y}) of `frame` ({seq, raw, dtype}); null hides the line. */
  async read(pixel, frame) {
    const token = (this.token += 1);  // only the newest call writes
    const out = this.line;
    if (!pixel || !frame) {
      if (!pixel) this.hide();
      return;
    }
    out.hidden = false;
    const where = `x ${pixel.x}, y ${pixel.y}`;
    const r = frame.raw && !this.pixels.unavailable ? this.radius() : 0;
    const inMemory = this.inMemory(pixel.x, pixel.y);
    if (inMemory) {
      out.textContent = `${where}: ${formatRaw(inMemory.value, inMemory.dtype)}`;
      if (!r) return;
    } else if (!frame.raw || this.pixels.unavailable) {
      out.textContent = where;
      return;
    } else if (!out.textContent.startsWith(`${where}: `)) {
      out.textContent = `${where}: …`;
    }
    const answer = await this.pixels.ask(frame.seq, pixel.x, pixel.y, r);
    if (token !== this.token || answer === undefined) return;  // a newer call writes
    if (!inMemory) {
      const { value } = answer;
      out.textContent = value === null ? where : `${where}: ${narrowText(value, frame.dtype)}`;
    }
    if (r) this.onAround(answer.around, pixel, frame);
  }
}
