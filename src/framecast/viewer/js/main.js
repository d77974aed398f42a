// Wires the viewer together: transport (network) → image view, metadata panel, status.
// Nothing here draws or fetches by itself; it decides what to show and when.

import { ControlChannel, LiveConnection, decodeImage, fetchJson } from "./transport.js";
import { ImageView } from "./viewer.js";
import { MetadataList, imageEntries, splitMetadata } from "./metadata.js";
import { StatusDisplay } from "./status.js";
import { recalledView, rememberView } from "./viewstate.js";
import { DEFAULT_STREAM, pageStream, parseStreams } from "./streams.js";
import { StreamMenu } from "./streammenu.js";
import { setupToggles } from "./controls.js";
import { ScreenAwake } from "./wakelock.js";
import { ShareDialog } from "./share.js";
import { HelpDialog } from "./help.js";
import { OperatorControls } from "./operator.js";
import { Timeline, parseHistory } from "./timeline.js";
import { Blink, DEFAULT_BLINK_RATE } from "./blink.js";
import { TimelineBar } from "./timelinebar.js";
import { Tools } from "./tools/tools.js";

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token");
// The stream this page shows (/s/NAME/, or the default stream at the root), and the
// server's root for what is not per stream (api/status, api/streams).
const here = pageStream(location.pathname);

const status = new StatusDisplay({
  status: $("status"),
  statusText: $("status-text"),
  age: $("age"),
  fps: $("fps"),
  notice: $("notice"),
  noticeTitle: $("notice-title"),
  noticeText: $("notice-text"),
});
const fixed = new MetadataList($("meta-fixed"), { rawLabels: true });
const meta = new MetadataList($("meta"));
const view = new ImageView($("osd"), { prefixUrl: "icons/", initialView: recalledView(here.name), loadImage: decodeImage });
const share = new ShareDialog({ button: $("btn-share"), dialog: $("share-dialog"), image: $("share-qr"), link: $("share-url"), qrPath: "qr.svg" });  // per stream: /s/NAME/qr.svg encodes that stream's page
const streams = new StreamMenu({ box: $("stream-switch"), select: $("stream-select"), link: $("streams-link"), base: here.base, current: here.name });
status.setStream(here.name === DEFAULT_STREAM ? null : here.name);
const operator = new OperatorControls({ snapshotButton: $("btn-operator-snapshot"), resetButton: $("btn-operator-reset"), reply: $("operator-reply") });
const awake = new ScreenAwake();
const help = new HelpDialog({ button: $("btn-help"), dialog: $("help-dialog") });
setupToggles({ nightButton: $("btn-night"), infoButton: $("btn-info"), imageElement: $("image") });

// "Skip to the image" focuses the image without touching the hash (it holds the view).
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  view.focus();
});
$("access-dismiss").addEventListener("click", () => { $("access-warning").hidden = true; });

// ---- images -------------------------------------------------------------------------

let epoch = 0;          // increments on every (re)connection: a new server may restart seq at 1
let newest = null;      // {seq, time} of the newest image asked for in this epoch
let lastLive = null;    // the newest live image asked for: {url, key, info, options}

/** `url` made unique to this frame of this server run by its `time`: a restarted server
 *  numbers its frames from 1 again, and history/1.jpg or tiles/1.dzi of the previous run
 *  may still be in the browser's cache (they are immutable). */
function ofRun(url, time) {
  if (typeof time !== "number") return url;
  return `${url}${url.includes("?") ? "&" : "?"}t=${time}`;
}

/** The DZI pyramid of an image, from a `new_image` message (top level) or its data.json
 *  content (`framecast.imaging.pyramid`), or null. */
function tilesOf(message, data) {
  const url = (message && message.tiles) || (data && data.framecast && data.framecast.tiles);
  const time = (message && message.time) ?? (data && data.framecast && data.framecast.time);
  return typeof url === "string" && url ? ofRun(url, time) : null;
}

/** Ask the view for the image described by `metadata` (data.json shape), unless an
 *  equal or newer one was already asked for. */
function showImage(metadata, message = null, { url = null } = {}) {
  const { own: raw } = splitMetadata(metadata);
  const own = { ...raw };
  if (message) {
    for (const name of ["seq", "time", "width", "height"]) {
      if (own[name] === undefined && message[name] !== undefined) own[name] = message[name];
    }
  }
  const seq = typeof own.seq === "number" ? own.seq : null;
  const time = typeof own.time === "number" ? own.time : null;
  if (newest && seq !== null && newest.seq !== null && seq <= newest.seq && (time === null || time <= newest.time)) {
    return;  // an older answer overtaken by a newer notification
  }
  const waiting = Boolean(own.waiting) || seq === 0;
  if (waiting && view.hasImage) {
    // A restarted server without an image yet: keep the last real image (and the user's
    // view of it) on screen; its age keeps counting up.
    return;
  }
  newest = { seq, time };
  // A query string unique to this image (and to this server run, thanks to the time):
  // the browser can never show a stale cached picture.
  const query = waiting
    ? `waiting=${epoch}-${Date.now()}`
    : `seq=${seq ?? "x"}&t=${time ?? Date.now() / 1000}`;
  lastLive = {
    url: url ?? `web_image.jpg?${query}`,
    key: waiting ? `waiting-${epoch}` : query,
    info: { metadata, own, waiting },
    options: { placeholder: waiting, tiles: waiting ? null : tilesOf(message, metadata) },
  };
  if (!timeline.looking && !blink.on) showLive();
}

/** Put the newest live image on screen (again). */
function showLive() {
  if (lastLive) display(lastLive);
}

/** Show an image job; with levels on, the scientific tools give its raw tiles instead. */
function display(job) {
  const raw = tools.tilesFor(job.info);
  view.show(job.url, job.key + tools.keySuffix(), job.info, raw ? { ...job.options, tiles: raw } : job.options);
}

view.addEventListener("shown", (event) => {
  tools.shown(event.detail);
  const { info, width, height } = event.detail;
  const { entries } = splitMetadata(info.metadata);
  const own = info.own;
  $("meta-seq").textContent = info.waiting ? "(waiting)" : own.seq ? `#${own.seq}` : "";
  fixed.render(imageEntries(own, { width, height }));
  meta.render(entries);
  $("meta-empty").hidden = entries.length > 0;
  status.setImage({ seq: info.waiting ? null : own.seq, timeS: info.waiting ? null : own.time, waiting: info.waiting });
  // Keep the server counters roughly current without asking at every frame.
  if (Date.now() - statusLoadedAt > 5000) loadStatus();
});

view.addEventListener("loaderror", (event) => {
  // The image vanished between notification and request (server restarting, or a frame
  // dropped from the history): the next notification or reconnection brings a new one.
  // A live frame asked straight from the history is asked again the older way.
  if (lastLive && event.detail.key === lastLive.key && lastLive.url.startsWith("history/")) {
    const missed = lastLive.info.message;
    lastLive = null;
    historyKept = false;  // a server that keeps no frames (history = 0): the older way
    if (missed && !target) {
      target = missed;
      if (!chasing) chase();
    }
  }
});

view.addEventListener("viewchange", (event) => rememberView(event.detail, here.name));
addEventListener("pagehide", () => rememberView(view.view(), here.name));

async function loadData() {
  const { data, date } = await fetchJson("data.json");
  status.clock.addDate(date, Date.now());
  return data;
}

// ---- server status ------------------------------------------------------------------

let statusLoadedAt = 0;

async function loadStatus() {
  statusLoadedAt = Date.now();
  let info;
  try {
    ({ data: info } = await fetchJson(`${here.base}api/status`));
  } catch {
    return null;  // older servers or another web server serving the folder: no status API
  }
  $("access-warning").hidden = !info.access_limited;
  share.setUrl(pageAddress(info.url), { tokenInQr: Boolean(info.viewer_token_required) });
  // With several streams, the counters shown are this stream's own.
  const perStream = info.streams && typeof info.streams === "object" ? info.streams : {};
  loadStreams(Object.keys(perStream).length);
  const own = perStream[here.name];
  const counters = own && typeof own === "object" ? own : info;
  const parts = [];
  if (info.version) parts.push(`framecast ${info.version}`);
  if (typeof counters.clients === "number") parts.push(`${counters.clients} viewer${counters.clients === 1 ? "" : "s"}`);
  if (counters.frames_published) parts.push(`${counters.frames_published} published`);
  const superseded = counters.frames_superseded ?? counters.frames_dropped;  // older servers
  if (superseded) parts.push(`${superseded} superseded`);
  $("server-info").textContent = parts.join(" · ");
  operator.offer(info, { token, makeChannel: () => new ControlChannel({ pageUrl: location.href, token }) })
    .then(() => tools.setControl(operator.buttons.some((b) => !b.hidden) ? operator.channel : null));
  return info;
}

/** The address of this page for other devices: the server's displayed URL (its root)
 *  with this page's path below the root (s/NAME/ for a stream). */
function pageAddress(serverUrl) {
  if (!serverUrl) return serverUrl;
  try {
    return new URL(location.pathname.slice(here.base.length), serverUrl).href;
  } catch {
    return serverUrl;
  }
}

/** The stream menu, shown when the server has more than one stream (`count`, from
 *  api/status; a server without streams is not asked for its list). */
async function loadStreams(count) {
  if (count <= 1) {
    streams.update([]);
    return;
  }
  try {
    const { data } = await fetchJson(`${here.base}api/streams`);
    streams.update(parseStreams(data));
  } catch {
    streams.update([]);  // a server without streams: no menu
  }
}

// ---- live channel -------------------------------------------------------------------

const live = new LiveConnection({ pageUrl: location.href, probePath: `${here.base}api/status` });
let statusTimer = null;

live.addEventListener("state", (event) => {
  const { state, via, retryInMs } = event.detail;
  status.setConnection(state, { via, retryInMs });
  awake.keep(state !== "stopped");
  clearInterval(statusTimer);
  if (state === "live") statusTimer = setInterval(loadStatus, 30000);
});

live.addEventListener("connected", async () => {
  epoch += 1;
  newest = null;
  const mine = epoch;
  // A new connection may be a new server: the kept frames are asked again, from live.
  if (blink.on) blink.stop();
  timeline.reset();
  renderTimeline();
  loadStatus().then((info) => {
    if (mine === epoch) loadHistory(info);
  });
  try {
    const data = await loadData();
    if (mine === epoch) showImage(data);
  } catch {
    // The connection will tell us about the next image; nothing else to do.
  }
});

// A notification can arrive before the web folder's files are rewritten (the server may
// write web_image.jpg / data.json a moment later, or at most a few times per second).
// So before loading the picture, data.json is read until it has caught up with the
// notified sequence number (web_image.jpg is always written before data.json): the image
// requested then is that one or newer, never the previous one. Only the newest
// notification is chased; the ones it overtakes are skipped.
const CATCH_UP_MS = 3000;
let target = null;      // the newest notification not yet shown
let chasing = false;

live.addEventListener("message", (event) => {
  const message = event.detail;
  if (message.type !== "new_image") return;
  status.frameReceived(message);
  tools.notified(message);
  message.epoch = epoch;
  timeline.notified(message);
  renderTimeline();
  const hasOwn = message.metadata && typeof message.metadata === "object";
  if (historyKept && hasOwn && Number.isInteger(message.seq) && message.seq > 0) {
    // The notification carries the metadata and the history keeps this exact frame's JPEG:
    // no data.json round trip, the image is loaded once.
    showImage(message.metadata, message, { url: ofRun(`history/${message.seq}.jpg`, message.time) });
    if (lastLive && lastLive.info.own.seq === message.seq) lastLive.info.message = message;
    return;
  }
  target = message;
  if (!chasing) chase();
});

async function chase() {
  chasing = true;
  const mine = epoch;
  try {
    let since = Date.now();
    let delay = 20;
    while (target && mine === epoch) {
      const message = target;
      let data = null;
      try {
        data = await loadData();
      } catch {
        /* unreachable for a moment: retried below, or given up at the deadline */
      }
      if (mine !== epoch) return;
      const dataSeq = data && data.framecast ? data.framecast.seq : undefined;
      const caughtUp = data !== null
        && (typeof message.seq !== "number" || typeof dataSeq !== "number" || dataSeq >= message.seq);
      if (!caughtUp && Date.now() - since < CATCH_UP_MS) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 250);
        continue;
      }
      if (target === message) target = null;
      const hasOwn = message.metadata && typeof message.metadata === "object";
      if (caughtUp && (!hasOwn || dataSeq !== message.seq)) {
        showImage(data, hasOwn ? null : message);  // data.json describes the newest file
      } else if (hasOwn) {
        showImage(message.metadata, message);
      }
      since = Date.now();
      delay = 20;
    }
  } finally {
    chasing = false;
    if (target && target.epoch !== epoch) target = null;  // from a connection since replaced
    if (target) chase();
  }
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") live.retryNow();
});
document.addEventListener("pointerdown", () => awake.keep(live.state !== "stopped"), { once: true });


// ---- history: timeline and blink (SPEC §8) ------------------------------------------

const timeline = new Timeline();
const blink = new Blink();
const bar = new TimelineBar({
  bar: $("timeline"),
  back: $("btn-back"),
  forward: $("btn-forward"),
  live: $("btn-live"),
  where: $("timeline-where"),
  count: $("timeline-new"),
  blink: $("btn-blink"),
  rate: $("blink-rate"),
  imageElement: $("image"),
  rateHz: DEFAULT_BLINK_RATE,
});
let historyAvailable = false;   // the server answers api/history (a timeline is offered)
let historyKept = false;        // ... and so live images come from history/<seq>.jpg
let pinned = null;              // the blink's earlier frame: {seq, url, key, info, options}
const tools = new Tools({ view, host: $("image"), banners: document.querySelector(".banners"), stream: here.name, keptFrames: () => timeline.frames });
tools.addEventListener("sourcechange", () => {
  if (blink.on || !timeline.looking) showLive();
  else if (timeline.frame(timeline.seq)) lookAt(timeline.frame(timeline.seq));
});

/** Ask the server which frames it keeps. A server with a history says so in api/status
 *  (`history_bytes`); without one (an older server, another web server serving the folder)
 *  the timeline stays hidden, nothing is asked (no 404 in the console) and everything else
 *  works as before. */
async function loadHistory(info) {
  if (!info || typeof info !== "object" || !("history_bytes" in info)) {
    historyAvailable = false;
    historyKept = false;
    renderTimeline();
    return;
  }
  try {
    const { data } = await fetchJson("api/history");
    const frames = parseHistory(data);
    historyAvailable = frames !== null;
    historyKept = historyAvailable;
    if (frames) timeline.setFrames(frames);
    tools.historyLoaded();
  } catch {
    historyAvailable = false;
    historyKept = false;
  }
  renderTimeline();
}

function renderTimeline() {
  const looked = timeline.looking ? timeline.frame(timeline.seq) : null;
  const liveFrame = timeline.liveSeq !== null ? timeline.frame(timeline.liveSeq) : null;
  const behindS = looked && liveFrame && looked.time !== null && liveFrame.time !== null
    ? liveFrame.time - looked.time : null;
  bar.render({
    available: historyAvailable,
    looking: timeline.looking && !blink.on,
    seq: blink.on ? pinned && pinned.seq : timeline.seq,
    behindS,
    newCount: timeline.newCount,
    canBack: timeline.previous() !== null,
    canForward: timeline.next() !== null,
    blinking: blink.on,
  });
}

/** The image job of kept frame `seq` (its JPEG, pyramid and data.json content), or null
 *  when the server no longer keeps it. */
async function earlierJob(seq) {
  let data;
  try {
    ({ data } = await fetchJson(`history/${seq}.json`));
  } catch {
    return null;
  }
  const { own } = splitMetadata(data);
  return {
    seq,
    url: ofRun(`history/${seq}.jpg`, own.time),
    key: `history-${epoch}-${seq}`,
    info: { metadata: data, own: { seq, ...own }, waiting: false },
    options: { tiles: tilesOf(null, data) },
  };
}

/** Look at kept frame `frame` (zoom and pan stay as they are). */
async function lookAt(frame) {
  if (blink.on) blink.stop();
  timeline.lookAt(frame.seq);
  renderTimeline();
  const job = await earlierJob(frame.seq);
  if (timeline.seq !== frame.seq) return;  // stepped on meanwhile
  if (!job) {
    // Dropped from the history since: move on to the next kept one, or live.
    timeline.dropped(frame.seq);
    const later = timeline.next();
    if (later) lookAt(later);
    else goLive();
    return;
  }
  display(job);
}

function goLive() {
  if (blink.on) blink.stop();
  timeline.goLive();
  renderTimeline();
  showLive();
}

async function startBlink() {
  const frame = timeline.looking ? timeline.frame(timeline.seq) ?? { seq: timeline.seq } : timeline.previous();
  if (!frame) return;
  const job = await earlierJob(frame.seq);
  if (!job) {
    timeline.dropped(frame.seq);
    renderTimeline();
    return;
  }
  pinned = job;
  timeline.goLive();
  blink.start(job.seq);
  renderTimeline();
}

bar.addEventListener("back", () => {
  const frame = timeline.previous();
  if (frame) lookAt(frame);
});
bar.addEventListener("forward", () => {
  if (!timeline.looking) return;
  const frame = timeline.next();
  if (frame) lookAt(frame);
  else goLive();
});
bar.addEventListener("live", goLive);
bar.addEventListener("blink", () => (blink.on ? goLive() : startBlink()));
bar.addEventListener("rate", (event) => blink.setRate(event.detail));
blink.addEventListener("flip", (event) => {
  if (event.detail.side === "pinned" && pinned) display(pinned);
  else showLive();
});
blink.addEventListener("stop", () => { pinned = null; });

// For tests and the curious: the live pieces, read-only.
globalThis.framecast = Object.freeze({
  view,
  live,
  status,
  stream: here.name,
  timeline,
  blink,
  help,
  tools,
  get operatorDecided() { return operator.decided; },
});

live.open();
