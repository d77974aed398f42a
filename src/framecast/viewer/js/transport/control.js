// The operator's channel `control`: a WebSocket carrying JSON commands and the server's
// replies, one command at a time (docs/control.md). Never touches the DOM.

import { socketUrl } from "./live.js";

/**
 * The operator channel (`control`, a WebSocket carrying JSON commands and replies).
 * `connect()` resolves to true when the server accepted the upgrade, false when it
 * refused (no control channel, or a missing/wrong token: HTTP 401) or is unreachable.
 * `send(fields)` resolves to the server's reply object (one command at a time, in order).
 */
export class ControlChannel {
  constructor({ pageUrl, path = "control", token = null, timeoutMs = 10000 } = {}) {
    const url = new URL(socketUrl(path, pageUrl));
    if (token) url.searchParams.set("token", token);
    this.url = url.href;
    this.timeoutMs = timeoutMs;
    this.socket = null;
    this.opening = null;
    this.chain = Promise.resolve();
    this.pending = null;
  }

  connect() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return Promise.resolve(true);
    if (this.opening) return this.opening;
    this.opening = new Promise((resolve) => {
      let socket;
      try {
        socket = new WebSocket(this.url);
      } catch {
        this.opening = null;
        resolve(false);
        return;
      }
      let opened = false;
      socket.onopen = () => {
        opened = true;
        this.socket = socket;
        this.opening = null;
        resolve(true);
      };
      socket.onmessage = (event) => {
        const pending = this.pending;
        this.pending = null;
        if (!pending) return;
        let reply;
        try {
          reply = JSON.parse(event.data);
        } catch {
          reply = { ok: false, error: "unreadable reply" };
        }
        pending.resolve(reply);
      };
      socket.onclose = () => {
        if (this.socket === socket) this.socket = null;
        if (this.pending) {
          this.pending.reject(new Error("control channel closed"));
          this.pending = null;
        }
        if (!opened) {
          this.opening = null;
          resolve(false);
        }
      };
      socket.onerror = () => {};
    });
    return this.opening;
  }

  send(fields) {
    const run = async () => {
      if (!(await this.connect())) throw new Error("control channel unavailable");
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending = null;
          reject(new Error("no reply from the server"));
        }, this.timeoutMs);
        this.pending = {
          resolve: (value) => { clearTimeout(timer); resolve(value); },
          reject: (error) => { clearTimeout(timer); reject(error); },
        };
        this.socket.send(JSON.stringify(fields));
      });
    };
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => {});
    return result;
  }

  close() {
    if (this.socket) this.socket.close();
    this.socket = null;
  }
}
