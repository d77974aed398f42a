// Sky coordinates under the pointer (docs/science.md, "Sky coordinates"): for a frame whose
// metadata carry a celestial WCS (CTYPE1/CTYPE2 naming RA and Dec), RA and Dec of the
// hovered pixel, as the server computes them with astropy: the "world" of the one /api/pixel
// answer the readout asks for (readout.js, at most ten times a second), shown in
// sexagesimal and in degrees. A server without astropy answers no "world": the line then
// stays hidden.

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
  /** `line`: the element RA and Dec are written in (hidden when there are none). The
   *  pointer's one request (readout.js's /api/pixel) brings "world": this shows it. */
  constructor(line) {
    this.line = line;
  }

  /** Whether RA and Dec are wanted for `frame` ({seq, metadata, raw}): it has raw data
   *  and a celestial WCS. */
  wanted(frame) {
    return Boolean(frame && frame.raw && frame.seq !== null && hasSky(frame.metadata));
  }

  /** Show `world` ({ra, dec} in degrees, or null: hidden) for `pixel` ({x, y}). */
  show(pixel, world) {
    this.line.hidden = !world;
    if (!world) return;
    this.line.textContent = skyText(world.ra, world.dec);
    this.line.dataset.ra = String(world.ra);
    this.line.dataset.dec = String(world.dec);
    this.line.dataset.pixel = `${pixel.x},${pixel.y}`;
  }

  hide() {
    this.line.hidden = true;
  }
}
