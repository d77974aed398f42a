// The banners over the image (the loopback warning, the operator's and the point tool's
// replies, the threshold alert): the banners area is the root; each banner is found under
// it by id, or made there when the page has none.

export class Banner {
  constructor(element) {
    this.element = element;
    this.timer = null;
    const dismiss = element.querySelector(".dismiss");
    if (dismiss) dismiss.addEventListener("click", () => this.hide());
  }

  /** Show `text` (marked bad when `bad`), hidden again after `forMs` (null: until told). */
  say(text, { bad = false, forMs = null } = {}) {
    clearTimeout(this.timer);
    this.element.textContent = text;
    this.element.classList.toggle("bad", bad);
    this.element.hidden = false;
    if (forMs !== null) this.timer = setTimeout(() => this.hide(), forMs);
  }

  /** Show or hide the banner as it is (its text written in the page). */
  toggle(shown) {
    clearTimeout(this.timer);
    this.element.hidden = !shown;
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
