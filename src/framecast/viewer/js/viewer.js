// The deep-zoom image view (OpenSeadragon). It never touches the network itself: it is
// handed image URLs (a JPEG, or a Deep Zoom Image descriptor when the server cut a pyramid
// of the full-resolution image) and OpenSeadragon loads them. A pyramid that fails to load
// (404: the frame was dropped, or an older server) falls back to the JPEG.
//
// Swapping images: each new image is added as a second, invisible tiled image with the
// same bounds on top of the current one; only when it is fully loaded is it made visible
// and the old one removed, in the same frame. The viewport is never touched, so zoom and
// pan stay exactly where the user left them. If more images arrive while one is loading,
// only the newest is shown next (the ones in between are skipped).

const OSD = globalThis.OpenSeadragon;

export class ImageView extends EventTarget {
  /** `element`: the container; `onViewportChange(view)`: called (throttled by the caller)
   *  when the user moves; `initialView`: {zoom, x, y} to restore once the first image is in. */
  constructor(element, { prefixUrl = "icons/", initialView = null, maxZoomPixelRatio = 10 } = {}) {
    super();
    if (!OSD) throw new Error("openseadragon.min.js did not load");
    this.osd = OSD({
      element,
      prefixUrl,
      drawer: "canvas",
      maxZoomPixelRatio,
      minZoomImageRatio: 0.5,
      visibilityRatio: 0.2,
      showNavigator: false,
      showRotationControl: false,
      showFullPageControl: true,
      navigationControlAnchor: OSD.ControlAnchor.TOP_LEFT,
      animationTime: 0.4,
      springStiffness: 8,
      keyboardNavEnabled: true,
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
      immediateRender: false,
      crossOriginPolicy: false,
      imageLoaderLimit: 2,
    });
    this.current = null;       // {item, key, info} on screen
    this.loading = null;       // {item|null, key, info} being loaded
    this.pending = null;       // newest {url, key, info} waiting for the loading one
    this.initialView = initialView;
    this.restoring = false;
    this.osd.addHandler("canvas-key", (event) => {
      // Rotation, flip and page keys (r, f, j, k) are not part of the remembered view: off.
      if (["KeyR", "KeyF", "KeyJ", "KeyK"].includes(event.originalEvent.code)) event.preventDefaultAction = true;
    });
    this.osd.addHandler("animation-finish", () => {
      if (!this.restoring && this.current) this._viewChanged();
    });
  }

  /** Show the image at `url` as soon as it is fully loaded. `key` identifies the image
   *  (a new key with an already shown or loading key is ignored); `info` is handed back in
   *  the "shown" event so that callers can show the matching metadata at the same moment.
   *  `tiles`: the URL of the image's DZI pyramid, used instead of `url` when it loads. */
  show(url, key, info = null, { placeholder = false, tiles = null } = {}) {
    if (this.current && this.current.key === key) return;
    if (this.loading && this.loading.key === key) return;
    const job = { url, key, info, placeholder, tiles };
    if (this.loading) {
      this.pending = job;  // newest wins: replaces any earlier waiting one
      return;
    }
    this._load(job);
  }

  /** The current viewport as {zoom, x, y} (zoom relative to "whole image fits", x and y
   *  the centre in image widths), or null when showing the whole image (home). Measured
   *  against the image on screen, not the world: while a new image is loading both are in
   *  the world, and its bounds would be their union. */
  view() {
    if (!this.current) return null;
    const viewport = this.osd.viewport;
    const home = this._home();
    const zoom = viewport.getZoom(true) / home.zoom;
    const centre = viewport.getCenter(true);
    if (Math.abs(zoom - 1) < 1e-3 && Math.abs(centre.x - home.x) < 1e-3 && Math.abs(centre.y - home.y) < 1e-3) {
      return null;
    }
    return { zoom, x: centre.x, y: centre.y };
  }

  /** Zoom and centre at which the current image exactly fits the container. */
  _home() {
    const bounds = this.current.item.getBounds();
    const container = this.osd.viewport.getContainerSize();
    const containerAspect = container.x / Math.max(1, container.y);
    const zoom = bounds.width / bounds.height >= containerAspect
      ? 1 / bounds.width
      : 1 / (bounds.height * containerAspect);
    return { zoom, x: bounds.x + bounds.width / 2, y: bounds.y + bounds.height / 2 };
  }

  /** True once a real image (not a placeholder) is on screen. */
  get hasImage() {
    return Boolean(this.current && !this.current.placeholder);
  }

  /** True when the user has zoomed or panned away from the whole image. */
  get moved() {
    return this.view() !== null;
  }

  /** Move to {zoom, x, y} without animation. */
  setView(view) {
    if (!view || !this.current) return;
    const viewport = this.osd.viewport;
    this.restoring = true;
    try {
      viewport.zoomTo(view.zoom * this._home().zoom, null, true);
      viewport.panTo(new OSD.Point(view.x, view.y), true);
      viewport.applyConstraints(true);
    } finally {
      this.restoring = false;
    }
    this._viewChanged();
  }

  /** Put the keyboard focus on the image (its keys then pan and zoom). */
  focus() {
    this.osd.canvas.focus();
  }

  /** Zoom and pan back to the whole image. */
  home() {
    this.osd.viewport.goHome(true);
  }

  _viewChanged() {
    this.dispatchEvent(new CustomEvent("viewchange", { detail: this.view() }));
  }

  _load(job) {
    this.loading = job;
    const world = this.osd.world;
    const first = world.getItemCount() === 0;
    const tiled = Boolean(job.tiles);
    this.osd.addTiledImage({
      tileSource: tiled ? job.tiles : { type: "image", url: job.url, buildPyramid: true },
      index: world.getItemCount(),
      x: 0,
      y: 0,
      width: 1,
      opacity: first ? 1 : 0,
      preload: true,
      success: (event) => {
        const item = event.item;
        job.item = item;
        if (this.loading !== job) {
          world.removeItem(item);
          return;
        }
        item.whenFullyLoaded(() => this._swap(job));
      },
      error: (event) => {
        if (tiled && this.loading === job) {
          this._load({ ...job, tiles: null });  // no pyramid after all: the JPEG
          return;
        }
        this._finished(job);
        this.dispatchEvent(new CustomEvent("loaderror", { detail: { key: job.key, message: event && event.message } }));
      },
    });
  }

  _swap(job) {
    if (this.loading !== job) return;
    const world = this.osd.world;
    const previous = this.current;
    const sizeChanged = previous && !sameAspect(previous.item, job.item);
    const moved = this.moved;
    job.item.setOpacity(1);
    for (let i = world.getItemCount() - 1; i >= 0; i -= 1) {
      const item = world.getItemAt(i);
      if (item !== job.item) world.removeItem(item);
    }
    this.current = job;
    if (this.initialView && !job.placeholder) {
      // The view remembered from the last visit, applied to the first real image (a
      // "waiting" picture has other proportions).
      this.osd.viewport.goHome(true);
      this.setView(this.initialView);
      this.initialView = null;
    } else if (!previous || (sizeChanged && !moved) || previous.placeholder) {
      this.osd.viewport.goHome(true);
    }
    this.osd.forceRedraw();
    this.dispatchEvent(new CustomEvent("shown", {
      detail: { key: job.key, tiled: Boolean(job.tiles), info: job.info, width: job.item.source.dimensions.x, height: job.item.source.dimensions.y },
    }));
    this._finished(job);
  }

  _finished(job) {
    if (this.loading === job) this.loading = null;
    const next = this.pending;
    this.pending = null;
    if (next && !this.loading) {
      this.show(next.url, next.key, next.info, { placeholder: next.placeholder, tiles: next.tiles });
    }
  }
}

function sameAspect(a, b) {
  const da = a.source.dimensions;
  const db = b.source.dimensions;
  // A pyramid of the full-resolution image and its downscaled JPEG differ by rounding.
  return Math.abs(da.y / da.x - db.y / db.x) < 2e-3;
}
