// The tools' keyboard shortcuts, in one list: what the tools panel lists, what the page's
// help shows, and what the key handler obeys. None clashes with the page's own keys
// (← → , . L B history; N night; I info; ? help; the image's arrows, W A S D, + - 0).
// Y shows or hides the producer's overlays, K is the Mark tool (docs/together.md).

import { typing } from "../controls.js";

export const TOOL_KEYS = [
  { key: "t", action: "tools", text: "show or hide the tools" },
  { key: "v", action: "readout", text: "pixel table: the raw values of the 5 × 5 pixels around the pointer" },
  { key: "o", action: "loupe", text: "loupe: the native pixels around the pointer, magnified" },
  { key: "x", action: "reticle", text: "reticle (drag its centre to move it)" },
  { key: "m", action: "scaleBar", text: "scale bar (from pixel_size and pixel_unit)" },
  { key: "r", action: "region", text: "draw, then move, a region (a rectangle)" },
  { key: "/", action: "line", text: "draw, then move, a line" },
  { key: "e", action: "box", text: "draw boxes, several at once (each with its figures)" },
  { key: "u", action: "circle", text: "draw circles: press at the centre, drag to the radius" },
  { key: "q", action: "polygon", text: "draw polygons: click each corner, then the first again" },
  { key: "Enter", label: "Enter", action: "close", text: "close the polygon being drawn" },
  { key: "j", action: "star", text: "star: a click measures the star there (FWHM, HFD, profile)" },
  { key: "z", action: "focus", text: "focus aid: FWHM and HFD of the region's brightest star per frame" },
  { key: "Delete", label: "Del", action: "remove", text: "remove the region or line being edited" },
  { key: "c", action: "levels", text: "levels: contrast, stretch and colormap on the raw data" },
  { key: "h", action: "saturation", text: "saturation highlight: saturated pixels in red (turns levels on)" },
  { key: "g", action: "plot", text: "plot a metadata key over time" },
  { key: "p", action: "point", text: "point: click a pixel, then Send (or click it again) to send it to the producer (operator)" },
  { key: "y", action: "overlays", text: "show or hide the producer's overlays" },
  { key: "k", action: "mark", text: "mark: a click places a point, a drag a shape, that every viewer sees" },
  { key: "Escape", label: "Esc", action: "done", text: "stop drawing or pointing" },
];

/** The action of a key press, or null. */
export function actionFor(key) {
  const found = TOOL_KEYS.find((k) => k.key === key || k.key === key.toLowerCase());
  return found ? found.action : null;
}

/** What the panel says while a drawing or pointing mode is on. */
export const MODE_NOTES = {
  region: "Drag on the image to draw a region; drag inside it to move it.",
  line: "Drag on the image to draw a line; drag along it to move it.",
  point: "Click a pixel, then Send (or click it again) to send it to the producer.",
  mark: "Click to place a point, or drag to draw the shape chosen below: every viewer sees it.",
  box: "Drag on the image to draw a box; drag inside a region to move it.",
  circle: "Press at the centre and drag to the radius; drag inside a region to move it.",
  polygon: "Click each corner, then the first one again (or Enter) to close; Esc drops it.",
  star: "Click a star to measure it.",
};

/** Call `act(action)` for each tool key pressed outside a text field: Esc only while `mode()`
 *  is a drawing mode (Esc is the dialogs' first), Enter only while a polygon is drawn (Enter
 *  is the focused button's first). */
export function onToolKeys(act, mode) {
  document.addEventListener("keydown", (event) => {
    if (typing(event) && event.key !== "Escape") return;
    const action = actionFor(event.key);
    if (!action) return;
    if (action === "done" && !mode()) return;
    if (action === "close" && mode() !== "polygon") return;
    event.preventDefault();
    act(action);
  });
}

/** Table rows (<tr>) for the shortcuts, with a heading row. */
export function helpRows() {
  const rows = [];
  const head = document.createElement("tr");
  const th = document.createElement("th");
  th.scope = "rowgroup";
  th.colSpan = 2;
  th.textContent = "Tools";
  head.append(th);
  rows.push(head);
  for (const { key, label, text } of TOOL_KEYS) {
    const tr = document.createElement("tr");
    const name = document.createElement("td");
    const kbd = document.createElement("kbd");
    kbd.textContent = label ?? key.toUpperCase();
    name.append(kbd);
    const what = document.createElement("td");
    what.textContent = text;
    tr.append(name, what);
    tr.dataset.tools = "";
    rows.push(tr);
  }
  return rows;
}
