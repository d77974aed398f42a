// Blink comparator (docs/history.md): alternates two sides, the live image and a pinned earlier
// frame, at an adjustable rate. Only a clock: no DOM, no network; whoever listens to
// "flip" shows the side it names, in the same view (same zoom and pan).

/** The rates offered, in changes per second (2: each side stays half a second). */
export const BLINK_RATES = [0.5, 1, 2, 4];
export const DEFAULT_BLINK_RATE = 2;

export class Blink extends EventTarget {
  constructor({ rateHz = DEFAULT_BLINK_RATE } = {}) {
    super();
    this.rateHz = rateHz;
    this.pinned = null;    // what the caller pinned (an earlier frame's seq)
    this.side = "live";
    this.flips = 0;
    this.timer = null;
  }

  get on() {
    return this.pinned !== null;
  }

  /** Start alternating the live image with `pinned`, the pinned side first. */
  start(pinned) {
    this.stop();
    this.pinned = pinned;
    this.side = "live";
    this._flip();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    const was = this.on;
    this.pinned = null;
    this.side = "live";
    if (was) this.dispatchEvent(new CustomEvent("stop"));
  }

  /** Change the rate (changes per second), taking effect at the next change. */
  setRate(rateHz) {
    if (Number.isFinite(rateHz) && rateHz > 0) this.rateHz = rateHz;
  }

  _flip() {
    this.side = this.side === "live" ? "pinned" : "live";
    this.flips += 1;
    this.dispatchEvent(new CustomEvent("flip", { detail: { side: this.side, pinned: this.pinned } }));
    this.timer = setTimeout(() => this._flip(), 1000 / this.rateHz);
  }
}
