// The keyboard help: a dialog listing every shortcut of the page, opened by the "?" button
// or the "?" key (not while typing), closed by Escape or its Close button.

import { typing } from "./controls.js";

export class HelpDialog {
  /** `root`: the dialog; `button`: the button that opens it. */
  constructor(root, { button }) {
    this.button = button;
    this.dialog = root;
    button.addEventListener("click", () => this.toggle());
    root.addEventListener("close", () => button.setAttribute("aria-expanded", "false"));
    document.addEventListener("keydown", (event) => {
      if (event.key !== "?" || typing(event)) return;
      event.preventDefault();
      this.toggle();
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  toggle() {
    if (this.isOpen) this.dialog.close();
    else this.open();
  }

  /** Add rows (<tr>) to the table of shortcuts (the tools list theirs). */
  addRows(rows) {
    this.dialog.querySelector("table tbody").append(...rows);
  }

  open() {
    if (typeof this.dialog.showModal === "function") this.dialog.showModal();
    else this.dialog.setAttribute("open", "");
    this.button.setAttribute("aria-expanded", "true");
  }
}
