// The server's alerts (docs/together.md, "Alerts"): each `alert` message on the live socket
// is shown in a banner over the image, for a minute or until the next one.

import { ALERT } from "./messages.js";

/** What the banner says of one alert message (pure). */
export function alertText(message) {
  const value = typeof message.value === "number" ? Number(message.value.toPrecision(6)) : message.value;
  const where = Number.isInteger(message.seq) ? ` at frame #${message.seq}` : "";
  return `Alert ${message.rule}: ${message.key} = ${value}${where}`;
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
