// Polling a JSON document (the overview's api/streams), one read at a time, with the live
// channel's backoff after a failure. Never touches the DOM.

import { fetchJson } from "./http.js";
import { backoffDelay } from "./live.js";

/**
 * Reads a JSON document every `intervalMs` (the overview's api/streams): one request at a
 * time, whatever the number of streams. Events (CustomEvent, payload in `detail`):
 *   "data"   {data, date} — a fresh answer (`date`: the server's Date header, epoch ms)
 *   "state"  {state: "connecting"|"live"|"reconnecting"}
 * After a failure it retries with the same jittered backoff as the live channel. While
 * paused (the page says so when it is hidden: a phone in a pocket costs the server nothing)
 * it does not read; resuming reads at once.
 */
export class JsonPoller extends EventTarget {
  constructor(path, { intervalMs = 1500, capMs = 5000, baseMs = 250, random = Math.random } = {}) {
    super();
    this.path = path;
    this.intervalMs = intervalMs;
    this.capMs = capMs;
    this.baseMs = baseMs;
    this.random = random;
    this.attempt = 0;
    this.timer = null;
    this.running = false;
    this.closed = true;
    this.paused = false;
    this.state = "connecting";
  }

  /** Start reading (idempotent). */
  open() {
    if (!this.closed) return;
    this.closed = false;
    this.now();
  }

  /** Stop reading while `paused`; reading resumes at once when unpaused. */
  setPaused(paused) {
    this.paused = Boolean(paused);
    if (!this.paused) this.now();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** Read now, unless a read is under way. */
  now() {
    if (this.closed || this.running || this.paused) return;
    clearTimeout(this.timer);
    this.timer = null;
    this._read();
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  async _read() {
    this.running = true;
    let delay = this.intervalMs;
    try {
      const answer = await fetchJson(this.path, { timeoutMs: Math.max(2000, this.intervalMs * 2) });
      this.attempt = 0;
      if (this.state !== "live") {
        this.state = "live";
        this._emit("state", { state: "live" });
      }
      this._emit("data", answer);
    } catch {
      delay = backoffDelay(this.attempt, { baseMs: this.baseMs, capMs: this.capMs, random: this.random });
      this.attempt += 1;
      if (this.state !== "reconnecting") {
        this.state = "reconnecting";
        this._emit("state", { state: "reconnecting" });
      }
    } finally {
      this.running = false;
    }
    if (this.closed || this.paused) return;  // setPaused(false) reads again
    this.timer = setTimeout(() => this.now(), delay);
  }
}
