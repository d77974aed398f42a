// The pixel table (docs/viewer.md, "Loupe and pixel table"): the raw values of the 5 × 5
// pixels around the pointer, as /api/pixel?r= answers them, the pointer's pixel in the
// middle; column and row headings are the image x and y. Its root is a <table>.

import { formatRaw } from "./rawtext.js";

export const TABLE_RADIUS = 2;

/** A raw value of /api/pixel's JSON (null: NaN, "inf", "-inf", a list per channel) as a
 *  number (or a list of them). Pure. */
export function rawNumber(value) {
  if (Array.isArray(value)) return value.map(rawNumber);
  if (value === null) return NaN;
  if (value === "inf") return Infinity;
  if (value === "-inf") return -Infinity;
  return value;
}

export class PixelTable {
  /** `table`: the <table> element the values are written in. */
  constructor(table) {
    this.table = table;
  }

  clear() {
    this.table.replaceChildren();
  }

  /** Show the values of `around` ({x, y, values}) within TABLE_RADIUS of `pixel` ({x, y}),
   *  as NumPy prints values of `dtype`. */
  show(around, pixel, dtype) {
    const head = document.createElement("tr");
    head.append(cell("th", "y \\ x"));
    const xs = [];
    for (let x = pixel.x - TABLE_RADIUS; x <= pixel.x + TABLE_RADIUS; x += 1) {
      if (x < around.x || x >= around.x + (around.values[0] || []).length) continue;
      xs.push(x);
      head.append(cell("th", String(x), "col"));
    }
    const rows = [head];
    for (let y = pixel.y - TABLE_RADIUS; y <= pixel.y + TABLE_RADIUS; y += 1) {
      const row = around.values[y - around.y];
      if (!row) continue;
      const tr = document.createElement("tr");
      tr.append(cell("th", String(y), "row"));
      for (const x of xs) {
        const td = cell("td", formatRaw(rawNumber(row[x - around.x]), dtype || "float64"));
        if (x === pixel.x && y === pixel.y) td.className = "centre";
        tr.append(td);
      }
      rows.push(tr);
    }
    this.table.replaceChildren(...rows);
  }
}

function cell(kind, text, scope = null) {
  const element = document.createElement(kind);
  element.textContent = text;
  if (scope) element.scope = scope;
  return element;
}
