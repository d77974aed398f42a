// Streams as the pages see them: which stream a page shows (from its address), the
// addresses of the other streams and of the overview, and the list from api/streams.
// Pure: no DOM, no network.
//
// Every stream NAME has its viewer at <base>s/NAME/ (the default stream also at <base>
// itself); the overview is <base>streams. <base> is "/" on a plain server and the proxy's
// sub-path behind a reverse proxy (https://host/cams/), so addresses are built from it,
// never from the site's root.

export const DEFAULT_STREAM = "default";
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** True for a valid stream name (the server's rule). */
export function isStreamName(name) {
  return typeof name === "string" && NAME.test(name);
}

/** {name, base} of the page at `pathname`: /cams/s/cam1/ → {name: "cam1", base: "/cams/"},
 *  / or /streams → {name: "default", base: "/"}. */
export function pageStream(pathname) {
  const path = String(pathname || "/");
  const match = /^(.*\/)s\/([^/]+)\/(?:index\.html)?$/.exec(path);
  if (match) {
    let name = null;
    try {
      name = decodeURIComponent(match[2]);
    } catch {
      /* not a stream address */
    }
    if (isStreamName(name)) return { name, base: match[1] };
  }
  return { name: DEFAULT_STREAM, base: path.slice(0, path.lastIndexOf("/") + 1) || "/" };
}

/** The viewer of stream `name`. The default stream too is linked at s/default/: its root
 *  address shows the overview when it has no image but other streams exist. */
export function streamHref(base, name) {
  return `${base}s/${encodeURIComponent(name)}/`;
}

/** The overview page. */
export function overviewHref(base) {
  return `${base}streams`;
}

/** The thumbnail of stream `entry` at its current image: a URL unique to that image, so a
 *  browser never shows a stale cached one (and loads it only when the image changed). */
export function thumbnailHref(base, entry) {
  return `${streamHref(base, entry.name)}web_image.jpg?seq=${entry.seq}&t=${entry.time ?? 0}`;
}

function count(value) {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** The entries of an api/streams answer, validated and sorted by name: [{name, seq, time,
 *  width, height, clients}]; entries with an invalid name are left out. */
export function parseStreams(data) {
  const list = data && Array.isArray(data.streams) ? data.streams : [];
  const out = [];
  for (const item of list) {
    if (!item || typeof item !== "object" || !isStreamName(item.name)) continue;
    out.push({
      name: item.name,
      seq: count(item.seq),
      time: typeof item.time === "number" && Number.isFinite(item.time) ? item.time : null,
      width: count(item.width),
      height: count(item.height),
      clients: count(item.clients),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** "1 viewer", "3 viewers". */
export function viewersText(clients) {
  return `${clients} viewer${clients === 1 ? "" : "s"}`;
}
