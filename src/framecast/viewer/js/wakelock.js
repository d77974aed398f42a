// Keeps the screen awake while the page is visible (Screen Wake Lock API, where available:
// it needs a secure context, i.e. https or localhost). The lock is released by the browser
// whenever the page is hidden, and taken again when it becomes visible.

export class ScreenAwake {
  constructor() {
    this.sentinel = null;
    this.supported = "wakeLock" in navigator;
    this.wanted = false;
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.wanted) this._acquire();
    });
  }

  /** Keep the screen on (true) or let it sleep (false). */
  async keep(wanted) {
    this.wanted = wanted;
    if (!wanted) {
      const sentinel = this.sentinel;
      this.sentinel = null;
      if (sentinel) await sentinel.release().catch(() => {});
      return;
    }
    await this._acquire();
  }

  async _acquire() {
    if (!this.supported || this.sentinel || document.visibilityState !== "visible") return;
    try {
      this.sentinel = await navigator.wakeLock.request("screen");
      this.sentinel.addEventListener("release", () => { this.sentinel = null; });
    } catch {
      this.sentinel = null;  // refused (battery saver, no user gesture yet, insecure context)
    }
  }
}
