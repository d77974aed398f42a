// What the server says about itself (api/status, docs/status.md): read when a connection
// comes up, every 30 s while live, and after an image when the last read is older than 5 s.
// Older servers, or another web server serving the folder, have no api/status: then nothing
// is said and the extras it feeds stay hidden. No DOM: the answer goes out as a "status"
// event; the text helpers are pure.

import { fetchJson } from "./transport.js";

/** The streams api/status lists ({name: counters}), or {} for a server without streams. */
export function streamsOf(info) {
  return info && info.streams && typeof info.streams === "object" ? info.streams : {};
}

/** The server line under the metadata: version, viewers, frames published and superseded —
 *  `stream`'s own counters when the server has streams. */
export function serverLine(info, stream) {
  const own = streamsOf(info)[stream];
  const counters = own && typeof own === "object" ? own : info;
  const parts = [];
  if (info.version) parts.push(`framecast ${info.version}`);
  if (typeof counters.clients === "number") parts.push(`${counters.clients} viewer${counters.clients === 1 ? "" : "s"}`);
  if (counters.frames_published) parts.push(`${counters.frames_published} published`);
  const superseded = counters.frames_superseded ?? counters.frames_dropped;  // older servers
  if (superseded) parts.push(`${superseded} superseded`);
  return parts.join(" · ");
}

/** The address of the page at `pathname` for other devices: the server's displayed URL (its
 *  root) with the page's path below the root `base` (s/NAME/ for a stream). */
export function pageAddress(serverUrl, pathname, base) {
  if (!serverUrl) return serverUrl;
  try {
    return new URL(pathname.slice(base.length), serverUrl).href;
  } catch {
    return serverUrl;
  }
}

export class ServerStatus extends EventTarget {
  /** `path`: the server's api/status (at its root, not the stream's). */
  constructor(path, { refreshMs = 30000, staleMs = 5000 } = {}) {
    super();
    this.path = path;
    this.refreshMs = refreshMs;
    this.staleMs = staleMs;
    this.loadedAt = 0;
    this.timer = null;
  }

  /** Read api/status now. Resolves to its answer, also sent as a "status" event, or to null
   *  when the server has none. */
  async load() {
    this.loadedAt = Date.now();
    let info;
    try {
      ({ data: info } = await fetchJson(this.path));
    } catch {
      return null;
    }
    this.dispatchEvent(new CustomEvent("status", { detail: info }));
    return info;
  }

  /** Read again when the last read is older than `staleMs`. */
  refresh() {
    if (Date.now() - this.loadedAt > this.staleMs) this.load();
  }

  /** Read every `refreshMs` while `on` (the page is live). */
  poll(on) {
    clearInterval(this.timer);
    this.timer = on ? setInterval(() => this.load(), this.refreshMs) : null;
  }
}
