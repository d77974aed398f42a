// The loupe (docs/viewer.md, "Loupe and pixel table"): the native pixels around the pointer,
// magnified, next to it — the raw values of /api/pixel?r= painted through this viewer's
// levels when they are on, else from the darkest to the brightest of the pixels shown; the
// pointer's pixel outlined. A canvas laid over the image; no network.

import { paint } from "./colour.js";
import { rawNumber } from "./pixeltable.js";

export const LOUPE_RADIUS = 8;     // 17 × 17 native pixels
const CELL_PX = 8;                 // screen pixels per native pixel
const GAP_PX = 24;                 // from the pointer to the loupe's corner

export class Loupe {
  /** `host`: the element the loupe is laid in (over the image); `toScreen(x, y)`: an image
   *  point to {x, y} in the host's pixels. */
  constructor(host, { toScreen }) {
    this.toScreen = toScreen;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "tools-loupe";
    this.canvas.id = "tools-loupe";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "The pixels around the pointer, magnified");
    this.canvas.hidden = true;
    const side = (2 * LOUPE_RADIUS + 1) * CELL_PX;
    this.canvas.width = side;
    this.canvas.height = side;
    host.append(this.canvas);
  }

  hide() {
    this.canvas.hidden = true;
  }

  /** Show `around` ({x, y, values}) centred on `pixel` ({x, y}), painted with `levels`
   *  ({black, white, stretch, colormap, …}) or, when null, from its own darkest to its
   *  brightest finite value. */
  show(around, pixel, levels) {
    const size = 2 * LOUPE_RADIUS + 1;
    const rows = around.values;
    const channels = Array.isArray(rows[0] && rows[0][0]) ? rows[0][0].length : 1;
    const values = new Float64Array(size * size * channels).fill(NaN);
    for (let j = 0; j < rows.length; j += 1) {
      for (let i = 0; i < rows[j].length; i += 1) {
        const gx = around.x + i - (pixel.x - LOUPE_RADIUS);
        const gy = around.y + j - (pixel.y - LOUPE_RADIUS);
        if (gx < 0 || gy < 0 || gx >= size || gy >= size) continue;
        const value = rawNumber(rows[j][i]);
        if (channels === 1) values[gy * size + gx] = value;
        else value.forEach((v, c) => { values[(gy * size + gx) * channels + c] = v; });
      }
    }
    const rgba = new Uint8ClampedArray(size * size * 4);
    paint(values, rgba, levels || ownRange(values), channels);
    const g = this.canvas.getContext("2d");
    const small = new OffscreenCanvas(size, size);
    small.getContext("2d").putImageData(new ImageData(rgba, size, size), 0, 0);
    g.imageSmoothingEnabled = false;
    g.drawImage(small, 0, 0, this.canvas.width, this.canvas.height);
    g.strokeStyle = "#00e5ff";
    g.lineWidth = 2;
    g.strokeRect(LOUPE_RADIUS * CELL_PX + 1, LOUPE_RADIUS * CELL_PX + 1, CELL_PX - 2, CELL_PX - 2);
    this._place(pixel);
    this.canvas.hidden = false;
  }

  /** Next to the pointer's pixel, on the side where it fits. */
  _place(pixel) {
    const at = this.toScreen(pixel.x + 0.5, pixel.y + 0.5);
    const host = this.canvas.parentElement.getBoundingClientRect();
    const side = this.canvas.width;
    const left = at.x + GAP_PX + side > host.width ? at.x - GAP_PX - side : at.x + GAP_PX;
    const top = at.y + GAP_PX + side > host.height ? at.y - GAP_PX - side : at.y + GAP_PX;
    this.canvas.style.left = `${Math.max(0, left)}px`;
    this.canvas.style.top = `${Math.max(0, top)}px`;
  }
}

/** Grey levels from the darkest to the brightest finite value of `values`. */
function ownRange(values) {
  let black = Infinity;
  let white = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < black) black = v;
    if (v > white) white = v;
  }
  if (!(black < white)) return { black: black - 1, white: Number.isFinite(white) ? white : 1 };
  return { black, white, stretch: "linear", colormap: "grey" };
}
