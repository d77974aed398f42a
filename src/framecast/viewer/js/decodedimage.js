// A decoded image as an OpenSeadragon tile source (the view's, viewer.js): a JPEG or PNG
// fetched and decoded once, off the main thread, handed over as ready tiles — one tile per
// level, drawn from the bitmap when OpenSeadragon first asks for it. Nothing is fetched or
// decoded again; a newer image of the same size can be written into the levels already
// handed out (`replace`).

const OSD = globalThis.OpenSeadragon;

let serial = 0;

/** An OpenSeadragon tile source over an already decoded image: one tile per level, each
 *  level drawn from the bitmap (smoothly downscaled) when OpenSeadragon first asks for it,
 *  synchronously. Nothing is fetched or decoded again. */
export const DecodedImage = OSD && class extends OSD.TileSource {
  constructor(bitmap) {
    const width = bitmap.width;
    const height = bitmap.height;
    const side = Math.max(1, width, height);
    super({
      width,
      height,
      tileSize: side,
      tileOverlap: 0,
      minLevel: 0,
      maxLevel: Math.ceil(Math.log2(side)),
      ready: true,
    });
    this.bitmap = bitmap;
    this.serial = ++serial;
    this.levels = new Map();  // level → the canvas context handed to OpenSeadragon
  }

  getTileUrl(level, x, y) {
    return `decoded:${this.serial}/${level}/${x}_${y}`;
  }

  getTilePostData(level) {
    return { level };
  }

  equals(other) {
    return other === this;
  }

  downloadTileStart(job) {
    const bitmap = this.bitmap;
    if (!bitmap || !bitmap.width) {
      job.fail("image released");
      return;
    }
    const scale = this.getLevelScale(job.postData.level);
    const width = Math.max(1, Math.ceil(this.width * scale));
    const height = Math.max(1, Math.ceil(this.height * scale));
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, width, height);
    this.levels.set(job.postData.level, context);
    job.finish(context, null, "context2d");
  }

  /** Put the pixels of `bitmap` (same size) in place of this image's, in every level
   *  already handed out: the tiled image shows the new picture at its next draw, with
   *  nothing to load. False (and nothing changed) when the size differs. */
  replace(bitmap) {
    if (!this.bitmap || bitmap.width !== this.width || bitmap.height !== this.height) return false;
    this.bitmap.close();
    this.bitmap = bitmap;
    for (const context of this.levels.values()) {
      const { width, height } = context.canvas;
      context.clearRect(0, 0, width, height);
      context.drawImage(bitmap, 0, 0, width, height);
    }
    return true;
  }

  downloadTileAbort() {}

  /** Free the decoded pixels (the tiled image using this source is gone). */
  release() {
    if (this.bitmap) this.bitmap.close();
    this.bitmap = null;
    this.levels.clear();
  }
};
