// The banners over the image (the loopback warning, the connection notice, the operator's
// and the point tool's replies, the threshold alert): the banners area is the root; each
// banner is found under it by id, or made there when the page has none. Every banner can
// be dismissed (its ×), and the area sits under the zoom buttons, never over them
// (docs/viewer.md, "Layout").

export class Banner {
  constructor(element) {
    this.element = element;
    this.timer = null;
    let dismiss = element.querySelector(".dismiss");
    if (!dismiss) {
      // The text goes in a span of its own, so writing it keeps the ×; the × is drawn by
      // the style sheet (the button's text stays empty: the banner's text is only its own).
      element.replaceChildren(document.createElement("span"));
      dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.className = "dismiss";
      dismiss.setAttribute("aria-label", "Dismiss");
      dismiss.title = "Dismiss";
      element.append(dismiss);
    }
    this.text = element.querySelector("span");
    this.dismissed = false;     // the user dismissed it: it stays hidden until its text changes
    dismiss.addEventListener("click", () => {
      this.dismissed = true;
      this.hide();
    });
  }

  /** Show `text` (marked bad when `bad`), hidden again after `forMs` (null: until told). */
  say(text, { bad = false, forMs = null } = {}) {
    clearTimeout(this.timer);
    this.dismissed = false;
    this.text.textContent = text;
    this.element.classList.toggle("bad", bad);
    this.element.hidden = false;
    if (forMs !== null) this.timer = setTimeout(() => this.hide(), forMs);
  }

  /** Show or hide the banner as it is (its text written in the page); once dismissed, it
   *  stays hidden (the page asks again at every status it reads). */
  toggle(shown) {
    clearTimeout(this.timer);
    this.element.hidden = !shown || this.dismissed;
  }

  hide() {
    this.toggle(false);
  }
}

export class Banners {
  /** `root`: the element the banners are laid in. */
  constructor(root) {
    this.root = root;
  }

  /** The banner `id`: the page's own, else a new one of `kind` ("info" or "warn"). */
  banner(id, kind = "info") {
    let element = this.root.querySelector(`#${id}`);
    if (!element) {
      element = document.createElement("p");
      element.className = `banner ${kind}`;
      element.id = id;
      element.setAttribute("role", "status");
      element.hidden = true;
      this.root.append(element);
    }
    return new Banner(element);
  }
}
