// The timeline bar under the image: earlier / later / Live, where the page is in the kept
// frames, the "N new" count while looking back, and the blink button and rate. It draws
// and reports clicks and keys as events ("back", "forward", "live", "blink", "rate"); it
// decides nothing and fetches nothing.
//
// Keys (not while typing): "," and "." step back and forward anywhere; ← and → too when
// the image is not focused (there they pan); "l" back to live; "b" blink on or off.

import { typing } from "./controls.js";
import { BLINK_RATES } from "./blink.js";
import { parts } from "./elements.js";

export class TimelineBar extends EventTarget {
  /** `root`: the bar (#timeline); `imageElement`: the image, whose own keys ← and → pan;
   *  `rateHz`: the blink rate selected at first. */
  constructor(root, { imageElement, rateHz }) {
    super();
    this.bar = root;
    const { back, forward, live, where, count, blink, rate } = parts(root, {
      back: "btn-back", forward: "btn-forward", live: "btn-live", where: "timeline-where",
      count: "timeline-new", blink: "btn-blink", rate: "blink-rate",
    });
    Object.assign(this, { back, forward, live, where, count, blink, rate });
    for (const hz of BLINK_RATES) {
      const option = document.createElement("option");
      option.value = String(hz);
      option.textContent = `${hz} Hz`;
      option.selected = hz === rateHz;
      rate.append(option);
    }
    const emit = (name, detail = null) => this.dispatchEvent(new CustomEvent(name, { detail }));
    back.addEventListener("click", () => emit("back"));
    forward.addEventListener("click", () => emit("forward"));
    live.addEventListener("click", () => emit("live"));
    blink.addEventListener("click", () => emit("blink"));
    rate.addEventListener("change", () => emit("rate", Number(rate.value)));
    document.addEventListener("keydown", (event) => {
      if (this.bar.hidden || typing(event)) return;
      const inImage = imageElement.contains(event.target);
      if (event.key === "," || (event.key === "ArrowLeft" && !inImage)) emit("back");
      else if (event.key === "." || (event.key === "ArrowRight" && !inImage)) emit("forward");
      else if (event.key === "l" || event.key === "L") emit("live");
      else if (event.key === "b" || event.key === "B") emit("blink");
      else return;
      event.preventDefault();
    });
  }

  /** Show the state: `available` (the server keeps history), `looking` at `seq` taken
   *  `behindS` seconds before the live one, `newCount` frames since, `canBack`/`canForward`,
   *  `blinking`. */
  render({ available, looking, seq, behindS, newCount, canBack, canForward, blinking }) {
    this.bar.hidden = !available;
    document.documentElement.classList.toggle("looking-back", Boolean(looking || blinking));
    this.back.disabled = !canBack;
    this.forward.disabled = !looking;
    this.forward.title = canForward || !looking ? "Later frame (. or →)" : "Later frame: the live one (. or →)";
    this.live.setAttribute("aria-pressed", String(!looking && !blinking));
    this.blink.setAttribute("aria-pressed", String(Boolean(blinking)));
    this.blink.disabled = !blinking && !canBack && !looking;
    if (blinking) {
      this.where.textContent = `blink #${seq} ⇄ live`;
    } else if (looking) {
      const behind = typeof behindS === "number" ? ` · ${formatBehind(behindS)} before live` : "";
      this.where.textContent = `#${seq}${behind}`;
    } else {
      this.where.textContent = "live";
    }
    this.count.hidden = !looking || newCount <= 0;
    this.count.textContent = `${newCount} new`;
  }
}

function formatBehind(seconds) {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  return `${Math.round(seconds / 60)} min`;
}
