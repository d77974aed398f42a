// The tools panel's markup (docs/viewer.md, "Scientific tools"): the tool buttons, the levels
// controls, the pixel table, the region's and line's figures, metadata over time and the
// shortcuts. tools.js lays it in the image section and wires it. A string, nothing more.

import { LINE_FIGURES, REGION_FIGURES } from "./figures.js";
import { COLORMAPS, COLORMAP_NAMES, STRETCHES, STRETCH_NAMES } from "./colour.js";
import { PRESETS } from "./toolstate.js";
import { BUTTONS, SECTIONS } from "./astro.js";

const PRESET_NAMES = { zscale: "zscale", minmax: "min/max" };

export const PANEL = `
  <button type="button" class="tools-toggle" id="btn-tools" aria-expanded="false" aria-controls="tools-panel" title="Scientific tools (t)">Tools</button>
  <section class="tools-panel" id="tools-panel" aria-label="Scientific tools" hidden>
    <div class="tools-row" role="group" aria-label="Tools">
      <button type="button" data-tool="readout" aria-pressed="false" title="Pixel table: the raw values around the pointer (v)">Pixel table</button>
      <button type="button" data-tool="loupe" aria-pressed="false" title="Loupe: the native pixels around the pointer, magnified (o)">Loupe</button>
      <button type="button" data-tool="reticle" aria-pressed="false" title="Reticle (x)">Reticle</button>
      <button type="button" data-tool="scaleBar" aria-pressed="false" title="Scale bar (m)">Scale bar</button>
      <button type="button" data-tool="region" aria-pressed="false" title="Draw or move a region (r)">Region</button>
      <button type="button" data-tool="line" aria-pressed="false" title="Draw or move a line (/)">Line</button>
      ${BUTTONS}
      <button type="button" data-tool="point" aria-pressed="false" title="Send a pixel to the producer (p)" hidden>Point</button>
      <button type="button" data-tool="levels" aria-pressed="false" title="Levels on the raw data (c)">Levels</button>
      <button type="button" data-tool="overlays" aria-pressed="true" title="Show or hide the producer's overlays (y)">Overlays</button>
      <button type="button" data-tool="mark" aria-pressed="false" title="Place a mark every viewer sees (k)">Mark</button>
    </div>
    <div class="tools-row tools-together" id="tools-together" role="group" aria-label="Watching together"></div>
    <div class="tools-levels" id="tools-levels" hidden>
      <h3>Levels</h3>
      <canvas class="tools-hist" id="tools-hist" aria-label="Histogram of the frame on screen, with the black and white points"></canvas>
      <div class="tools-plot">
        <label>Black <input id="tools-black" type="text" inputmode="decimal" size="8"></label>
        <label>White <input id="tools-white" type="text" inputmode="decimal" size="8"></label>
        <select id="tools-preset" aria-label="Auto levels" title="What Auto sets black and white to, on every frame">${PRESETS.map((n) => `<option value="${n}">${PRESET_NAMES[n] || `${n} %`}</option>`).join("")}</select>
        <button type="button" id="tools-auto" aria-pressed="false" title="Auto: follow each new frame; off: hold these levels">Auto</button>
        <select id="tools-stretch" aria-label="Stretch">${STRETCHES.map((n) => `<option value="${n}">${STRETCH_NAMES[n] || n}</option>`).join("")}</select>
        <select id="tools-cmap" aria-label="Colormap">${COLORMAPS.map((n) => `<option value="${n}">${COLORMAP_NAMES[n]}</option>`).join("")}</select>
        <button type="button" id="tools-invert" aria-pressed="false" title="Invert the colormap">Invert</button>
        <button type="button" data-tool="saturation" aria-pressed="false" title="Paint saturated pixels red (h)">Saturation</button>
      </div>
      <p class="tools-last" id="tools-levels-note"></p>
    </div>
    <table class="tools-pixels" id="tools-pixels" aria-label="Raw values around the pointer" hidden></table>
    <p class="tools-note" id="tools-note" hidden></p>
    <p class="tools-mark" id="tools-region" hidden><span></span> <button type="button" class="remove" data-remove="region" aria-label="Remove the region">×</button></p>
    ${REGION_FIGURES}
    <p class="tools-mark" id="tools-line" hidden><span></span> <button type="button" class="remove" data-remove="line" aria-label="Remove the line">×</button></p>
    ${LINE_FIGURES}
    ${SECTIONS}
    <h3>Metadata over time</h3>
    <div class="tools-plot">
      <label>Key <select id="tools-plot-key" title="Plot a numeric metadata key (g)"><option value="">—</option></select></label>
      <label>Alert when <select id="tools-th-dir" aria-label="Threshold direction"><option value="above">above</option><option value="below">below</option></select>
        <input id="tools-th-value" type="text" inputmode="decimal" size="8" aria-label="Threshold" placeholder="value"></label>
      <label class="tools-check"><input type="checkbox" id="tools-notify"> notify</label>
    </div>
    <canvas class="tools-chart" id="tools-chart" aria-label="The chosen key over time"></canvas>
    <p class="tools-last" id="tools-plot-last"></p>
    <details class="tools-keys" id="tools-keys"><summary>Shortcuts</summary><table><tbody></tbody></table></details>
  </section>`;
