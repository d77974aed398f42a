// The live channel: notifications on the WebSocket `ws`, with the Server-Sent Events stream
// `events` as a fallback, reconnected with jittered exponential backoff for ever (see
// docs/viewer.md, "How it stays live"). Never touches the DOM: it reports through events.
//
// Every URL is relative to the page, so the viewer also works under a sub-path
// (https://host/cams/north/) or when another web server serves the same folder.

import { ALERT, DISCONNECT, MARKS, NEW_IMAGE, PRESENTER } from "../messages.js";
import { fetchJson } from "./http.js";

/** Delay in ms before reconnection attempt `attempt` (0-based): jittered exponential backoff.
 *  The first retry is fast; later ones double up to `capMs`; each is "full jitter" within
 *  [half, full] of the step so that many viewers do not reconnect in lockstep. */
export function backoffDelay(attempt, { baseMs = 250, capMs = 5000, random = Math.random } = {}) {
  const step = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(step / 2 + random() * (step / 2));
}

/** A connection up for this long counts as working: its loss is retried fast again. */
const STABLE_MS = 5000;

/** ws:// or wss:// URL of `path` relative to `pageUrl` (wss when the page came over https). */
export function socketUrl(path, pageUrl) {
  const url = new URL(path, pageUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.hash = "";
  return url.href;
}

/** Parse one notification (the JSON text of a /ws message or an SSE event's data).
 *  Returns null for anything that is not an object with a string `type`. */
export function parseMessage(text, fallbackType = null) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return fallbackType ? { type: fallbackType } : null;
  }
  if (message === null || typeof message !== "object" || Array.isArray(message)) {
    return fallbackType ? { type: fallbackType } : null;
  }
  if (typeof message.type !== "string") {
    if (!fallbackType) return null;
    message.type = fallbackType;
  }
  return message;
}

/**
 * The live channel. Events (all CustomEvent, payload in `detail`):
 *   "state"      {state: "connecting"|"live"|"reconnecting"|"stopped", via: "ws"|"sse"|null,
 *                 retryInMs?: number, attempt?: number}
 *   "connected"  {via} — a (re)connection is up: fetch the current image and data.json now
 *   "message"    the parsed message ({type: "new_image", seq?, time?, metadata?, ...}),
 *                with `receivedAt` (epoch ms) added
 *   "disconnect" {} — the server announced it is stopping
 *
 * After "disconnect" or a lost connection it keeps trying to reconnect with jittered
 * exponential backoff (first retry fast, capped at `capMs`), forever, until close().
 * When the WebSocket cannot be opened but the server answers HTTP, it tries the
 * Server-Sent Events stream `events` instead (tolerating its absence).
 */
export class LiveConnection extends EventTarget {
  constructor({ pageUrl, wsPath = "ws", ssePath = "events", probePath = "api/status",
                capMs = 5000, baseMs = 250, random = Math.random } = {}) {
    super();
    this.wsUrl = socketUrl(wsPath, pageUrl);
    this.ssePath = ssePath;
    this.probePath = probePath;
    this.capMs = capMs;
    this.baseMs = baseMs;
    this.random = random;
    this.attempt = 0;          // failed attempts since the last stable connection
    this.upSince = 0;
    this.wsFailures = 0;       // consecutive WebSocket failures while HTTP was reachable
    this.sseUnavailableUntil = 0;
    this.socket = null;
    this.source = null;
    this.timer = null;
    this.closed = false;
    this.stoppedByServer = false;
    this.state = "connecting";
    this.via = null;
  }

  /** Start connecting (idempotent). */
  open() {
    this.closed = false;
    if (!this.socket && !this.source && !this.timer) this._connect();
  }

  /** Stop for good: close the channel and cancel any pending retry. */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = null;
    this._dropSocket();
    this._dropSource();
  }

  /** Send `message` (an object, as JSON) on the WebSocket; false when it is not open (not
   *  connected, or connected through the event stream, which only listens). */
  send(message) {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  /** Skip the remaining backoff and try again now (e.g. the tab became visible again). */
  retryNow() {
    if (this.closed || this.socket || this.source) return;
    clearTimeout(this.timer);
    this.timer = null;
    this._connect();
  }

  _emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setState(state, extra = {}) {
    this.state = state;
    this._emit("state", { state, via: this.via, ...extra });
  }

  _connect() {
    this.timer = null;
    if (this.closed) return;
    if (this.wsFailures >= 2 && Date.now() >= this.sseUnavailableUntil && "EventSource" in globalThis) {
      this._connectSse();
    } else {
      this._connectWs();
    }
  }

  _connectWs() {
    let socket;
    try {
      socket = new WebSocket(this.wsUrl);
    } catch {
      this._lost(false);
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this._up("ws");
    };
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      const message = parseMessage(event.data);
      if (message) this._message(message);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (!opened) this._wsFailed();
      else this._lost(true);
    };
    socket.onerror = () => {};  // always followed by close
  }

  async _wsFailed() {
    // The WebSocket could not open. If plain HTTP works, something between us and the
    // server (a proxy) may block WebSockets: count it, and after two such failures try SSE.
    try {
      await fetchJson(this.probePath, { timeoutMs: 2000 });
      this.wsFailures += 1;
    } catch {
      this.wsFailures = 0;  // the server itself is unreachable
    }
    this._lost(false);
  }

  _connectSse() {
    let source;
    try {
      source = new EventSource(this.ssePath);
    } catch {
      this.sseUnavailableUntil = Date.now() + 60000;
      this._lost(false);
      return;
    }
    this.source = source;
    let opened = false;
    source.onopen = () => {
      if (!opened) {
        opened = true;
        this._up("sse");
      } else {
        this._up("sse");  // EventSource reconnected by itself
      }
    };
    source.addEventListener(NEW_IMAGE, (event) => {
      const message = parseMessage(event.data, NEW_IMAGE);
      if (message) this._message(message);
    });
    // The stream's notices (docs/together.md): each an event named after its type.
    for (const type of [MARKS, PRESENTER, ALERT]) {
      source.addEventListener(type, (event) => {
        const message = parseMessage(event.data, type);
        if (message) this._message(message);
      });
    }
    source.addEventListener(DISCONNECT, () => this._message({ type: DISCONNECT }));
    source.onmessage = (event) => {
      const message = parseMessage(event.data);
      if (message) this._message(message);
    };
    source.onerror = () => {
      if (this.source !== source) return;
      // A 404 (no /events on this server) or a refused connection closes it for good;
      // a dropped stream is retried by the browser. We take over retries either way so
      // that the WebSocket is preferred again as soon as it works.
      this._dropSource();
      if (opened) {
        this._lost(true);  // stream ended: next attempt is the stream again (wsFailures kept)
      } else {
        this._sseFailed();
      }
    };
  }

  async _sseFailed() {
    // The stream could not be opened. If the server answers HTTP, it has no usable
    // /events (404): go back to the WebSocket and leave the stream alone for a minute.
    // If the server is down, stay with the stream: it is what works once it is back.
    try {
      await fetchJson(this.probePath, { timeoutMs: 2000 });
      this.sseUnavailableUntil = Date.now() + 60000;
      this.wsFailures = 0;
    } catch {
      /* server unreachable */
    }
    this._lost(false);
  }

  _up(via) {
    this.upSince = Date.now();
    this.via = via;
    this.stoppedByServer = false;
    if (via === "ws") this.wsFailures = 0;
    this._setState("live");
    this._emit("connected", { via });
  }

  _message(message) {
    message.receivedAt = Date.now();
    if (message.type === DISCONNECT) {
      if (Date.now() - this.upSince > STABLE_MS) this.attempt = 0;
      this.stoppedByServer = true;
      this._setState("stopped");
      this._emit(DISCONNECT, {});
      // The server closes the connection right after; make sure we do not wait for it.
      this._dropSocket();
      this._dropSource();
      this._schedule();
      return;
    }
    this._emit("message", message);
  }

  _lost(wasUp) {
    if (this.closed) return;
    // A connection that held for a while earns a fast first retry; one that is accepted
    // and dropped at once (a misbehaving proxy) keeps backing off instead of hammering.
    if (wasUp && !this.stoppedByServer && Date.now() - this.upSince > STABLE_MS) this.attempt = 0;
    this._schedule();
  }

  _schedule() {
    if (this.closed || this.timer) return;
    const delay = backoffDelay(this.attempt, { baseMs: this.baseMs, capMs: this.capMs, random: this.random });
    this.attempt += 1;
    this.via = null;
    this._setState(this.stoppedByServer ? "stopped" : "reconnecting", { retryInMs: delay, attempt: this.attempt });
    this.timer = setTimeout(() => this._connect(), delay);
  }

  _dropSocket() {
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try { socket.close(); } catch { /* already closed */ }
    }
  }

  _dropSource() {
    const source = this.source;
    this.source = null;
    if (source) {
      source.onopen = source.onmessage = source.onerror = null;
      source.close();
    }
  }
}
