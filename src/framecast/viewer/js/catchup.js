// Catching up with a notification (docs/viewer.md, "How it stays live"): a notification can
// arrive before the web folder's files are rewritten (the server may write web_image.jpg and
// data.json a moment later, or at most a few times per second). So before the picture is
// loaded, data.json is read until it has caught up with the notified frame (web_image.jpg is
// always written before data.json): the image asked for then is that one or newer, never
// the previous one. Only the newest notification is chased (LiveState.target); the ones it
// overtakes are skipped. What to decide is LiveState's; this is the loop, its pauses
// (20 ms, doubling up to 250 ms) and the read it is handed. No DOM.

const FIRST_PAUSE_MS = 20;
const LONGEST_PAUSE_MS = 250;

export class CatchUp {
  /** `state`: the LiveState; `read()`: resolves to data.json's content; `offer(metadata,
   *  message)`: show what was caught up with. */
  constructor({ state, read, offer }) {
    this.state = state;
    this.read = read;
    this.offer = offer;
    this.running = false;
  }

  /** Catch up with the state's target, unless a catch-up is under way (it takes the newest
   *  target when it reads again). */
  run() {
    if (!this.running) this._loop();
  }

  async _loop() {
    this.running = true;
    const state = this.state;
    const mine = state.epoch;
    try {
      let since = Date.now();
      let pause = FIRST_PAUSE_MS;
      while (state.target && mine === state.epoch) {
        const message = state.target;
        const data = await this.read().catch(() => null);  // unreachable for a moment: read again
        if (mine !== state.epoch) return;
        const step = state.caughtUp(message, data, Date.now() - since);
        if (step === "wait") {
          await new Promise((resolve) => setTimeout(resolve, pause));
          pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
          continue;
        }
        if (step) this.offer(step.metadata, step.message);
        since = Date.now();
        pause = FIRST_PAUSE_MS;
      }
    } finally {
      this.running = false;
      if (state.targetLeft()) this.run();
    }
  }
}
