// The "share" dialog: the QR code of the page address (qr.svg, drawn by the server for
// its displayed URL) and the URL itself, so a phone can join by scanning the screen.

export class ShareDialog {
  constructor({ button, dialog, image, link, qrPath = "qr.svg" }) {
    this.dialog = dialog;
    this.qrPath = qrPath;
    this.image = image;
    this.link = link;
    this.url = null;
    button.addEventListener("click", () => this.open());
  }

  /** The address other devices should use (from api/status). With a viewer token the
   *  server puts the token into the QR code; the link shown here is left without it. */
  setUrl(url, { tokenInQr = false } = {}) {
    if (!url) return;
    this.url = url;
    this.link.href = url;
    this.link.textContent = url;
    this.link.title = tokenInQr ? "this session is private: the QR code carries its token" : "";
  }

  open() {
    // Reload the QR code each time: the displayed address may change across restarts.
    this.image.src = `${this.qrPath}?t=${Date.now()}`;
    if (!this.url) {
      const here = new URL(location.href);
      here.hash = "";
      here.search = "";
      this.setUrl(here.href);
    }
    if (typeof this.dialog.showModal === "function") this.dialog.showModal();
    else this.dialog.setAttribute("open", "");
  }
}
