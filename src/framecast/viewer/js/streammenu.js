// The stream switcher in the viewer's top bar: a menu of the server's streams (from
// api/streams, handed in by main.js) and a link to the overview page. Shown only when the
// server has more than one stream; a server with one camera looks exactly as before.
// Never touches the network: choosing a stream navigates to its page.

import { overviewHref, streamHref } from "./streams.js";
import { parts } from "./elements.js";

export class StreamMenu {
  /** `root`: the element shown or hidden (#stream-switch), holding the <select> and the
   *  overview's link; `base` and `current`: from pageStream(location.pathname). */
  constructor(root, { base, current }) {
    const { select, link } = parts(root, { select: "stream-select", link: "streams-link" });
    this.box = root;
    this.select = select;
    this.base = base;
    this.current = current;
    this.signature = "";
    link.href = overviewHref(base);
    select.addEventListener("change", () => {
      const href = select.value;
      if (href && href !== streamHref(base, current)) location.assign(href);
    });
  }

  /** Show `entries` (parseStreams output); hidden when there is at most one stream. */
  update(entries) {
    const names = entries.map((entry) => entry.name);
    if (!names.includes(this.current)) names.push(this.current);
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.box.hidden = names.length <= 1;
    const signature = names.join("\n");
    if (signature === this.signature) return;  // unchanged: leave an open menu alone
    this.signature = signature;
    this.select.replaceChildren(...names.map((name) => {
      const option = document.createElement("option");
      option.value = streamHref(this.base, name);
      option.textContent = name;
      option.selected = name === this.current;
      return option;
    }));
  }
}
