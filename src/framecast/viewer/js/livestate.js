// Which image the viewer shows, and why: the newest live image asked for, the connection it
// belongs to (a new connection may be a new server numbering its frames from 1 again), the
// notification still to catch up with, whether the server keeps a history (and so whether a
// live frame is read straight from history/<seq>.jpg), the earlier frame looked at and the
// frame pinned for the blink. Pure: no DOM, no network, no clock of its own (the time comes
// in as an argument). main.js asks it what to show, fetches, and shows; see docs/viewer.md,
// "How it stays live" and "Looking back: timeline and blink".
//
// An image to show is a job: {url, key, info: {metadata, own, waiting, message?},
// options: {placeholder, tiles}} (`key` names that image: the view shows a key once).

import { Timeline } from "./timeline.js";

/** How long data.json may lag behind a notification before the notification's own
 *  metadata is shown anyway. */
export const CATCH_UP_MS = 3000;

/** `url` made unique to this frame of this server run by its `time`: a restarted server
 *  numbers its frames from 1 again, and history/1.jpg or tiles/1.dzi of the previous run
 *  may still be in the browser's cache (they are immutable). */
export function ofRun(url, time) {
  if (typeof time !== "number") return url;
  return `${url}${url.includes("?") ? "&" : "?"}t=${time}`;
}

/** framecast's own block of data.json / message metadata (`framecast`), or {}. */
export function ownOf(metadata) {
  const own = metadata && typeof metadata === "object" ? metadata.framecast : null;
  return own && typeof own === "object" ? own : {};
}

/** The DZI pyramid of an image, from a `new_image` message (top level) or its data.json
 *  content (`framecast.tiles`), or null. */
export function tilesOf(message, data) {
  const own = ownOf(data);
  const url = (message && message.tiles) || own.tiles;
  const time = (message && message.time) ?? own.time;
  return typeof url === "string" && url ? ofRun(url, time) : null;
}

/** Display image formats shown from their own URL (line art, docs/imaging.md "Line art");
 *  a JPEG frame is read as before (history/<seq>.jpg or web_image.jpg, the same bytes). */
const LOSSLESS = new Set(["png", "webp"]);

/** The lossless display image of an image (its `image` URL when its `format` is PNG or
 *  WebP), from its data.json content (`framecast`), else its `new_image` message (top
 *  level), or null. */
export function losslessOf(message, data) {
  const own = ownOf(data);
  const from = typeof own.image === "string" ? own : message || {};
  const { format, image: url } = from;
  const time = from.time ?? own.time;
  return LOSSLESS.has(format) && typeof url === "string" && url ? ofRun(url, time) : null;
}

function hasOwnMetadata(message) {
  return Boolean(message.metadata) && typeof message.metadata === "object";
}

export class LiveState {
  constructor() {
    this.epoch = 0;               // increments on every (re)connection
    this.newest = null;           // {seq, time} of the newest image asked for in this epoch
    this.live = null;             // the job of the newest live image asked for
    this.target = null;           // the newest notification not shown yet (to catch up with)
    this.historyAvailable = false;  // the server answers api/history (a timeline is offered)
    this.historyKept = false;     // ... and so live images come from history/<seq>.jpg
    this.pinned = null;           // the blink's earlier frame (a job with its `seq`)
    this.timeline = new Timeline();
  }

  /** True while the blink alternates the live image with a pinned frame. */
  get blinking() {
    return this.pinned !== null;
  }

  /** True when the live image is the one to show (not looking back, not blinking). */
  get showingLive() {
    return !this.timeline.looking && !this.blinking;
  }

  /** True when frame `seq`, now on screen, is an earlier frame (looked back at, or the
   *  blink's pinned side) rather than the live image: the title says so. */
  isHistory(seq) {
    if (this.showingLive) return false;
    const own = this.live && this.live.info ? this.live.info.own : null;
    return !(own && own.seq === seq);
  }

  /** A (re)connection is up: maybe a new server. Returns the new epoch; what was kept
   *  (timeline, pin) is forgotten and asked again. */
  connected() {
    this.epoch += 1;
    this.newest = null;
    this.pinned = null;
    this.timeline.reset();
    return this.epoch;
  }

  /** The image described by `metadata` (data.json shape; `message`: the notification it
   *  came with, whose seq, time and size fill in what the metadata lacks), from `url` when
   *  given. Returns the job to show now, or null: an older answer overtaken by a newer
   *  image, a "waiting" picture while a real image is on screen (`hasImage`: a restarted
   *  server keeps the last real image, and the user's view of it, until it publishes), or
   *  the page is looking back or blinking (the job is kept as the live one). `now`: epoch ms. */
  offer(metadata, message = null, { url = null, hasImage = false, now = 0 } = {}) {
    const own = { ...ownOf(metadata) };
    if (message) {
      for (const name of ["seq", "time", "width", "height"]) {
        if (own[name] === undefined && message[name] !== undefined) own[name] = message[name];
      }
    }
    const seq = typeof own.seq === "number" ? own.seq : null;
    const time = typeof own.time === "number" ? own.time : null;
    const newest = this.newest;
    if (newest && seq !== null && newest.seq !== null && seq <= newest.seq && (time === null || time <= newest.time)) {
      return null;
    }
    const waiting = Boolean(own.waiting) || seq === 0;
    if (waiting && hasImage) return null;
    this.newest = { seq, time };
    // A query string unique to this image (and to this server run, thanks to the time):
    // the browser can never show a stale cached picture.
    const query = waiting ? `waiting=${this.epoch}-${now}` : `seq=${seq ?? "x"}&t=${time ?? now / 1000}`;
    this.live = {
      url: (!waiting && losslessOf(message, metadata)) || (url ?? `web_image.jpg?${query}`),
      key: waiting ? `waiting-${this.epoch}` : query,
      info: { metadata, own, waiting },
      options: { placeholder: waiting, tiles: waiting ? null : tilesOf(message, metadata) },
    };
    return this.showingLive ? this.live : null;
  }

  /** A `new_image` notification. Returns {show: job|null} when the server keeps that exact
   *  frame and the message carries its metadata (no data.json round trip: the image is
   *  loaded once, from history/<seq>.jpg), else {catchUp: true}: data.json is read until it
   *  has caught up with the message (see `caughtUp`). */
  notified(message, { hasImage = false, now = 0 } = {}) {
    message.epoch = this.epoch;
    this.timeline.notified(message);
    if (this.historyKept && hasOwnMetadata(message) && Number.isInteger(message.seq) && message.seq > 0) {
      const url = ofRun(`history/${message.seq}.jpg`, message.time);
      const show = this.offer(message.metadata, message, { url, hasImage, now });
      if (this.live && this.live.info.own.seq === message.seq) this.live.info.message = message;
      return { show };
    }
    this.target = message;
    return { catchUp: true };
  }

  /** data.json as read (`data`, or null when it could not be read) while catching up with
   *  `message`, `waitedMs` after this catch-up began. Returns "wait" (read again a moment
   *  later), or what to offer: {metadata, message} (data.json when it describes that frame
   *  or a newer one, else the message's own metadata once `CATCH_UP_MS` have passed), or
   *  null (nothing to show). The target is done unless a newer one replaced it. */
  caughtUp(message, data, waitedMs) {
    const dataSeq = ownOf(data).seq;
    const caught = data !== null
      && (typeof message.seq !== "number" || typeof dataSeq !== "number" || dataSeq >= message.seq);
    if (!caught && waitedMs < CATCH_UP_MS) return "wait";
    if (this.target === message) this.target = null;
    const hasOwn = hasOwnMetadata(message);
    if (caught && (!hasOwn || dataSeq !== message.seq)) return { metadata: data, message: hasOwn ? null : message };
    if (hasOwn) return { metadata: message.metadata, message };
    return null;
  }

  /** Forget a target notified on a connection since replaced; true when one is left. */
  targetLeft() {
    if (this.target && this.target.epoch !== this.epoch) this.target = null;
    return this.target !== null;
  }

  /** The view could not load image `key`. A live frame asked straight from the history
   *  (a server that keeps no frames after all, or one dropped already) is asked again the
   *  older way: returns true when a catch-up should start. */
  loadFailed(key) {
    const live = this.live;
    if (!live || live.key !== key || !live.url.startsWith("history/")) return false;
    this.live = null;
    this.historyKept = false;
    const missed = live.info.message;
    if (!missed || this.target) return false;
    this.target = missed;
    return true;
  }

  /** What api/history answered: its frames (parseHistory), or null (no history). */
  historyKnown(frames) {
    this.historyAvailable = frames !== null;
    this.historyKept = this.historyAvailable;
    if (frames) this.timeline.setFrames(frames);
  }

  /** The job of kept frame `seq` from its data.json (history/<seq>.json). */
  earlierJob(seq, data) {
    const own = ownOf(data);
    return {
      seq,
      url: losslessOf(null, data) || ofRun(`history/${seq}.jpg`, own.time),
      key: `history-${this.epoch}-${seq}`,
      info: { metadata: data, own: { seq, ...own }, waiting: false },
      options: { tiles: tilesOf(null, data) },
    };
  }

  /** Look at kept frame `seq` (the blink stops). */
  lookAt(seq) {
    this.pinned = null;
    this.timeline.lookAt(seq);
  }

  /** Kept frame `seq`'s job arrived (`job`: null when the server no longer keeps it).
   *  Returns {show: job}, or {lookAt: frame} (it was dropped: the next kept one), or
   *  {live: true} (none left before live), or null (the user stepped on meanwhile). */
  looked(seq, job) {
    if (this.timeline.seq !== seq) return null;
    if (job) return { show: job };
    this.timeline.dropped(seq);
    const later = this.timeline.next();
    return later ? { lookAt: later } : { live: true };
  }

  /** Back to live (the blink stops); returns the live job, or null before any. */
  goLive() {
    this.pinned = null;
    this.timeline.goLive();
    return this.live;
  }

  /** The earlier frame "blink" pins: the one looked at, else the one before live; null
   *  when there is none. */
  blinkFrame() {
    const timeline = this.timeline;
    if (timeline.looking) return timeline.frame(timeline.seq) ?? { seq: timeline.seq };
    return timeline.previous();
  }

  /** Blink the live image with `job` (an earlier frame's); null: that frame is no longer
   *  kept. Returns whether the blink starts. */
  pin(seq, job) {
    if (!job) {
      this.timeline.dropped(seq);
      return false;
    }
    this.pinned = job;
    this.timeline.goLive();
    return true;
  }

  /** The blink stopped. */
  unpin() {
    this.pinned = null;
  }

  /** The job of the blink's `side` ("pinned" or "live"), or null. */
  side(side) {
    return side === "pinned" && this.pinned ? this.pinned : this.live;
  }

  /** How the frame on screen is to be shown again (the tools changed its source):
   *  {show: job|null} for live or blink, {lookAt: frame} for an earlier frame, or null. */
  again() {
    if (this.showingLive || this.blinking) return { show: this.live };
    const frame = this.timeline.frame(this.timeline.seq);
    return frame ? { lookAt: frame } : null;
  }

  /** What the timeline bar shows (TimelineBar.render's argument). */
  bar() {
    const timeline = this.timeline;
    const looked = timeline.looking ? timeline.frame(timeline.seq) : null;
    const liveFrame = timeline.liveSeq !== null ? timeline.frame(timeline.liveSeq) : null;
    const behindS = looked && liveFrame && looked.time !== null && liveFrame.time !== null
      ? liveFrame.time - looked.time : null;
    return {
      available: this.historyAvailable,
      looking: timeline.looking && !this.blinking,
      seq: this.blinking ? this.pinned.seq : timeline.seq,
      behindS,
      newCount: timeline.newCount,
      canBack: timeline.previous() !== null,
      canForward: timeline.next() !== null,
      blinking: this.blinking,
    };
  }
}
