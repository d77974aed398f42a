// Wires the viewer together: the page's elements are found here, and only here, and each
// component is handed its root; the transport's events go to the live state (livestate.js),
// which says what to show; what it says is fetched through the transport and shown in the
// view. Nothing is decided here (see docs/viewer.md, "Files and modules").

import { ControlChannel, LiveConnection, decodeImage, fetchJson, sendJson } from "./transport.js";
import { ImageView } from "./viewer.js";
import { InfoPanel } from "./metadata.js";
import { StatusDisplay } from "./status.js";
import { parseFrame, parseView, recalledView, rememberFrame, rememberView } from "./viewstate.js";
import { DEFAULT_STREAM, pageStream, parseStreams } from "./streams.js";
import { StreamMenu } from "./streammenu.js";
import { setupToggles } from "./controls.js";
import { ScreenAwake } from "./wakelock.js";
import { ShareDialog } from "./share.js";
import { HelpDialog } from "./help.js";
import { OperatorControls } from "./operator.js";
import { parseHistory } from "./timeline.js";
import { Blink, DEFAULT_BLINK_RATE } from "./blink.js";
import { TimelineBar } from "./timelinebar.js";
import { Tools } from "./tools/tools.js";
import { Banners } from "./banners.js";
import { LiveState } from "./livestate.js";
import { CatchUp } from "./catchup.js";
import { ServerStatus, pageAddress, serverLine, streamsOf } from "./serverstatus.js";
import { MARKS, NEW_IMAGE } from "./messages.js";
import { Follow } from "./follow.js";
import { AlertBanner } from "./alertbanner.js";

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token");
// The stream this page shows (/s/NAME/, or the default stream at the root), and the
// server's root for what is not per stream (api/status, api/streams).
const here = pageStream(location.pathname);

// ---- the components, each given its root ----------------------------------------------

const status = new StatusDisplay({
  status: $("status"),
  statusText: $("status-text"),
  age: $("age"),
  fps: $("fps"),
  notice: $("notice"),
  noticeTitle: $("notice-title"),
  noticeText: $("notice-text"),
});
status.setStream(here.name === DEFAULT_STREAM ? null : here.name);
const panel = new InfoPanel($("panel"));
const view = new ImageView($("osd"), { prefixUrl: "icons/", initialView: recalledView(here.name), loadImage: decodeImage });
// Per stream: /s/NAME/qr.svg encodes that stream's page.
const share = new ShareDialog({ button: $("btn-share"), dialog: $("share-dialog"), image: $("share-qr"), link: $("share-url"), qrPath: "qr.svg" });
const streams = new StreamMenu($("stream-switch"), { base: here.base, current: here.name });
const banners = new Banners(document.querySelector(".banners"));
const accessWarning = banners.banner("access-warning", "warn");
const operator = new OperatorControls($("operator"), { reply: banners.banner("operator-reply") });
const awake = new ScreenAwake();
const help = new HelpDialog($("help-dialog"), { button: $("btn-help") });
setupToggles({
  nightButton: $("btn-night"),
  infoButton: $("btn-info"),
  imageElement: $("image"),
  themeColour: document.querySelector('meta[name="theme-color"]'),
});
const state = new LiveState();
const blink = new Blink();
const bar = new TimelineBar($("timeline"), { imageElement: $("image"), rateHz: DEFAULT_BLINK_RATE });
// The stream's shared marks (docs/together.md): read by anyone, changed with the page's token.
const marksApi = {
  list: () => fetchJson("api/marks").then(({ data }) => ({ status: 200, data })),
  add: (mark) => sendJson("api/marks", { method: "POST", body: mark, token }),
  remove: (id) => sendJson(`api/marks/${encodeURIComponent(id)}`, { method: "DELETE", token }),
};
const tools = new Tools($("image"), { dock: $("side"), view, banners, help, stream: here.name, keptFrames: () => state.timeline.frames, marksApi });
const live = new LiveConnection({ pageUrl: location.href, probePath: `${here.base}api/status` });
const server = new ServerStatus(`${here.base}api/status`);
const alerts = new AlertBanner(banners.banner("server-alert", "warn"));
const follow = new Follow($("together"), {
  image: $("osd"), banner: banners.banner("together-note", "info"), send: (message) => live.send(message), token, help,
  sheet: $("tools-together"), listening: () => live.via === "sse",
});

// "Skip to the image" focuses the image without touching the hash (it holds the view).
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  view.focus();
});

// ---- showing images ---------------------------------------------------------------------

/** Show an image job; with levels on, the scientific tools give its raw tiles instead. */
function display(job) {
  if (!job) return;
  const raw = tools.tilesFor(job.info);
  view.show(job.url, job.key + tools.keySuffix(), job.info, raw ? { ...job.options, tiles: raw } : job.options);
}

/** Offer the image `metadata` describes to the state; show it if it says so. */
function offer(metadata, message = null, url = null) {
  display(state.offer(metadata, message, { url, hasImage: view.hasImage, now: Date.now() }));
}

async function readData() {
  const { data, date } = await fetchJson("data.json");
  status.clock.addDate(date, Date.now());
  return data;
}

const catchUp = new CatchUp({ state, read: readData, offer: (metadata, message) => offer(metadata, message) });

view.addEventListener("shown", (event) => {
  tools.shown(event.detail);
  const { info } = event.detail;
  panel.showImage(info, event.detail);
  const seq = info.waiting ? null : info.own.seq;
  status.setImage({ seq, timeS: info.waiting ? null : info.own.time, waiting: info.waiting, history: seq !== null && state.isHistory(seq) });
  server.refresh();  // the server's counters, roughly current without asking at every frame
});
view.addEventListener("loaderror", (event) => {
  // The image vanished between notification and request (server restarting, or a frame
  // dropped from the history): the next notification or reconnection brings a new one.
  if (state.loadFailed(event.detail.key)) catchUp.run();
});
view.addEventListener("viewchange", (event) => rememberView(event.detail, here.name));
addEventListener("pagehide", () => rememberView(view.view(), here.name));

// ---- the server's status ----------------------------------------------------------------

server.addEventListener("status", (event) => {
  const info = event.detail;
  accessWarning.toggle(Boolean(info.access_limited));
  share.setUrl(pageAddress(info.url, location.pathname, here.base), { tokenInQr: Boolean(info.viewer_token_required) });
  loadStreams(Object.keys(streamsOf(info)).length);
  panel.setServerLine(serverLine(info, here.name));
  tools.setLimits(info.limits);
  operator.offer(info, { token, makeChannel: () => new ControlChannel({ pageUrl: location.href, token }) })
    .then(() => tools.setControl(operator.buttons.some((b) => !b.hidden) ? operator.channel : null));
});

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

/** Ask the server which frames it keeps. A server with a history says so in api/status
 *  (`history_bytes`); without one (an older server, another web server serving the folder)
 *  the timeline stays hidden, nothing is asked (no 404 in the console) and everything else
 *  works as before. */
async function loadHistory(info) {
  let frames = null;
  if (info && typeof info === "object" && "history_bytes" in info) {
    try {
      frames = parseHistory((await fetchJson("api/history")).data);
    } catch {
      frames = null;
    }
  }
  state.historyKnown(frames);
  if (frames) tools.historyLoaded();
  renderBar();
}

// ---- the live channel -------------------------------------------------------------------

live.addEventListener("state", (event) => {
  const { state: connection, via, retryInMs } = event.detail;
  status.setConnection(connection, { via, retryInMs });
  awake.keep(connection !== "stopped");
  server.poll(connection === "live");
});

live.addEventListener("connected", async () => {
  follow.reconnected();
  // A new connection may be a new server: the kept frames are asked again, from live.
  const mine = state.connected();
  blink.stop();
  renderBar();
  server.load().then((info) => {
    if (mine === state.epoch) loadHistory(info);
  });
  tools.marks.load();
  try {
    const data = await readData();
    if (mine === state.epoch) offer(data);
  } catch {
    // The connection will tell us about the next image; nothing else to do.
  }
});

live.addEventListener("message", (event) => {
  const message = event.detail;
  follow.heard(message);
  alerts.heard(message);
  if (message.type === MARKS) tools.marks.received(message);
  if (message.type !== NEW_IMAGE) return;
  status.frameReceived(message);
  tools.notified(message);
  const next = state.notified(message, { hasImage: view.hasImage, now: Date.now() });
  renderBar();
  if (next.catchUp) catchUp.run();
  else display(next.show);
});

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") live.retryNow();
});
document.addEventListener("pointerdown", () => awake.keep(live.state !== "stopped"), { once: true });

// ---- history: timeline and blink (docs/viewer.md, "Looking back") -----------------------

function renderBar() {
  bar.render(state.bar());
}

/** The job of kept frame `seq` (its JPEG, pyramid and data.json content), or null when the
 *  server no longer keeps it. */
async function earlierJob(seq) {
  try {
    return state.earlierJob(seq, (await fetchJson(`history/${seq}.json`)).data);
  } catch {
    return null;
  }
}

/** Look at kept frame `frame` (zoom and pan stay as they are). */
async function lookAt(frame) {
  blink.stop();
  state.lookAt(frame.seq);
  rememberFrame(frame.seq);
  renderBar();
  const next = state.looked(frame.seq, await earlierJob(frame.seq));
  if (!next) return;  // stepped on meanwhile
  if (next.show) display(next.show);
  else if (next.lookAt) lookAt(next.lookAt);
  else goLive();
}

function goLive() {
  blink.stop();
  rememberFrame(null);
  const job = state.goLive();
  renderBar();
  display(job);
}

async function startBlink() {
  const frame = state.blinkFrame();
  if (!frame) return;
  if (state.pin(frame.seq, await earlierJob(frame.seq))) blink.start(frame.seq);
  renderBar();
}

bar.addEventListener("back", () => {
  const frame = state.timeline.previous();
  if (frame) lookAt(frame);
});
bar.addEventListener("forward", () => {
  if (!state.timeline.looking) return;
  const frame = state.timeline.next();
  if (frame) lookAt(frame);
  else goLive();
});
bar.addEventListener("live", goLive);
bar.addEventListener("blink", () => (state.blinking ? goLive() : startBlink()));
bar.addEventListener("rate", (event) => blink.setRate(event.detail));
blink.addEventListener("flip", (event) => display(state.side(event.detail.side)));
blink.addEventListener("stop", () => state.unpin());
tools.addEventListener("sourcechange", () => {
  const again = state.again();
  if (again && again.lookAt) lookAt(again.lookAt);
  else if (again) display(again.show);
});

// ---- the fragment: a followed presenter's view, or one edited in the address bar ---------

/** Show what the address's fragment says: zoom and pan, the tools, the frame (a component
 *  that keeps more in the fragment listens to "hashchange" too: docs/together.md). */
function showFragment() {
  const hash = location.hash;
  const wanted = parseView(hash);
  if (wanted) view.setView(wanted);
  else if (view.moved) view.home();
  tools.follow(hash);
  const seq = parseFrame(hash);
  if (seq !== null && seq !== state.timeline.seq) lookAt({ seq });
  else if (seq === null && state.timeline.looking) goLive();
}

addEventListener("hashchange", showFragment);
follow.addEventListener("apply", (event) => {
  const hash = event.detail.view ? `#${event.detail.view}` : "";
  if (hash !== location.hash) {
    history.replaceState(history.state, "", `${location.pathname}${location.search}${hash}`);
  }
  dispatchEvent(new HashChangeEvent("hashchange"));  // the page, and every component, follow
});

// For tests and the curious: the live pieces, read-only.
globalThis.framecast = Object.freeze({
  view,
  live,
  status,
  stream: here.name,
  state,
  timeline: state.timeline,
  blink,
  help,
  tools,
  follow,
  get operatorDecided() { return operator.decided; },
});

live.open();
