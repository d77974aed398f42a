// Raw values as NumPy prints them (the readout, the levels' fields and notes): integers as
// they are (a whole float too: 40000, never 40000.0), floats with the fewest digits that give
// them back in their own precision. Pure.

/** The `digits`-digit decimal nearest to `value` (as the number nearest to it), ties to an
 *  even last digit as NumPy's shortest repr does (35.125 at 4 digits: 35.12, where
 *  JavaScript's `toPrecision` gives 35.13). Pure. */
function nearestDecimal(value, digits) {
  const [mantissa, exponent] = Math.abs(value).toExponential(60).split("e");  // exact
  const all = mantissa.replace(".", "");
  const head = all.slice(0, digits);
  const tie = /^50*$/.test(all.slice(digits));
  if (!tie || Number(head[head.length - 1]) % 2 === 1) return Number(value.toPrecision(digits));
  const sign = value < 0 ? "-" : "";
  return Number(`${sign}${head[0]}.${head.slice(1)}e${exponent}`);  // the tie, kept even
}

/** `x` rounded to the nearest float16 (ties to even; beyond the largest, ±inf). Pure. */
export function f16round(x) {
  if (!Number.isFinite(x) || x === 0) return x;
  const size = Math.abs(x);
  if (size >= 65520) return Math.sign(x) * Infinity;  // 65504 + half a step
  let exponent = Math.max(-14, Math.floor(Math.log2(size)));  // below 2^-14: subnormal steps
  if (exponent > -14 && 2 ** exponent > size) exponent -= 1;
  const step = 2 ** (exponent - 10);
  const steps = size / step;  // exact: a power of two divides
  const low = Math.floor(steps);
  const rest = steps - low;
  const near = rest > 0.5 || (rest === 0.5 && low % 2 === 1) ? low + 1 : low;
  return Math.sign(x) * near * step;
}

// Per float dtype: how to round to it, its most significant digits, the exponent from which
// NumPy prints it in scientific notation.
const PRECISION = {
  float16: [f16round, 5, 3],
  float32: [Math.fround, 9, 16],
  float64: [(x) => x, 17, 16],
};

/** A raw value as NumPy prints it, but a whole float as an integer (40000, not 40000.0):
 *  integers as they are, float32 with the fewest digits that give it back (3.25e-05, not
 *  3.2499999273661524e-05), NaN, inf, -inf. Pure. */
export function formatRaw(value, dtype) {
  if (Array.isArray(value)) return value.map((v) => formatRaw(v, dtype)).join(", ");
  if (typeof value === "bigint") return String(value);
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  if (Object.is(value, -0)) return "-0";
  if (Number.isInteger(value) && !/^float/.test(dtype)) return String(value);
  // The fewest digits that give the value back in its own precision; NumPy writes float16
  // from 1e3 up with an exponent, the wider floats from 1e16.
  const [round, most, scientific] = PRECISION[dtype] || PRECISION.float64;
  let shortest = value;
  let digits = most;
  for (let p = 1; p <= most; p += 1) {
    const candidate = nearestDecimal(value, p);
    if (round(candidate) === value) { shortest = candidate; digits = p; break; }
  }
  const [mantissa, exponentText] = shortest.toExponential(digits - 1).split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= scientific) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  // a whole float as an integer (40000, never 40000.0: docs/viewer.md)
  return String(Number(shortest.toPrecision(digits)));
}

/** A number's text (as JSON or a field writes it) with at most `digits` significant digits,
 *  for figures read at a glance (docs/viewer.md): integers as written (`83197409`, exact
 *  however long), other numbers rounded, then with the fewest digits that give the rounded
 *  number back (`220.36333633342912` → `220.3633`, `3.2500001e-05` → `0.0000325`); text that
 *  is not a number is kept. Lists (`[131.2, 112.9]`) have each number rounded. Pure. */
export function significant(text, digits = 7) {
  return String(text).replace(/-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g, (number) => {
    if (/^-?\d+$/.test(number)) return number;
    const value = Number(number);
    return Number.isFinite(value) ? String(Number(value.toPrecision(digits))) : number;
  });
}
