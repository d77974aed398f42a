// Metadata over time (docs/viewer.md, "Scientific tools"): the key chosen from the numeric
// metadata of the frames seen (and of the kept frames, read once), its chart, the threshold
// and its alert banner on a frame that crosses it, and a system notification when a live
// frame crosses it. Its root is the tools' box; the state is the tools' (in the URL).

import { LineChart } from "./chart.js";
import { MetaSeries, crosses } from "./series.js";
import { fetchMetadata } from "./analysis.js";
import { parts } from "../elements.js";

export class TimePlot {
  /** `box`: the tools' box; `state`, `save()`: the tools' state and how to remember it;
   *  `alert`: the Banner of the threshold; `stream`: this page's stream; `keptFrames()`:
   *  the frames the server keeps; `frame()`: the frame on screen, as the tools know it. */
  constructor(box, { state, save, alert, stream, keptFrames, frame }) {
    this.el = parts(box, {
      key: "tools-plot-key", direction: "tools-th-dir", value: "tools-th-value", notify: "tools-notify",
      last: "tools-plot-last", chart: "tools-chart",
    });
    Object.assign(this, { state, save, alert, stream, keptFrames, frame });
    this.series = new MetaSeries();
    this.chart = new LineChart(this.el.chart, { xText: (seq) => `#${seq}` });
    this.alerted = false;       // the last live frame crossed the threshold
    this.filling = false;
    this._wire();
  }

  _wire() {
    const el = this.el;
    el.key.addEventListener("change", () => {
      this.state.plot = el.key.value || null;
      this.alerted = false;
      this.save();
      this.refresh();
      this.thresholdBanner();
      if (this.state.plot) this.fill();
    });
    const threshold = () => {
      const text = el.value.value.trim();
      const value = Number(text);
      this.state.threshold = text && Number.isFinite(value) ? { direction: el.direction.value, value } : null;
      this.alerted = false;
      this.save();
      this.refresh();
      this.thresholdBanner();
    };
    el.direction.addEventListener("change", threshold);
    el.value.addEventListener("change", threshold);
    el.notify.addEventListener("change", async () => {
      if (el.notify.checked && globalThis.Notification && Notification.permission !== "granted") {
        const answer = await Notification.requestPermission();
        if (answer !== "granted") el.notify.checked = false;
      }
    });
  }

  /** A frame is on screen ({seq, metadata}). */
  shown(frame) {
    if (frame.seq !== null) this.series.add(frame.seq, frame.metadata);
    this.thresholdBanner();
    this.refresh();
  }

  /** A `new_image` notification with its metadata (every live frame, shown or skipped). */
  notified(seq, metadata) {
    const last = [...this.series.frames.keys()].pop();
    if (last !== undefined && seq < last) this.series.clear();  // a restarted server
    this.series.add(seq, metadata);
    this.refresh();
    const key = this.state.plot;
    if (key && this.state.threshold) {
      const value = metadata[key];
      const crossing = crosses(value, this.state.threshold);
      if (crossing && !this.alerted) this._notify(key, value, seq);
      this.alerted = crossing;
    }
  }

  /** The fields show the state (a link or a reload). */
  apply() {
    const threshold = this.state.threshold;
    if (threshold) {
      this.el.direction.value = threshold.direction;
      this.el.value.value = String(threshold.value);
    }
    this.refresh();
    if (this.state.open && this.state.plot) this.fill();
  }

  /** Choose a key (the "g" key): the menu gets the focus, the kept frames are read. */
  choose() {
    this.el.key.focus();
    this.fill();
  }

  /** Read the metadata of the kept frames not seen yet (once at a time). */
  async fill() {
    if (this.filling) return;
    const missing = this.keptFrames().map((f) => f.seq).filter((seq) => !this.series.has(seq));
    if (!missing.length) return;
    this.filling = true;
    try {
      const found = await fetchMetadata(missing);
      for (const [seq, data] of found) this.series.add(seq, data);
    } finally {
      this.filling = false;
    }
    this.refresh();
  }

  /** The menu of keys, the chart and the line under it. */
  refresh() {
    const keys = this.series.keys();
    const key = this.state.plot;
    if (key && !keys.includes(key)) keys.push(key);
    const select = this.el.key;
    const have = [...select.options].map((o) => o.value).slice(1);
    if (have.join("\n") !== keys.join("\n")) {
      select.replaceChildren(new Option("—", ""), ...keys.map((k) => new Option(k, k)));
    }
    select.value = key || "";
    this.chart.canvas.hidden = !key;
    if (!this.state.open) return;
    const points = key ? this.series.points(key) : [];
    this.chart.set(points, key && this.state.threshold ? this.state.threshold.value : null);
    const last = points[points.length - 1];
    this.el.last.textContent = key
      ? last ? `${key} = ${last[1]} at #${last[0]} · ${points.length} frame${points.length === 1 ? "" : "s"}` : `${key}: no value yet`
      : "";
  }

  /** The banner on a frame on screen whose value crosses the threshold. */
  thresholdBanner() {
    const key = this.state.plot;
    const threshold = this.state.threshold;
    const frame = this.frame();
    const value = frame && key ? frame.metadata[key] : undefined;
    const crossing = crosses(value, threshold);
    if (crossing) this.alert.say(`${key} = ${value} is ${threshold.direction} ${threshold.value} (frame #${frame.seq})`);
    else this.alert.hide();
  }

  _notify(key, value, seq) {
    if (!this.el.notify.checked || !globalThis.Notification || Notification.permission !== "granted") return;
    const { direction, value: limit } = this.state.threshold;
    try {
      new Notification(`framecast: ${key} ${direction} ${limit}`, {
        body: `${key} = ${value} (frame #${seq}${this.stream && this.stream !== "default" ? `, ${this.stream}` : ""})`,
        tag: `framecast-${key}`,
      });
    } catch {
      /* notifications refused by this browser (some need a service worker) */
    }
  }
}
