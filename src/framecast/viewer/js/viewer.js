// The deep-zoom image view (OpenSeadragon). It never touches the network itself: it is
// handed image URLs (a JPEG, or a Deep Zoom Image descriptor when the server cut a pyramid
// of the full-resolution image) and a `loadImage` function (the transport's: URL → decoded
// ImageBitmap). A pyramid that fails to load (404: the frame was dropped, or an older
// server) falls back to the JPEG.
//
// Swapping images: a JPEG is fetched and decoded once, off the main thread, before it is
// handed to OpenSeadragon as a ready tile source (decodedimage.js: no second request, no
// decode while drawing). It is added as an invisible tiled image with the same bounds on
// top of the current one; as soon as its tiles are in, it is made visible and the old one
// hidden, in the same frame. The viewport is never touched, so zoom and pan stay exactly
// where the user left them. The image shown before stays decoded and hidden (the "spare"):
// showing it again (blink, stepping back and forth) is a flip of opacities, with no request
// at all. If more images arrive while one is loading, only the newest is shown next (the
// ones in between are skipped).

import { DecodedImage } from "./decodedimage.js";

const OSD = globalThis.OpenSeadragon;

export class ImageView extends EventTarget {
  /** `element`: the container; `initialView`: {zoom, x, y} to restore once the first image
   *  is in; `loadImage(url)`: resolves to the decoded image (an ImageBitmap) — without it,
   *  OpenSeadragon loads the JPEGs itself. */
  constructor(element, { prefixUrl = "icons/", initialView = null, maxZoomPixelRatio = 10, loadImage = null } = {}) {
    super();
    if (!OSD) throw new Error("openseadragon.min.js did not load");
    this.osd = OSD({
      element,
      prefixUrl,
      drawer: "canvas",
      // Native pixels are square (docs/viewer.md, "Native pixels"): each tile is drawn
      // straight onto the canvas, never composited at 100 % first and scaled up as a whole
      // (OpenSeadragon's edge smoothing, which blurred and shifted native pixels); smoothing
      // is switched by the zoom (see _sharpness).
      smoothTileEdgesMinZoom: Infinity,
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
    // A decoded image is one tile per level, with no neighbour to hide a gap from: it is
    // drawn at exactly its size. (The canvas drawer widens every tile that has no overlap
    // by one screen pixel, which repeated a row and a column of a picture shown 1:1 and
    // made one square wider when zoomed in: docs/viewer.md, "Native pixels".)
    const drawer = this.osd.drawer;
    const overlapFor = drawer.minimumOverlapRequired.bind(drawer);
    drawer.minimumOverlapRequired = (item) => !(item.source instanceof DecodedImage) && overlapFor(item);
    this.loadImage = loadImage;
    this.current = null;       // {item, key, info} on screen
    this.spare = null;         // {item, key, info} shown before, kept decoded and hidden
    this.loading = null;       // {item|null, key, info} being loaded
    this.pending = null;       // newest {url, key, info} waiting for the loading one
    this.initialView = initialView;
    this.restoring = false;
    this.osd.addHandler("canvas-key", (event) => {
      // Rotation, flip and page keys (r, f, j, k) are not part of the remembered view: off.
      if (["KeyR", "KeyF", "KeyJ", "KeyK"].includes(event.originalEvent.code)) event.preventDefaultAction = true;
    });
    this.osd.world.addHandler("remove-item", (event) => {
      if (typeof event.item.source.release === "function") event.item.source.release();
    });
    this.sharp = null;  // whether tiles are drawn nearest-neighbour now
    this.osd.addHandler("viewport-change", () => this._sharpness());
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
    if (this.spare && this.spare.key === key) {
      // Shown just before and still decoded: back on screen at once, nothing loaded.
      const spare = { ...this.spare, info };
      this.loading = spare;
      this._swap(spare);
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

  /** Native pixels are square (docs/viewer.md, "Native pixels"): from one device pixel per
   *  image pixel up, every image pixel is drawn as a square of one colour (nearest
   *  neighbour, as DS9 and ImageJ draw); below it the picture is smoothed (a downscaled
   *  noise or checkerboard would otherwise alias into patterns that are not there). */
  _sharpness() {
    const item = this.current && this.current.item;
    if (!item) return;
    const zoom = item.viewportToImageZoom(this.osd.viewport.getZoom(true)) * (globalThis.devicePixelRatio || 1);
    const sharp = zoom > 0.999;
    if (sharp === this.sharp) return;
    this.sharp = sharp;
    this.osd.drawer.setImageSmoothingEnabled(!sharp);
  }

  _viewChanged() {
    this.dispatchEvent(new CustomEvent("viewchange", { detail: this.view() }));
  }

  _load(job) {
    this.loading = job;
    if (this._paintOver(job)) return;
    if (job.tiles || !this.loadImage) {
      this._add(job, job.tiles || { type: "image", url: job.url, buildPyramid: true });
      return;
    }
    this.loadImage(job.url).then(
      (bitmap) => {
        if (this.loading !== job) {
          bitmap.close();  // overtaken while loading
          return;
        }
        // The hidden spare, if it is a decoded image of the same size whose tiles for this
        // view are drawn, takes the new pixels: no new tiled image, it is shown at the next
        // frame (never half-drawn).
        const spare = this.spare;
        if (spare && spare.item.source instanceof DecodedImage && spare.item.getFullyLoaded()
            && spare.item.source.replace(bitmap)) {
          this.spare = null;
          job.item = spare.item;
          this._swap(job);
          return;
        }
        this._add(job, new DecodedImage(bitmap));
      },
      (error) => this._failed(job, error && error.message),
    );
  }

  /** A tile source that can show itself in the tiled image on screen (`canPaintOver(item)`,
   *  `whenRead()`, `paintOver(item)`: a newer live frame of raw tiles, docs/viewer.md "Speed")
   *  is painted into it once it is ready: no new tiled image and no tile to load, on screen
   *  at the next redraw. When it cannot after all, it is added as a tiled image as usual.
   *  False when the job is not one of those. */
  _paintOver(job) {
    const source = job.tiles;
    const current = this.current;
    if (!source || typeof source.canPaintOver !== "function" || !current || current.placeholder
        || !source.canPaintOver(current.item)) return false;
    const usual = () => this._add(job, source);
    source.whenRead().then(() => {
      if (this.loading !== job) return;
      if (this.current === current && source.paintOver(current.item)) {
        job.item = current.item;
        this._swap(job);
      } else {
        usual();
      }
    }, () => {
      if (this.loading === job) usual();
    });
    return true;
  }

  /** Add `tileSource` as an invisible tiled image; show it once its tiles are in. */
  _add(job, tileSource) {
    const world = this.osd.world;
    const first = world.getItemCount() === 0;
    const decoded = tileSource instanceof DecodedImage;
    this.osd.addTiledImage({
      tileSource,
      index: world.getItemCount(),
      x: 0,
      y: 0,
      width: 1,
      opacity: first ? 1 : 0,
      preload: true,
      // A decoded image has every level at hand: only the one needed is drawn.
      immediateRender: decoded || undefined,
      success: (event) => {
        const item = event.item;
        job.item = item;
        if (this.loading !== job) {
          world.removeItem(item);
          return;
        }
        if (item.getFullyLoaded()) this._swap(job);
        else item.addOnceHandler("fully-loaded-change", () => this._swap(job));
      },
      error: (event) => {
        if (job.tiles && this.loading === job) {
          this._load({ ...job, tiles: null });  // no pyramid after all: the JPEG
          return;
        }
        if (decoded) tileSource.release();
        this._failed(job, event && event.message);
      },
    });
  }

  /** Give the image on screen a hidden twin (a copy of its pixels) when it has no spare:
   *  the next image of the same size is then written into it and shown at once, instead
   *  of waiting for a new tiled image to load (the first live images, after a resize). */
  _prepareSpare(job) {
    const source = job.item.source;
    if (job.placeholder || !(source instanceof DecodedImage) || !source.bitmap) return;
    createImageBitmap(source.bitmap).then((copy) => {
      if (this.current !== job || this.spare) {
        copy.close();
        return;
      }
      this.osd.addTiledImage({
        tileSource: new DecodedImage(copy),
        index: this.osd.world.getItemCount(),
        x: 0,
        y: 0,
        width: 1,
        opacity: 0,
        preload: true,
        immediateRender: true,
        success: (event) => {
          if (this.current === job && !this.spare) this.spare = { ...job, item: event.item };
          else this.osd.world.removeItem(event.item);
        },
      });
    }, () => {});  // no twin: the next image loads the slower way
  }

  _failed(job, message) {
    if (this.loading !== job) return;
    this._finished(job);
    this.dispatchEvent(new CustomEvent("loaderror", { detail: { key: job.key, message } }));
  }

  _swap(job) {
    if (this.loading !== job) return;
    const world = this.osd.world;
    const previous = this.current;
    const sizeChanged = previous && !sameAspect(previous.item, job.item);
    const moved = this.moved;
    job.item.setOpacity(1);
    // The image shown until now stays, hidden, as the spare; everything else goes.
    const spare = previous && !previous.placeholder && previous.item !== job.item ? previous : null;
    if (spare) spare.item.setOpacity(0);
    for (let i = world.getItemCount() - 1; i >= 0; i -= 1) {
      const item = world.getItemAt(i);
      if (item !== job.item && (!spare || item !== spare.item)) world.removeItem(item);
    }
    if (world.getIndexOfItem(job.item) !== 0) world.setItemIndex(job.item, 0);
    this.current = job;
    this.spare = spare;
    if (!spare) this._prepareSpare(job);
    if (this.initialView && !job.placeholder) {
      // The view remembered from the last visit, applied to the first real image (a
      // "waiting" picture has other proportions).
      this.osd.viewport.goHome(true);
      this.setView(this.initialView);
      this.initialView = null;
    } else if (!previous || (sizeChanged && !moved) || previous.placeholder) {
      this.osd.viewport.goHome(true);
    }
    this._sharpness();
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
