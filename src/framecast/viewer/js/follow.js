// Presenting and following (docs/together.md): one viewer of a stream presents, the others
// may follow. The presenter's view is its URL fragment (viewstate.js, the tools' toolstate.js,
// the frame: everything a copied link reopens), sent as text on the live socket whenever it
// changes, at most every PRESENT_EVERY_MS; a follower puts the presenter's fragment in its own
// address and shows it ("apply"). A follower who zooms or pans the image stops following.
//
// The root is the span in the page's bar the two buttons are laid in ("Present", "Follow");
// `sheet`, when given, gets the same two (a phone's bar has no room for Present: its tools
// have them). The banner says who presents and what happened. Never touches the network:
// `send` does.

import { PRESENT, PRESENTER, PRESENTING, STOP_PRESENTING } from "./messages.js";
import { FRAGMENT_WRITTEN } from "./viewstate.js";

/** The presenter's fragment is looked at this often, and sent only when it changed; when the
 *  page writes it, it is sent at once (at most this often still): before the redrawing that
 *  follows a change (levels repaint every tile on screen) can hold it back. */
export const PRESENT_EVERY_MS = 100;

const buttons = (suffix) => `
  <button type="button" id="btn-present${suffix}" aria-pressed="false" title="Show your view to everyone watching this stream">Present</button>
  <button type="button" id="btn-follow${suffix}" aria-pressed="false" title="Show what the presenter shows (f)" hidden>Follow</button>`;

export class Follow extends EventTarget {
  /** `root`: the span the buttons go in; `image`: the image's element (the user's zoom and
   *  pan there stop following); `banner`: a Banner; `send(message)`: sends on the live
   *  socket, false when it is not open; `fragment()`: this page's fragment; `token`: the
   *  operator token of the page's address, if any; `help`: the page's HelpDialog or null;
   *  `sheet`: another element to lay the two buttons in (ids suffixed "-sheet"), or null;
   *  `listening()`: true while the live channel only listens (the event stream).
   *  Event "apply" {view}: show the presenter's fragment `view` (without "#"). */
  constructor(root, { image, banner, send, fragment = () => location.hash, token = null, help = null, sheet = null,
    listening = () => false }) {
    super();
    root.innerHTML = buttons("");
    this.present = root.querySelector("#btn-present");
    this.follow = root.querySelector("#btn-follow");
    this.presentButtons = [this.present];
    this.followButtons = [this.follow];
    if (sheet) {
      sheet.innerHTML = buttons("-sheet");
      this.presentButtons.push(sheet.querySelector("#btn-present-sheet"));
      this.followButtons.push(sheet.querySelector("#btn-follow-sheet"));
    }
    this.banner = banner;
    this.send = send;
    this.fragment = fragment;
    this.token = token;
    this.listening = listening;
    this.mine = null;         // the presentation this page started (its number), once agreed
    this.lastMine = null;     // the one it started before (its notices may still be on the way)
    this.pending = null;      // a presenter message heard before the answer to "present"
    this.presenting = false;  // this page asked to present, or presents
    this.sent = null;         // the fragment last sent
    this.sentAt = 0;          // when (performance.now())
    this.timer = null;
    this.theirs = null;       // someone else's presentation: {id, view}
    this.following = false;

    for (const button of this.presentButtons) {
      button.addEventListener("click", () => (this.presenting ? this.stopPresenting() : this.startPresenting()));
    }
    for (const button of this.followButtons) {
      button.addEventListener("click", () => (this.following ? this.unfollow() : this.startFollowing()));
    }
    document.addEventListener("keydown", (event) => {
      if (event.key !== "f" || event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target;
      if (target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName))) return;
      if (this.theirs) this.following ? this.unfollow() : this.startFollowing();
    });
    // The user's own zoom and pan (pointer, wheel, keys on the image) stop following.
    for (const type of ["pointerdown", "wheel", "keydown"]) {
      image.addEventListener(type, () => {
        if (this.following) this.unfollow("You moved the image: no longer following. Press f to follow again.");
      }, { capture: true, passive: true });
    }
    if (help) help.addRows([row("F", "follow the presenter (zooming or panning stops following)")]);
    addEventListener(FRAGMENT_WRITTEN, () => {
      if (this.presenting && performance.now() - this.sentAt >= PRESENT_EVERY_MS) this._tick();
    });
  }

  // ---- presenting -------------------------------------------------------------------------

  startPresenting() {
    if (this.listening()) {
      this._render("Cannot present: this page's connection only listens (a proxy here blocks WebSockets).");
      return;
    }
    this.unfollow();
    this.presenting = true;
    this.mine = null;
    this.sent = null;
    this._render();
    this._tick();
    clearInterval(this.timer);
    this.timer = setInterval(() => this._tick(), PRESENT_EVERY_MS);
  }

  stopPresenting(text = null) {
    if (this.presenting && this.mine !== null) this.send({ type: STOP_PRESENTING });
    this.presenting = false;
    this.pending = null;
    if (this.mine !== null) this.lastMine = this.mine;
    this.mine = null;
    clearInterval(this.timer);
    this.timer = null;
    this._render(text);
  }

  /** Send the fragment if it changed since it was last sent. */
  _tick() {
    const view = this.fragment().replace(/^#/, "");
    if (view === this.sent) return;
    const message = { type: PRESENT, view };
    if (this.token) message.token = this.token;
    if (this.send(message)) {
      this.sent = view;
      this.sentAt = performance.now();
    }
  }

  // ---- following --------------------------------------------------------------------------

  startFollowing() {
    if (!this.theirs || this.presenting) return;
    this.following = true;
    this._render();
    this.dispatchEvent(new CustomEvent("apply", { detail: { view: this.theirs.view } }));
  }

  unfollow(text = null) {
    this.following = false;
    this._render(text);
  }

  // ---- the live socket --------------------------------------------------------------------

  /** A message from the live socket (only PRESENTER and PRESENTING are this module's). */
  heard(message) {
    if (message.type === PRESENTING) {
      const pending = this.pending;
      this.pending = null;
      if (message.id === null || message.id === undefined) {
        this.stopPresenting(`Cannot present: ${message.error || "refused"}`);
      } else if (this.presenting) {
        this.mine = message.id;
        this._render();
      }
      // Heard before the answer: ours, or one ours took over from (the server tells every
      // viewer of a presentation before answering its presenter). Refused, it is the news.
      if (pending && this.mine === null) this.heard(pending);
    } else if (message.type === PRESENTER) {
      // Every viewer hears who presents, the presenter too: its own presentation is not news.
      // (It may come before the server's answer: it waits for it, to be told apart.)
      if (message.id !== undefined && (message.id === this.mine || message.id === this.lastMine)) return;
      if (this.presenting && this.mine === null && message.view !== null && message.view !== undefined) {
        this.pending = message;
        return;
      }
      if (message.view === null || message.view === undefined) {
        if (this.theirs && this.theirs.id === message.id) {
          const was = this.following;
          this.theirs = null;
          this.following = false;
          this._render(was ? "The presenter stopped presenting." : null);
        }
        return;
      }
      if (this.presenting) this.stopPresenting("Someone else presents now.");
      // A new view of the presentation already known changes nothing on the page but the
      // view: the banner keeps what it says (e.g. why following stopped).
      const known = this.theirs !== null && this.theirs.id === message.id;
      this.theirs = { id: message.id, view: String(message.view) };
      if (this.following) this.dispatchEvent(new CustomEvent("apply", { detail: { view: this.theirs.view } }));
      if (!known) this._render();
    }
  }

  /** The live socket is up again: a presentation it carried ended with the old one. */
  reconnected() {
    this.theirs = null;
    this.pending = null;
    this.following = false;
    if (this.presenting) {
      this.mine = null;
      this.sent = null;  // presents again on the new connection at the next tick
    }
    this._render();
  }

  _render(text = null) {
    for (const button of this.presentButtons) {
      button.setAttribute("aria-pressed", String(this.presenting));
      button.textContent = this.presenting ? "Presenting" : "Present";
    }
    for (const button of this.followButtons) {
      button.hidden = !this.theirs || this.presenting;
      button.setAttribute("aria-pressed", String(this.following));
      button.textContent = this.following ? "Following" : "Follow";
    }
    if (text) this.banner.say(text, { bad: text.startsWith("Cannot"), forMs: 8000 });
    else if (this.presenting && this.mine !== null) this.banner.say("You are presenting: everyone who follows sees your view.");
    else if (this.following) this.banner.say("Following the presenter. Zoom or pan to stop.");
    else if (this.theirs && !this.presenting) this.banner.say("Someone is presenting: press Follow (f) to see what they show.");
    else this.banner.hide();
  }
}

function row(key, text) {
  const tr = document.createElement("tr");
  const name = document.createElement("td");
  const kbd = document.createElement("kbd");
  kbd.textContent = key;
  name.append(kbd);
  const what = document.createElement("td");
  what.textContent = text;
  tr.append(name, what);
  return tr;
}
