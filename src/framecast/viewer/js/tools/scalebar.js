// The scale bar's length and label (docs/viewer.md): from the metadata's `pixel_size` (a number,
// in `pixel_unit` per image pixel) and how many screen pixels an image pixel covers now, the
// longest "nice" length (1, 2 or 5 × 10^k units) that fits in `maxScreen` pixels. Pure.

/** {screen: length in screen pixels, label: "20 µm"} or null when there is nothing to draw. */
export function scaleBar(pixelSize, unit, screenPerImagePixel, maxScreen = 160) {
  if (typeof pixelSize !== "number" || !(pixelSize > 0) || !Number.isFinite(pixelSize)) return null;
  if (typeof unit !== "string" || !unit || !(screenPerImagePixel > 0)) return null;
  const most = (maxScreen / screenPerImagePixel) * pixelSize;  // units that fit
  const power = 10 ** Math.floor(Math.log10(most));
  const nice = [5, 2, 1].map((m) => m * power).find((v) => v <= most) ?? power;
  const label = `${formatLength(nice)} ${unit}`;
  return { screen: (nice / pixelSize) * screenPerImagePixel, label, units: nice };
}

/** A 1/2/5 × 10^k length without floating-point noise (0.30000000000000004 → 0.3). */
function formatLength(value) {
  return String(Number(value.toPrecision(1)));
}
