// The tools astronomers reach for in DS9 (docs/science.md, "Regions, stars and sky
// coordinates"), wired together for tools.js: boxes, circles and polygons (regions.js), the
// star tool and the focus aid (star.js), and RA/Dec under the pointer (sky.js). tools.js
// lays out their buttons and sections (BUTTONS, SECTIONS) and tells this what happens; the
// sky line is a second status line over the image, above the pixel readout's (which fills
// it: readout.js).

import { REGIONS_PANEL, Regions, SHAPE_BUTTONS, SHAPE_MODES } from "./regions.js";
import { STAR_BUTTONS, STAR_PANEL, StarTools } from "./star.js";
import { SkyLine } from "./sky.js";

/** The drawing modes of these tools: clicks and drags on the image are theirs. */
export const ASTRO_MODES = [...SHAPE_MODES, "star"];
export const BUTTONS = `${SHAPE_BUTTONS}
      ${STAR_BUTTONS}`;
export const SECTIONS = `${REGIONS_PANEL}
    ${STAR_PANEL}`;

export class Astro {
  /** `box`: the tools' box (holding BUTTONS and SECTIONS); `host`: the image area (the sky
   *  line is laid in it); `view`, `overlay`: the
   *  ImageView and the tools' ToolOverlay; `state`: the tools' state (its `shapes` and
   *  Region tool's `region`); `save()`: write the state to the URL; `frame()`: the frame
   *  on screen; `mode()`: the tools' drawing mode; `stream`: for file names. */
  constructor(box, { host, view, overlay, state, save, frame, mode, stream }) {
    this.view = view;
    this.frame = frame;
    this.focusButton = box.querySelector('[data-tool="focus"]');
    const line = document.createElement("p");
    line.className = "status-line sky-line";
    line.id = "tools-sky";
    line.hidden = true;
    host.append(line);
    this.sky = new SkyLine(line);
    this.regions = new Regions(box, {
      view, overlay, frame, extra: () => state.region, stream,
      changed: () => { state.shapes = this.regions.fragment; save(); },
    });
    this.star = new StarTools(box, {
      view, overlay, frame, picking: () => mode() === "star",
      region: () => (state.region ? { kind: "box", ...state.region } : this.regions.regions[0]),
      mark: (star) => this.regions.setStar(star),
    });
  }

  /** A frame is on screen: every region's figures, the star followed, the focus curve. */
  shown(frame) {
    this.regions.draw();
    this.regions.measure(frame);
    this.star.follow(frame);
    if (frame.latest) this.star.focusOn(frame);
  }

  /** The tools' drawing mode changed to `mode`. */
  setMode(mode) {
    this.regions.setMode(mode);
    if (ASTRO_MODES.includes(mode)) this.view.osd.element.classList.add("tools-drawing");  // the crosshair
  }

  toggleFocus() {
    this.star.setFocus(!this.star.focusing);
    this.focusButton.setAttribute("aria-pressed", String(this.star.focusing));
  }

  /** Close the polygon being drawn. */
  close() {
    this.regions.close();
  }
}
