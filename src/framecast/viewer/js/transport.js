// The viewer's one network layer: every request, socket and stream of the page goes through
// the modules under transport/, and the rest of the viewer imports them from here. None of
// them touches the DOM; they report through promises and events (docs/viewer.md, "Files and
// modules"). eslint keeps fetch, WebSocket and EventSource out of every other module.

export { decodeImage, fetchAnswer, fetchBuffer, fetchJson, sendJson } from "./transport/http.js";
export { LiveConnection, backoffDelay, parseMessage, socketUrl } from "./transport/live.js";
export { ControlChannel } from "./transport/control.js";
export { JsonPoller } from "./transport/poller.js";
