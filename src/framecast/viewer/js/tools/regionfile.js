// Regions as text (docs/science.md, "Regions"): DS9 region files, the URL fragment, and the
// /api/stats query of each region. Pure: strings in, objects out.
//
// A region is one of
//   {kind: "box", x, y, w, h}         whole pixels x..x+w-1, y..y+h-1 (as the Region tool)
//   {kind: "circle", cx, cy, r}       image pixels, pixel centres at whole numbers
//   {kind: "polygon", points: [[x, y], …]}   likewise
// and covers the pixels whose centres lie inside it (the server counts them).
//
// DS9's `image` coordinates put the centre of the first pixel at (1, 1) and count rows
// bottom-up, as FITS does; framecast counts from 0 at the top. So the pixel centre (x, y)
// of a frame `height` rows high is DS9's (x + 1, height - y), and a DS9 region drawn on the
// frame's .fits file (docs/science.md, "Raw files") covers the same pixels as here.

export const MAX_REGIONS = 20;
/** Most corners of a polygon until the server says its own (api/status's
 *  `limits.max_polygon_corners`: that setting's default). */
export const MAX_CORNERS = 100;
const MOST_CORNERS = 400;  // that setting's highest value: a fragment's polygons up to this
const LIMIT = 1e7;         // image pixels: no frame is this large

const round = (v) => Math.round(v * 1e4) / 1e4;  // DS9 text: at most 4 decimals
const text = (v) => String(round(v));

// ---- DS9 ---------------------------------------------------------------------------------

/** A DS9 region file (version 4.1, `image` coordinates) of `regions` on a frame `height`
 *  rows high. */
export function toDs9(regions, height) {
  const lines = ["# Region file format: DS9 version 4.1", "# written by framecast (image pixels: DS9's 1-based, rows bottom-up)",
    "global color=green width=1", "image"];
  for (const region of regions) {
    if (region.kind === "box") {
      const { x, y, w, h } = region;
      lines.push(`box(${text(x + (w + 1) / 2)},${text(height - y - (h - 1) / 2)},${text(w)},${text(h)},0)`);
    } else if (region.kind === "circle") {
      lines.push(`circle(${text(region.cx + 1)},${text(height - region.cy)},${text(region.r)})`);
    } else if (region.kind === "polygon") {
      lines.push(`polygon(${region.points.map(([x, y]) => `${text(x + 1)},${text(height - y)}`).join(",")})`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The regions of DS9 region file `source` on a frame `height` rows high: `{regions,
 *  skipped}`, `skipped` listing what was left out and why (other shapes, other coordinate
 *  systems, excluded regions, polygons of more than `maxCorners` corners). */
export function fromDs9(source, height, maxCorners = MAX_CORNERS) {
  const regions = [];
  const skipped = [];
  let system = "physical";  // DS9's default until a line names one
  const statements = String(source).split(/\r?\n/).flatMap((line) => {
    const cut = line.indexOf("#");
    return (cut >= 0 ? line.slice(0, cut) : line).split(";");
  });
  for (const raw of statements) {
    const statement = raw.trim();
    if (!statement) continue;
    const word = /^[+-]?([a-z0-9]+)/i.exec(statement);
    const name = word ? word[1].toLowerCase() : "";
    if (name === "global") continue;
    if (/^(image|physical|fk4|fk5|icrs|galactic|ecliptic|wcs[a-z]?|linear|amplifier|detector|b1950|j2000)$/i.test(statement)) {
      system = statement.toLowerCase();
      continue;
    }
    if (regions.length >= MAX_REGIONS) {
      skipped.push(`${statement.slice(0, 40)}: more than ${MAX_REGIONS} regions`);
      continue;
    }
    if (statement.startsWith("-")) {
      skipped.push(`${statement.slice(0, 40)}: an excluded region`);
      continue;
    }
    if (system !== "image") {
      skipped.push(`${statement.slice(0, 40)}: in ${system} coordinates; save the regions in image coordinates`);
      continue;
    }
    const region = shapeOf(name, statement.slice(word ? word[0].length : 0), height, maxCorners);
    if (typeof region === "string") skipped.push(`${statement.slice(0, 40)}: ${region}`);
    else regions.push(region);
  }
  return { regions, skipped };
}

/** The region of one DS9 shape statement (its arguments after the name), or why not. */
function shapeOf(name, rest, height, maxCorners) {
  const args = rest.replace(/^\s*\(/, "").replace(/\)\s*$/, "").split(/[\s,]+/).filter(Boolean);
  const values = args.map((a) => Number(a.replace(/i$/, "")));  // "12i": image units
  if (!values.every((v) => Number.isFinite(v) && Math.abs(v) < LIMIT)) return "its numbers are not plain image pixels";
  const fromDs9Point = (X, Y) => [X - 1, height - Y];
  if (name === "circle") {
    if (values.length !== 3 || !(values[2] > 0)) return "a circle needs x y radius";
    const [cx, cy] = fromDs9Point(values[0], values[1]);
    return { kind: "circle", cx: round(cx), cy: round(cy), r: values[2] };
  }
  if (name === "box") {
    if (values.length !== 4 && values.length !== 5) return "a box needs x y width height [angle]";
    const [X, Y, w, h, angle = 0] = values;
    if (!(w > 0 && h > 0)) return "a box needs a width and height above 0";
    const [cx, cy] = fromDs9Point(X, Y);
    const x0 = cx - w / 2 + 0.5;
    const y0 = cy - h / 2 + 0.5;
    const whole = (v) => Math.abs(v - Math.round(v)) < 1e-6;
    if (angle % 360 === 0 && whole(x0) && whole(y0) && whole(w) && whole(h)) {
      return { kind: "box", x: Math.round(x0), y: Math.round(y0), w: Math.round(w), h: Math.round(h) };
    }
    const turn = (-angle * Math.PI) / 180;  // DS9's angle is counter-clockwise, y up
    const corners = [[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]];
    return {
      kind: "polygon",
      points: corners.map(([dx, dy]) => [
        round(cx + dx * Math.cos(turn) - dy * Math.sin(turn)),
        round(cy + dx * Math.sin(turn) + dy * Math.cos(turn)),
      ]),
    };
  }
  if (name === "polygon") {
    if (values.length % 2 || values.length < 6) return "a polygon needs 3 corners or more";
    if (values.length > 2 * maxCorners) return `${values.length / 2} corners, more than the server's max_polygon_corners (${maxCorners})`;
    const points = [];
    for (let i = 0; i < values.length; i += 2) points.push(fromDs9Point(values[i], values[i + 1]).map(round));
    return { kind: "polygon", points };
  }
  return `${name || "this"} is not a shape framecast measures (box, circle and polygon are)`;
}

// ---- the URL fragment and the server's question ---------------------------------------------

/** `rg=` of the URL fragment: regions separated by `;`, each `b:x,y,w,h`, `c:cx,cy,r` or
 *  `p:x1,y1,x2,y2,…`. */
export function formatRegions(regions) {
  return regions.map((region) => {
    if (region.kind === "box") return `b:${region.x},${region.y},${region.w},${region.h}`;
    if (region.kind === "circle") return `c:${text(region.cx)},${text(region.cy)},${text(region.r)}`;
    return `p:${region.points.map(([x, y]) => `${text(x)},${text(y)}`).join(",")}`;
  }).join(";");
}

/** The regions of an `rg=` value (what is malformed is left out). */
export function parseRegions(value) {
  if (typeof value !== "string" || !value) return [];
  const regions = [];
  for (const part of value.split(";").slice(0, MAX_REGIONS)) {
    const match = /^([bcp]):(.+)$/.exec(part);
    if (!match) continue;
    const values = match[2].split(",").map(Number);
    if (!values.every((v) => Number.isFinite(v) && Math.abs(v) < LIMIT)) continue;
    if (match[1] === "b" && values.length === 4 && values.every(Number.isInteger) && values[2] > 0 && values[3] > 0) {
      regions.push({ kind: "box", x: values[0], y: values[1], w: values[2], h: values[3] });
    } else if (match[1] === "c" && values.length === 3 && values[2] > 0) {
      regions.push({ kind: "circle", cx: values[0], cy: values[1], r: values[2] });
    } else if (match[1] === "p" && values.length % 2 === 0 && values.length >= 6 && values.length <= 2 * MOST_CORNERS) {
      const points = [];
      for (let i = 0; i < values.length; i += 2) points.push([values[i], values[i + 1]]);
      regions.push({ kind: "polygon", points });
    }
  }
  return regions;
}

/** The query of /api/stats for `region` on a frame of `width` × `height`: a box inside the
 *  frame as x, y, w, h; one over its edge as the polygon of its outline (the server counts
 *  the pixels inside the frame). */
export function statsQuery(region, width, height) {
  if (region.kind === "box") {
    const { x, y, w, h } = region;
    if (x >= 0 && y >= 0 && x + w <= width && y + h <= height) return `x=${x}&y=${y}&w=${w}&h=${h}`;
    const [a, b, c, d] = [x - 0.5, y - 0.5, x + w - 0.5, y + h - 0.5];
    return `polygon=${[a, b, c, b, c, d, a, d].join(",")}`;
  }
  if (region.kind === "circle") return `circle=${text(region.cx)},${text(region.cy)},${text(region.r)}`;
  return `polygon=${region.points.map(([x, y]) => `${text(x)},${text(y)}`).join(",")}`;
}

/** One line naming `region` for people. */
export function describe(region) {
  if (region.kind === "box") return `box x ${region.x}, y ${region.y}, ${region.w} × ${region.h} px`;
  if (region.kind === "circle") return `circle (${text(region.cx)}, ${text(region.cy)}), r ${text(region.r)} px`;
  return `polygon of ${region.points.length} corners`;
}
