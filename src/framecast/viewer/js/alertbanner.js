// The server's alerts (docs/together.md, "Alerts"): each `alert` message on the live channel
// is shown in a banner over the image, for a minute or until the next one. The message is the
// newest firing and, under `recent`, the stream's last few (newest first): those of the minute
// before the newest are named too, so an alert that came while the page was busy is not lost.

import { ALERT } from "./messages.js";

/** Firings this many seconds older than the newest are no longer news. */
const RECENT_S = 60;

function firing(alert) {
  const value = typeof alert.value === "number" ? Number(alert.value.toPrecision(6)) : alert.value;
  const where = Number.isInteger(alert.seq) ? ` at frame #${alert.seq}` : "";
  return `${alert.rule}: ${alert.key} = ${value}${where}`;
}

/** What the banner says of one alert message (pure). */
export function alertText(message) {
  const newest = `Alert ${firing(message)}`;
  const recent = Array.isArray(message.recent) ? message.recent.slice(1) : [];
  const before = recent.filter((alert) => alert !== null && typeof alert === "object"
    && typeof alert.time === "number" && typeof message.time === "number"
    && message.time - alert.time <= RECENT_S);
  return before.length ? `${newest}; before it: ${before.map(firing).join("; ")}` : newest;
}

export class AlertBanner {
  /** `banner`: the Banner the alerts are shown in. */
  constructor(banner) {
    this.banner = banner;
  }

  /** A message from the live socket (only ALERT is this module's). */
  heard(message) {
    if (message.type !== ALERT) return;
    this.banner.say(alertText(message), { bad: true, forMs: 60000 });
  }
}
