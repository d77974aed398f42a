// Sky coordinates under the pointer (docs/science.md, "Sky coordinates"): for a frame whose
// metadata carry a celestial WCS (CTYPE1/CTYPE2 naming RA and Dec), RA and Dec of the
// hovered pixel, as the server computes them with astropy (/api/pixel's "world"; asked at
// most ten times a second), shown in sexagesimal and in degrees. A server without astropy
// answers no "world": the line then stays hidden.

import { fetchAnswer } from "../transport.js";

/** Whether `metadata` describe a celestial WCS the server can read. */
export function hasSky(metadata) {
  if (!metadata) return false;
  const types = [metadata.CTYPE1, metadata.CTYPE2].map((t) => String(t || "").toUpperCase().slice(0, 4)).sort();
  return types[0] === "DEC-" && types[1] === "RA--";
}

/** Right ascension `degrees` as hours, minutes and seconds: "00h42m44.330s". */
export function hours(degrees) {
  const total = Math.round((((degrees % 360) + 360) % 360) / 15 * 3600 * 1000);  // milliseconds of time
  const wrapped = total % (24 * 3600 * 1000);
  const h = Math.floor(wrapped / 3_600_000);
  const m = Math.floor((wrapped % 3_600_000) / 60_000);
  const s = (wrapped % 60_000) / 1000;
  return `${String(h).padStart(2, "0")}h${String(m).padStart(2, "0")}m${s.toFixed(3).padStart(6, "0")}s`;
}

/** Declination `degrees` as signed degrees, arcminutes and arcseconds: "+41°16′09.40″". */
export function arc(degrees) {
  const sign = degrees < 0 ? "-" : "+";
  const total = Math.round(Math.abs(degrees) * 3600 * 100);  // hundredths of an arcsecond
  const d = Math.floor(total / 360_000);
  const m = Math.floor((total % 360_000) / 6000);
  const s = (total % 6000) / 100;
  return `${sign}${String(d).padStart(2, "0")}°${String(m).padStart(2, "0")}′${s.toFixed(2).padStart(5, "0")}″`;
}

/** The lines shown for RA and Dec in degrees: sexagesimal, then degrees. */
export function skyText(ra, dec) {
  return `RA ${hours(ra)} Dec ${arc(dec)}\n(${ra.toFixed(6)}°, ${dec >= 0 ? "+" : ""}${dec.toFixed(6)}°)`;
}

export class SkyLine {
  /** `line`: the element RA and Dec are written in (hidden when there are none). */
  constructor(line, { intervalMs = 100 } = {}) {
    this.line = line;
    this.intervalMs = intervalMs;
    this.last = 0;
    this.timer = null;
    this.token = 0;
  }

  /** The pointer is on `pixel` ({x, y}, or null) of `frame` ({seq, metadata, raw}). */
  read(pixel, frame) {
    const token = (this.token += 1);
    clearTimeout(this.timer);
    if (!pixel || !frame || !frame.raw || frame.seq === null || !hasSky(frame.metadata)) {
      this.line.hidden = true;
      return;
    }
    const due = Math.max(0, this.last + this.intervalMs - performance.now());
    this.timer = setTimeout(async () => {
      this.last = performance.now();
      const answer = await fetchAnswer(`api/pixel?seq=${frame.seq}&x=${pixel.x}&y=${pixel.y}`);
      if (token !== this.token) return;  // the pointer moved on
      const world = answer.text ? JSON.parse(answer.text).world : null;
      this.line.hidden = !world;
      if (world) {
        this.line.textContent = skyText(world.ra, world.dec);
        this.line.dataset.ra = String(world.ra);
        this.line.dataset.dec = String(world.dec);
        this.line.dataset.pixel = `${pixel.x},${pixel.y}`;
      }
    }, due);
  }
}
