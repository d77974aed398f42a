// The point tool (docs/viewer.md, "Scientific tools"): a click on the image marks a pixel
// and asks before it goes to the producer; Send, or a second click on the same pixel, sends
// `{"cmd": "point", "x", "y", "stream"}` over the control channel, and a banner says what
// was sent and what the producer answered. × (or Esc) forgets the pixel, nothing sent.

import { POINT } from "../messages.js";

export class PointTool {
  /** `banners`: the Banners over the image; `reply`: the Banner that says what was sent;
   *  `stream`: this page's stream; `redraw()`: the marks changed (`pending` is drawn on the
   *  image). */
  constructor(banners, { reply, stream, redraw }) {
    this.stream = stream;
    this.redraw = redraw;
    this.control = null;        // the operator's control channel, when allowed
    this.pending = null;        // the pixel asked about, {x, y}
    this.reply = reply;
    this.ask = banners.banner("point-ask", "warn");
    const send = document.createElement("button");
    send.type = "button";
    send.id = "point-send";
    send.textContent = "Send";
    this.ask.text.after(send);
    send.addEventListener("click", () => this.send());
    this.ask.element.querySelector(".dismiss").addEventListener("click", () => this.cancel());
  }

  /** A click on `pixel` with the tool on: the first asks, the same pixel again sends. */
  tap(pixel) {
    if (!this.control) return;
    const pending = this.pending;
    if (pending && pending.x === pixel.x && pending.y === pixel.y) {
      this.send();
      return;
    }
    this.pending = pixel;
    this.ask.say(`Send x ${pixel.x}, y ${pixel.y} to the producer? Send, or click it again.`);
    this.redraw();
  }

  /** Forget the pixel asked about (nothing is sent). */
  cancel() {
    if (!this.pending) return;
    this.pending = null;
    this.ask.hide();
    this.redraw();
  }

  /** Send the pixel asked about; say what was sent and what the producer answered. */
  async send() {
    const pixel = this.pending;
    this.cancel();
    if (!pixel || !this.control) return;
    const say = (text, bad = false) => this.reply.say(text, { bad, forMs: 8000 });
    const named = this.stream && this.stream !== "default" ? ` (stream ${this.stream})` : "";
    const what = `point x ${pixel.x}, y ${pixel.y}${named}`;
    try {
      const reply = await this.control.send({ cmd: POINT, x: pixel.x, y: pixel.y, stream: this.stream });
      if (reply && (reply.error || reply.ok === false)) {
        say(`sent ${what}; the producer refused it: ${reply.error || reply.reason || "no reason given"}`, true);
      } else {
        say(`sent ${what} to the producer`);
      }
    } catch (error) {
      say(`${what} not sent: ${error.message || error}`, true);
    }
  }
}
