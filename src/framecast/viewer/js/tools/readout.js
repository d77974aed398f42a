// The pixel readout (docs/viewer.md, "Scientific tools"): the image pixel under the pointer
// and its raw value — from the raw tiles in memory when levels are on, else asked of the
// server (/api/pixel, at most ten times a second) when the frame has raw data. The line is
// the tools' `#tools-readout`.

import { PixelReader } from "./analysis.js";
import { formatRaw } from "./rawtext.js";

/** A float32 value as the server wrote it (a float64 text, 3.2500000088475645e-05) with
 *  the digits the float32 has (3.25e-05), as NumPy prints it; lists per channel too. */
function float32Text(text) {
  return text.split(", ").map((part) => {
    const number = Number(part);
    return Number.isFinite(number) ? formatRaw(Math.fround(number), "float32") : part;
  }).join(", ");
}

export class Readout {
  /** `line`: the element the readout is written in; `inMemory(x, y)`: the raw value from
   *  the tiles in memory ({value, dtype}) or null. */
  constructor(line, { inMemory }) {
    this.line = line;
    this.inMemory = inMemory;
    this.pixels = new PixelReader();
    this.token = 0;
  }

  hide() {
    this.line.hidden = true;
  }

  /** Show pixel `pixel` ({x, y}) of `frame` ({seq, raw, dtype}); null hides the line. */
  async read(pixel, frame) {
    const token = (this.token += 1);  // only the newest call writes
    const out = this.line;
    if (!pixel || !frame) {
      if (!pixel) out.hidden = true;
      return;
    }
    out.hidden = false;
    const where = `x ${pixel.x}, y ${pixel.y}`;
    const inMemory = this.inMemory(pixel.x, pixel.y);
    if (inMemory) {
      out.textContent = `${where}: ${formatRaw(inMemory.value, inMemory.dtype)}`;
      return;
    }
    if (!frame.raw || this.pixels.unavailable) {
      out.textContent = where;
      return;
    }
    if (!out.textContent.startsWith(`${where}: `)) out.textContent = `${where}: …`;
    const value = await this.pixels.ask(frame.seq, pixel.x, pixel.y);
    if (token !== this.token || value === undefined) return;  // a newer call writes
    out.textContent = value === null ? where : `${where}: ${frame.dtype === "float32" ? float32Text(value) : value}`;
  }
}
