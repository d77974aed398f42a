// The overview page (streams.html), and its wiring: one live card per stream — its latest
// image, name, viewers and the age of its image — each a link to that stream's viewer.
//
// Bounded cost, whatever the number of streams: one api/streams read every 1.5 s (none
// while the page is hidden), and a thumbnail is loaded only when its stream's seq changed
// and its card is on screen (IntersectionObserver); a card scrolled into view catches up
// at once. No WebSocket per stream: 64 cameras on a phone are 64 <img>, not 64 sockets.
// A new thumbnail is decoded off screen and swapped in whole (no blank, no half image).

import { JsonPoller } from "./transport.js";
import { ClockOffset, formatAge } from "./status.js";
import { nightToggle, typing } from "./controls.js";
import { pageStream, parseStreams, streamHref, thumbnailHref, viewersText } from "./streams.js";

const POLL_MS = 1500;
const $ = (id) => document.getElementById(id);
const { base } = pageStream(location.pathname);
const clock = new ClockOffset();

const night = nightToggle($("btn-night"), { themeColour: document.querySelector('meta[name="theme-color"]') });
document.addEventListener("keydown", (event) => {
  if (!typing(event) && event.key === "n") night.set(!night.on);
});

/** One stream's card. */
class Card {
  constructor(name) {
    this.name = name;
    this.entry = null;
    this.visible = false;
    this.shownKey = null;    // thumbnail URL on screen
    this.loading = false;
    this.failedKey = null;   // a URL that failed: not retried until the stream moves on
    this.item = document.createElement("li");
    this.item.dataset.stream = name;
    const link = document.createElement("a");
    link.className = "card";
    link.href = streamHref(base, name);
    this.thumb = document.createElement("div");
    this.thumb.className = "thumb";
    this.waiting = document.createElement("span");
    this.waiting.className = "waiting";
    this.waiting.textContent = "no image yet";
    this.thumb.append(this.waiting);
    const title = document.createElement("span");
    title.className = "name";
    title.textContent = name;
    this.viewers = document.createElement("span");
    this.viewers.className = "viewers";
    this.age = document.createElement("span");
    this.age.className = "age";
    link.append(this.thumb, title, this.viewers, this.age);
    this.item.append(link);
  }

  update(entry) {
    this.entry = entry;
    const viewers = viewersText(entry.clients);
    if (this.viewers.textContent !== viewers) this.viewers.textContent = viewers;
    if (entry.width && entry.height) this.thumb.style.aspectRatio = `${entry.width} / ${entry.height}`;
    this.tick(Date.now());
    this.load();
  }

  tick(now) {
    const time = this.entry && this.entry.seq > 0 ? this.entry.time : null;
    const text = typeof time === "number"
      ? `updated ${formatAge((now - clock.ms - time * 1000) / 1000)} ago`
      : "no image yet";
    if (this.age.textContent !== text) this.age.textContent = text;
  }

  /** Load the stream's current image if it is not on screen yet and the card is visible. */
  load() {
    const entry = this.entry;
    if (!entry || entry.seq <= 0 || !this.visible || this.loading) return;
    const url = thumbnailHref(base, entry);
    if (url === this.shownKey || url === this.failedKey) return;
    this.loading = true;
    const image = new Image();
    image.alt = `latest image of ${this.name}`;
    image.decoding = "async";
    image.src = url;
    image.decode().then(() => {
      for (const old of this.thumb.querySelectorAll("img")) old.remove();
      image.dataset.seq = String(entry.seq);
      this.thumb.prepend(image);
      this.waiting.hidden = true;
      this.shownKey = url;
    }, () => {
      this.failedKey = url;  // vanished (stream restarted): the next seq brings a new one
    }).finally(() => {
      this.loading = false;
      this.load();  // the stream may have moved on while this one loaded
    });
  }
}

const cards = new Map();
const list = $("cards");
const observer = new IntersectionObserver((records) => {
  for (const record of records) {
    const card = cards.get(record.target.dataset.stream);
    if (!card) continue;
    card.visible = record.isIntersecting;
    card.load();
  }
}, { rootMargin: "100px" });

function show(entries) {
  const seen = new Set();
  let previous = null;
  for (const entry of entries) {
    seen.add(entry.name);
    let card = cards.get(entry.name);
    if (!card) {
      card = new Card(entry.name);
      cards.set(entry.name, card);
      observer.observe(card.item);
    }
    const anchor = previous ? previous.item.nextSibling : list.firstChild;
    if (card.item !== anchor) list.insertBefore(card.item, anchor);
    card.update(entry);
    previous = card;
  }
  for (const [name, card] of cards) {
    if (!seen.has(name)) {
      observer.unobserve(card.item);
      card.item.remove();
      cards.delete(name);
    }
  }
  $("empty").hidden = entries.length > 0;
  const heading = entries.length === 1 ? "1 stream" : `${entries.length} streams`;
  if ($("heading").textContent !== heading) $("heading").textContent = heading;
}

const STATE_TEXT = { connecting: "connecting…", live: "live", reconnecting: "connection lost · reconnecting" };
const poller = new JsonPoller(`${base}api/streams`, { intervalMs: POLL_MS });
poller.addEventListener("state", (event) => {
  const { state } = event.detail;
  $("status").dataset.state = state;
  $("status-text").textContent = STATE_TEXT[state] || state;
});
poller.addEventListener("data", (event) => {
  const { data, date } = event.detail;
  clock.addDate(date, Date.now());
  show(parseStreams(data));
});
setInterval(() => {
  const now = Date.now();
  for (const card of cards.values()) card.tick(now);
}, 1000);
document.addEventListener("visibilitychange", () => poller.setPaused(document.visibilityState === "hidden"));
poller.open();

// For tests and the curious: the live pieces, read-only.
globalThis.framecast = Object.freeze({ poller, cards });
