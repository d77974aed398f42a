// Liveness display: the status indicator (live / reconnecting / stopped), the age of the
// image on screen ("updated 3 s ago", ticking every second), the received frame rate,
// the "server stopped" / "connection lost" notice over the image, and the page title.

/** "3 s", "2 min 5 s", "1 h 4 min", "3 d 2 h". */
export function formatAge(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 && m < 10 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** Estimates the offset between this device's clock and the server's (local − server, ms),
 *  so that a phone with a wrong clock still shows the right image age. It comes from the
 *  HTTP Date header of data.json (one-second resolution): differences under 1.5 s are taken
 *  as "same clock". (The notifications' own time stamps are not used: a source may stamp an
 *  image with its capture time, which is not the time it was sent.) */
export class ClockOffset {
  constructor() {
    this.ms = 0;
  }

  /** An HTTP response dated `dateMs` (Date header) arrived at `localMs`. */
  addDate(dateMs, localMs) {
    if (typeof dateMs !== "number") return;
    const offset = localMs - (dateMs + 500);
    this.ms = Math.abs(offset) > 1500 ? offset : 0;
  }
}

/** Frames per second received, over a sliding window. */
export class RateMeter {
  constructor(windowMs = 10000) {
    this.windowMs = windowMs;
    this.times = [];
  }

  add(localMs) {
    this.times.push(localMs);
    this._trim(localMs);
  }

  reset() {
    this.times = [];
    this._seen = false;
  }

  /** Rate in frames/s, 0 when frames stopped coming, null before there are two frames. */
  rate(nowMs) {
    this._trim(nowMs);
    const n = this.times.length;
    if (n < 2) return n === 0 && this._seen ? 0 : null;
    const first = this.times[0];
    const last = this.times[n - 1];
    const interval = (last - first) / (n - 1);
    if (nowMs - last > Math.max(3000, 3 * interval)) return 0;
    return (n - 1) / ((last - first) / 1000);
  }

  _trim(nowMs) {
    if (this.times.length) this._seen = true;
    while (this.times.length && nowMs - this.times[0] > this.windowMs) this.times.shift();
  }
}

export function formatRate(rate) {
  if (rate === null) return "– fps";
  if (rate === 0) return "0 fps";
  if (rate < 1) return `${rate.toFixed(2)} fps`;
  if (rate < 10) return `${rate.toFixed(1)} fps`;
  return `${Math.round(rate)} fps`;
}

const STATE_TEXT = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "connection lost · reconnecting",
  stopped: "server stopped",
};

/** Owns the status bar elements, the notice and the document title. */
export class StatusDisplay {
  constructor({ status, statusText, age, fps, notice, noticeTitle, noticeText }) {
    this.el = { status, statusText, age, fps, notice, noticeTitle, noticeText };
    this.history = false;
    this.dismissed = null;      // the notice's title the user dismissed (until another one)
    const dismiss = notice.querySelector(".dismiss");
    if (dismiss) {
      dismiss.addEventListener("click", () => {
        this.dismissed = this.el.noticeTitle.textContent;
        notice.hidden = true;
      });
    }
    this.state = "connecting";
    this.via = null;
    this.everLive = false;
    this.imageTimeS = null;
    this.waiting = false;
    this.seq = null;
    this.stream = null;
    this.clock = new ClockOffset();
    this.rate = new RateMeter();
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  /** Connection state from the transport: "connecting" | "live" | "reconnecting" | "stopped". */
  setConnection(state, { via = null, retryInMs = null } = {}) {
    this.state = state;
    this.via = via;
    if (state === "live") this.everLive = true;
    if (state !== "live") this.rate.reset();
    const el = this.el;
    el.status.dataset.state = state;
    let text = STATE_TEXT[state] || state;
    if (state === "live" && via === "sse") text = "live (event stream)";
    if (state === "stopped" && retryInMs !== null) text = "server stopped · waiting for it";
    el.statusText.textContent = text;

    if (state === "stopped") {
      this._notice("Server stopped", "The server was shut down. This is the last image it sent; the page reconnects by itself when the server is back.");
    } else if (state === "reconnecting" && this.everLive) {
      this._notice("Connection lost", "Reconnecting… the image below is the last one received.");
    } else if (state === "live") {
      this._notice(null);
    }
    this.tick();
  }

  /** The image now on screen was taken at `timeS` (server epoch seconds; null if unknown);
   *  `history`: it is an earlier frame looked back at, not the live one. */
  setImage({ seq = null, timeS = null, waiting = false, history = false } = {}) {
    this.seq = seq;
    this.history = Boolean(history);
    this.imageTimeS = typeof timeS === "number" ? timeS : null;
    this.waiting = Boolean(waiting);
    this.tick();
  }

  /** The stream shown, named in the title (null for the default stream). */
  setStream(name) {
    this.stream = name;
    this.tick();
  }

  /** A new_image notification arrived (counts for the frame rate). */
  frameReceived(message) {
    this.rate.add(message.receivedAt);
  }

  /** Called every second: refresh age, rate and title. */
  tick() {
    const now = Date.now();
    const el = this.el;
    let age = "no image yet";
    if (this.waiting) {
      age = "waiting for the first image";
    } else if (this.imageTimeS !== null) {
      const seconds = (now - this.clock.ms - this.imageTimeS * 1000) / 1000;
      age = `updated ${formatAge(seconds)} ago`;
    }
    if (el.age.textContent !== age) el.age.textContent = age;
    const rate = this.state === "live" ? formatRate(this.rate.rate(now)) : "– fps";
    if (el.fps.textContent !== rate) el.fps.textContent = rate;
    const title = `${this._shown()}${this.stream ? ` · ${this.stream}` : ""} · framecast`;
    if (document.title !== title) document.title = title;
  }

  /** What the title says is on screen: `Live #8` live, `#5 (history)` when looking back
   *  (`Reconnecting #5 (history)` while the connection is down). */
  _shown() {
    const word = { live: "Live", stopped: "Stopped", reconnecting: "Reconnecting" }[this.state] || "Connecting";
    if (!this.seq) return word;
    if (!this.history) return `${word} #${this.seq}`;
    const frame = `#${this.seq} (history)`;
    return this.state === "live" ? frame : `${word} ${frame}`;
  }

  _notice(title, text = "") {
    const el = this.el;
    if (!title) {
      el.notice.hidden = true;
      this.dismissed = null;
      return;
    }
    el.noticeTitle.textContent = title;
    el.noticeText.textContent = text;
    el.notice.hidden = title === this.dismissed;
  }
}
