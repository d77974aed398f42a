// The pixel readout (docs/viewer.md, "The value under the pointer"): the image pixel under
// the pointer and its raw value in the status line, with no tool opened first — from the raw
// tiles in memory when levels are on, else asked of the server (/api/pixel, at most ten
// times a second) when the frame has raw data. With the pixel table or the loupe on, the
// same request brings the pixels around it (`r`), and they show them; for a frame with a
// celestial WCS it brings RA and Dec too, for the sky line (sky.js). It makes the status
// line (one element, `#status-line`, at the bottom of the image area) and the loupe.

import { PixelReader } from "./analysis.js";
import { formatRaw } from "./rawtext.js";
import { Loupe, LOUPE_RADIUS } from "./loupe.js";
import { PixelTable, TABLE_RADIUS } from "./pixeltable.js";

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
  /** `host`: the image area (the status line and the loupe are laid in it); `table`: the
   *  pixel table's <table>; `state`: the tools' state (`readout`: the table, `loupe`,
   *  `open`); `toScreen(x, y)`: an image point in the host's pixels; `inMemory(x, y)`: the
   *  raw value from the tiles in memory ({value, dtype}) or null; `paintLevels()`: the
   *  levels the loupe paints with, or null (its own darkest to brightest); `sky`: the
   *  SkyLine (sky.js) that shows RA and Dec from the same answer, or null. */
  constructor(host, { table, state, toScreen, inMemory, paintLevels, sky = null }) {
    this.line = document.createElement("p");
    this.line.className = "status-line";
    this.line.id = "status-line";
    this.line.hidden = true;
    host.append(this.line);
    this.state = state;
    this.inMemory = inMemory;
    this.paintLevels = paintLevels;
    this.sky = sky;
    this.table = new PixelTable(table);
    this.loupe = new Loupe(host, { toScreen });
    this.pixels = new PixelReader();
    this.token = 0;
  }

  /** How many pixels around the pointer to ask for (0: none). */
  radius() {
    const { loupe, readout, open } = this.state;
    return loupe ? LOUPE_RADIUS : readout && open ? TABLE_RADIUS : 0;
  }

  hide() {
    this.line.hidden = true;
    this.loupe.hide();
    if (this.sky) this.sky.hide();
  }

  /** The pixels around the pointer came: the pixel table and the loupe show them. */
  _around(around, pixel, frame) {
    if (!around) {
      this.loupe.hide();
      return;
    }
    if (this.state.readout) this.table.show(around, pixel, frame.dtype);
    if (this.state.loupe) this.loupe.show(around, pixel, this.paintLevels());
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
    // RA and Dec come in the same answer as the value: one request per pointer position
    const sky = Boolean(this.sky && this.sky.wanted(frame)) && !this.pixels.unavailable;
    if (this.sky && !sky) this.sky.hide();
    const inMemory = this.inMemory(pixel.x, pixel.y);
    if (inMemory) {
      out.textContent = `${where}: ${formatRaw(inMemory.value, inMemory.dtype)}`;
      if (!r && !sky) return;
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
    if (r) this._around(answer.around, pixel, frame);
    if (sky) this.sky.show(pixel, answer.world);
  }
}
