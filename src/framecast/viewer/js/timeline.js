// Looking back through a stream's kept frames (docs/history.md): which frame is on screen (live, or
// an earlier one), where a step back or forward goes, and how many new frames arrived while
// looking back. Pure state: no DOM, no network; main.js fetches and shows.

/** The frames of an `api/history` answer ({frames: [{seq, time, width, height}, …]}),
 *  oldest first, or null when the answer is not one (a server without history). */
export function parseHistory(data) {
  if (!data || typeof data !== "object" || !Array.isArray(data.frames)) return null;
  const frames = data.frames
    .filter((f) => f && typeof f === "object" && Number.isInteger(f.seq) && f.seq > 0)
    .map((f) => ({ seq: f.seq, time: typeof f.time === "number" ? f.time : null, width: f.width, height: f.height }));
  frames.sort((a, b) => a.seq - b.seq);
  return frames;
}

export class Timeline {
  constructor() {
    this.frames = [];       // kept frames, oldest first ({seq, time, width, height})
    this.liveSeq = null;    // the newest frame notified
    this.seq = null;        // the earlier frame looked at, or null when live
    this.newCount = 0;      // frames notified since looking back
  }

  /** True while an earlier frame is on screen. */
  get looking() {
    return this.seq !== null;
  }

  /** Replace the kept frames with the server's list (frames notified since stay known). */
  setFrames(frames) {
    const later = this.frames.filter((f) => frames.length === 0 || f.seq > frames[frames.length - 1].seq);
    this.frames = [...frames, ...later];
  }

  /** A new live frame was notified; while looking back it only counts. */
  notified(frame) {
    if (!Number.isInteger(frame.seq)) return;
    if (this.liveSeq !== null && frame.seq < this.liveSeq) {
      // A restarted server counts from 1 again: what was kept is gone.
      this.frames = [];
      if (this.looking) this.newCount = 0;
    }
    this.liveSeq = frame.seq;
    const last = this.frames[this.frames.length - 1];
    if (!last || last.seq < frame.seq) {
      this.frames.push({ seq: frame.seq, time: frame.time ?? null, width: frame.width, height: frame.height });
    }
    if (this.looking) this.newCount += 1;
  }

  /** The kept frame just before the one on screen (live: the newest), or null. */
  previous() {
    const from = this.seq ?? this.liveSeq ?? Infinity;
    const earlier = this.frames.filter((f) => f.seq < from);
    return earlier.length ? earlier[earlier.length - 1] : null;
  }

  /** The kept frame just after the one on screen, or null when the next one is live. */
  next() {
    if (!this.looking) return null;
    const later = this.frames.find((f) => f.seq > this.seq);
    return later && later.seq !== this.liveSeq ? later : null;
  }

  /** Look at frame `seq` (an earlier one). */
  lookAt(seq) {
    if (!this.looking) this.newCount = 0;
    this.seq = seq;
  }

  /** Forget everything (a new connection: maybe a new server, numbering from 1 again). */
  reset() {
    this.frames = [];
    this.liveSeq = null;
    this.goLive();
  }

  /** Back to live. */
  goLive() {
    this.seq = null;
    this.newCount = 0;
  }

  /** Forget a frame the server no longer keeps. */
  dropped(seq) {
    this.frames = this.frames.filter((f) => f.seq !== seq);
  }

  /** The frame `seq` as known, or null. */
  frame(seq) {
    return this.frames.find((f) => f.seq === seq) ?? null;
  }
}
