// Remembering the zoom and pan across page reloads: the view lives in the URL hash
// (#zoom=4.000&x=0.31250&y=0.20000), so a reload, a bookmark or a shared link opens the
// same region. zoom is relative to "whole image fits", x and y are the centre of the
// view in image widths (0..1 across, 0..height/width down).
//
// With several streams, each stream's view is also kept in this tab's sessionStorage under
// its name, so switching to another camera and coming back (through the stream menu, the
// overview or a bookmark without a hash) finds the same region again. The hash wins when
// there is one: a shared link opens the region it names.

const STORE_PREFIX = "framecast.view.";

function storage() {
  try {
    return globalThis.sessionStorage || null;
  } catch {
    return null;  // storage disabled (private mode, file://): the hash still works
  }
}

/** The event (on the window) that says the page wrote its fragment itself: a presenter's
 *  page sends its view at once, before any drawing that follows the change. */
export const FRAGMENT_WRITTEN = "fragmentwritten";

/** Put `hash` in the address bar (no new history entry), and say so. */
export function writeFragment(hash) {
  history.replaceState(history.state, "", `${location.pathname}${location.search}${hash}`);
  dispatchEvent(new Event(FRAGMENT_WRITTEN));
}

/** Parse a location hash; returns {zoom, x, y} or null. */
export function parseView(hash) {
  const params = new URLSearchParams(String(hash || "").replace(/^#/, ""));
  const zoom = Number(params.get("zoom"));
  const x = Number(params.get("x"));
  const y = Number(params.get("y"));
  if (!params.has("zoom") || !params.has("x") || !params.has("y")) return null;
  if (![zoom, x, y].every(Number.isFinite) || zoom <= 0 || zoom > 1e4) return null;
  if (Math.abs(x) > 100 || Math.abs(y) > 100) return null;
  return { zoom, x, y };
}

/** Format a view for the hash (empty string for the whole image). Other hash
 *  parameters, if any, are kept. */
export function formatView(view, previousHash = "") {
  const params = new URLSearchParams(String(previousHash || "").replace(/^#/, ""));
  params.delete("zoom");
  params.delete("x");
  params.delete("y");
  if (view) {
    params.set("zoom", view.zoom.toFixed(3));
    params.set("x", view.x.toFixed(5));
    params.set("y", view.y.toFixed(5));
  }
  const text = params.toString();
  return text ? `#${text}` : "";
}

/** Write the view into the address bar without adding a history entry, and keep it for
 *  `stream` (when given) in this tab. */
export function rememberView(view, stream = null) {
  if (stream !== null) {
    const store = storage();
    try {
      if (store && view) store.setItem(STORE_PREFIX + stream, formatView(view));
      else if (store) store.removeItem(STORE_PREFIX + stream);
    } catch {
      /* storage full or disabled: the hash still holds it */
    }
  }
  const hash = formatView(view, location.hash);
  if (hash === location.hash || (!hash && !location.hash)) return;
  writeFragment(hash);
}

/** The kept frame a fragment looks at (`frame=SEQ`), or null for the live image. */
export function parseFrame(hash) {
  const text = new URLSearchParams(String(hash || "").replace(/^#/, "")).get("frame");
  const seq = Number(text);
  return text !== null && Number.isSafeInteger(seq) && seq >= 0 ? seq : null;
}

/** Write the kept frame looked at (`seq`, or null for live) into the address bar, so that
 *  a copied link, and a follower (docs/together.md), shows the same frame. */
export function rememberFrame(seq) {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (seq === null) params.delete("frame");
  else params.set("frame", String(seq));
  const text = params.toString().replace(/%2C/g, ",").replace(/%3A/g, ":");
  const hash = text ? `#${text}` : "";
  if (hash === location.hash || (!hash && !location.hash)) return;
  writeFragment(hash);
}

/** The view stored in the address bar, or else the one last kept for `stream` in this tab. */
export function recalledView(stream = null) {
  const fromHash = parseView(location.hash);
  if (fromHash || stream === null) return fromHash;
  const store = storage();
  let kept = null;
  try {
    kept = store ? store.getItem(STORE_PREFIX + stream) : null;
  } catch {
    kept = null;
  }
  return parseView(kept);
}
