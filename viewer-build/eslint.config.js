// eslint for the viewer's ES modules (src/framecast/viewer/js), run by scripts/test:
//   viewer-build/node_modules/.bin/eslint -c viewer-build/eslint.config.js src/framecast/viewer/js
// Beyond eslint's recommended rules it keeps the viewer's architecture (docs/architecture.md,
// "Viewer"): every request, socket and stream goes through the transport (js/transport/);
// the transport never touches the DOM; only the wiring (main.js, overview.js) looks elements
// up in the page; the pure modules see no browser at all.

import js from "@eslint/js";
import globals from "globals";

const JS = "src/framecast/viewer/js";
const WIRING = [`${JS}/main.js`, `${JS}/overview.js`];
// Pure modules: numbers and strings in and out — no DOM, no network, no clock of their own.
const PURE = [
  "livestate.js", "timeline.js", "streams.js", "messages.js",
  "tools/colour.js", "tools/colormaps.js", "tools/npy.js", "tools/rawframe.js", "tools/rawtext.js", "tools/scalebar.js",
  "tools/series.js",
].map((name) => `${JS}/${name}`);

const network = (where) => ["fetch", "WebSocket", "EventSource", "XMLHttpRequest"].map((name) => ({
  name,
  message: `${where}: requests, sockets and streams go through the transport (js/transport.js).`,
}));

export default [
  {
    files: [`${JS}/**/*.js`],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: { ...globals.es2021 } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      ...js.configs.recommended.rules,
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "eqeqeq": ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      "no-shadow": "error",
      "no-implicit-globals": "error",
      "no-restricted-globals": ["error", ...network("Not here")],
    },
  },
  {
    // The browser, for every module but the pure ones (eslint merges globals: they get none).
    files: [`${JS}/**/*.js`],
    ignores: PURE,
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // One network layer: the transport's own modules, and nothing else, use the network;
    // they never touch the page.
    files: [`${JS}/transport/**/*.js`],
    rules: {
      "no-restricted-globals": ["error", ...["document", "window", "location", "history", "localStorage", "sessionStorage"].map((name) => ({
        name,
        message: "The transport never touches the page: it reports through promises and events.",
      }))],
    },
  },
  {
    // One way to get elements: the wiring looks them up in the page and hands each
    // component its root; a component looks under its root only (elements.js's `parts`).
    files: [`${JS}/**/*.js`],
    ignores: WIRING,
    rules: {
      "no-restricted-properties": ["error", ...["getElementById", "querySelector", "querySelectorAll", "getElementsByClassName", "getElementsByTagName"].map((property) => ({
        object: "document",
        property,
        message: "Only the wiring (main.js, overview.js) looks elements up in the page; a component looks under the root it is given.",
      }))],
    },
  },
  {
    // The view draws; it never fetches (it is handed URLs and a loader).
    files: [`${JS}/viewer.js`],
    rules: { "no-restricted-globals": ["error", ...network("The view never touches the network")] },
  },
  {
    files: PURE,
    languageOptions: { globals: { TextDecoder: "readonly" } },  // text, not the page
    rules: {
      "no-restricted-globals": ["error", ...["setTimeout", "setInterval", "performance"].map((name) => ({
        name,
        message: "A pure module has no clock of its own: the time comes in as an argument.",
      }))],
    },
  },
];
