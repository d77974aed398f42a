// Page-level toggles: night mode (red on black, remembered), the metadata panel (shown or
// collapsed, remembered; collapsed by default on small portrait screens) and the keyboard
// shortcuts for them ("n" night, "i" info panel), ignored while typing or inside the image.

const NIGHT_KEY = "framecast.night";
const PANEL_KEY = "framecast.panel";

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;  // storage disabled (private mode, file://)
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* not remembered, still works */
  }
}

export class Toggle {
  /** A pressed/unpressed button bound to a class on <html>, remembered under `key`. */
  constructor(button, { key, className, initial, onChange = () => {} }) {
    this.button = button;
    this.key = key;
    this.className = className;
    this.onChange = onChange;
    const remembered = stored(key);
    this.set(remembered === null ? initial : remembered === "1", { remember: false });
    button.addEventListener("click", () => this.set(!this.on));
  }

  set(on, { remember = true } = {}) {
    this.on = Boolean(on);
    document.documentElement.classList.toggle(this.className, this.on);
    this.button.setAttribute("aria-pressed", String(this.on));
    if (remember) store(this.key, this.on ? "1" : "0");
    this.onChange(this.on);
  }
}

/** The night-mode toggle (shared by the viewer and the overview page: one setting);
 *  `themeColour`: the page's <meta name="theme-color">, or null. */
export function nightToggle(button, { themeColour = null } = {}) {
  return new Toggle(button, {
    key: NIGHT_KEY,
    className: "night",
    initial: false,
    // the phone's own status bar goes black too
    onChange: (on) => themeColour && themeColour.setAttribute("content", on ? "#000000" : "#101418"),
  });
}

/** True when a key press belongs to a text field (no shortcut then). */
export function typing(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return true;
  const target = event.target;
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

/** Night mode and panel toggles plus their keyboard shortcuts. */
export function setupToggles({ nightButton, infoButton, imageElement, themeColour = null, onLayoutChange = () => {} }) {
  const night = nightToggle(nightButton, { themeColour });
  const smallPortrait = matchMedia("(max-width: 700px) and (orientation: portrait)").matches;
  const panel = new Toggle(infoButton, {
    key: PANEL_KEY,
    className: "panel-open",
    initial: !smallPortrait,
    onChange: onLayoutChange,
  });
  document.addEventListener("keydown", (event) => {
    if (typing(event)) return;
    if (imageElement.contains(event.target)) return;  // the image's own keys (OpenSeadragon)
    if (event.key === "n") night.set(!night.on);
    else if (event.key === "i") panel.set(!panel.on);
  });
  return { night, panel };
}
