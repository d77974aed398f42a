// Every HTTP request of the viewer: JSON documents, bytes (raw tiles and frames), answers
// as text (analysis), images fetched and decoded off the main thread. Each one has a
// deadline, so a server that stops answering never leaves a read hanging. No DOM.

/** An AbortSignal that fires after `timeoutMs` or as soon as `signal` (the caller's) does;
 *  `done()` clears the timer. */
function deadline(timeoutMs, signal = null) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  const follow = () => abort.abort(signal.reason);
  if (signal && signal.aborted) follow();
  else if (signal) signal.addEventListener("abort", follow, { once: true });
  return {
    signal: abort.signal,
    done: () => {
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", follow);
    },
  };
}

/** GET `url` with a deadline; resolves to what `read(response)` gives. Rejects on HTTP
 *  errors, on the deadline and when `signal` aborts. */
async function request(url, { timeoutMs, signal = null, cache = "default" }, read) {
  const limit = deadline(timeoutMs, signal);
  try {
    const response = await fetch(url, { cache, signal: limit.signal });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return await read(response);
  } finally {
    limit.done();
  }
}

/** GET a JSON document, by default never from the browser cache. Resolves to {data, date}
 *  (`date`: the server's Date header in epoch ms, or null). Rejects on HTTP errors. */
export function fetchJson(path, { timeoutMs = 5000, cache = "no-store" } = {}) {
  return request(path, { timeoutMs, cache }, async (response) => {
    const date = Date.parse(response.headers.get("Date") || "");
    return { data: await response.json(), date: Number.isFinite(date) ? date : null };
  });
}

/** Fetch the image at `url` and decode it off the main thread. Resolves to an ImageBitmap
 *  (the caller closes it when done); rejects on HTTP errors or an undecodable image. The
 *  picture is then ready to be drawn at once: no second request, no decode at draw time. */
export function decodeImage(url, { timeoutMs = 15000 } = {}) {
  return request(url, { timeoutMs }, async (response) => createImageBitmap(await response.blob()));
}

/** The bytes at `url` (a raw tile or frame), or a rejection saying why. Raw tiles never
 *  change for a given frame: the browser's cache may answer (`cache`: "force-cache" by
 *  default; "no-store" for a whole frame read once and kept in memory). */
export function fetchBuffer(url, { signal = null, cache = "force-cache", timeoutMs = 60000 } = {}) {
  return request(url, { timeoutMs, signal, cache }, (response) => response.arrayBuffer());
}

/** The answer to a question about a frame (`api/stats?…`, `api/pixel?…`) as text, with its
 *  HTTP status: {status, text}; `text` is null when the server has none (404: no such
 *  route, frame or raw data; 400: refused), `status` 0 when it could not be asked. The text
 *  is handed on as the server wrote it (JSON.parse would re-spell floats). */
export async function fetchAnswer(path, { timeoutMs = 15000 } = {}) {
  const limit = deadline(timeoutMs);
  try {
    const response = await fetch(path, { cache: "force-cache", signal: limit.signal });
    if (!response.ok) return { status: response.status, text: null };
    return { status: response.status, text: await response.text() };
  } catch {
    return { status: 0, text: null };
  } finally {
    limit.done();
  }
}

/** Send `body` (JSON) to `path` with `method` (POST, DELETE), with the page's `token` when
 *  it has one. Resolves to {status, data} (`data`: the JSON answer, or null); rejects only
 *  when the server could not be asked (the deadline, the network). */
export async function sendJson(path, { method = "POST", body = undefined, token = null, timeoutMs = 5000 } = {}) {
  const limit = deadline(timeoutMs);
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    const response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: limit.signal,
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    return { status: response.status, data };
  } finally {
    limit.done();
  }
}
