// Operator buttons ("Save snapshot", "Reset counters"), shown only when the server has a
// control channel and this page may use it (no token required, or ?token=… in the URL),
// and hidden again if the server refuses the connection (HTTP 401). The server's reply is
// shown in a banner.

import { COMMANDS } from "./messages.js";
import { parts } from "./elements.js";

function describe(reply) {
  if (!reply || typeof reply !== "object") return { ok: false, text: "unexpected reply" };
  // A refusal (no frame yet, too many commands) carries `reason`; a failed command only `error`.
  if (reply.ok === false && reply.reason) return { ok: false, text: `refused: ${reply.reason}` };
  if (reply.error) return { ok: false, text: `error: ${reply.error}` };
  if (reply.ok === false) return { ok: false, text: "refused: no reason given" };
  if (reply.saved) return { ok: true, text: `snapshot saved: ${reply.saved}` };
  if (reply.counters === "reset") return { ok: true, text: "counters reset" };
  return { ok: true, text: JSON.stringify(reply) };
}

export class OperatorControls {
  /** `root`: the element holding the two buttons (#operator); `reply`: the Banner the
   *  server's replies are said in. The control channel is made by `offer`. */
  constructor(root, { reply }) {
    const { snapshot, reset } = parts(root, { snapshot: "btn-operator-snapshot", reset: "btn-operator-reset" });
    this.buttons = [snapshot, reset];
    this.reply = reply;
    this.channel = null;
    this.decided = false;  // true once offer() has shown or hidden the buttons
    snapshot.addEventListener("click", () => this.run({ cmd: COMMANDS.snapshot }));
    reset.addEventListener("click", () => this.run({ cmd: COMMANDS.reset }));
  }

  /** Decide from api/status whether the buttons can be offered; probe the channel. */
  async offer(status, { token, makeChannel }) {
    const allowed = Boolean(status && status.control) && (!status.token_required || Boolean(token));
    if (!allowed) {
      this._show(false);
    } else {
      if (!this.channel) this.channel = makeChannel();
      this._show(await this.channel.connect());
    }
    this.decided = true;
  }

  async run(fields) {
    if (!this.channel) return;
    this.buttons.forEach((b) => { b.disabled = true; });
    try {
      const reply = await this.channel.send(fields);
      this._say(describe(reply));
    } catch (error) {
      this._say({ ok: false, text: String(error.message || error) });
      if (!(await this.channel.connect())) this._show(false);
    } finally {
      this.buttons.forEach((b) => { b.disabled = false; });
    }
  }

  _show(visible) {
    this.buttons.forEach((b) => { b.hidden = !visible; });
  }

  _say({ ok, text }) {
    this.reply.say(text, { bad: !ok, forMs: 8000 });
  }
}
