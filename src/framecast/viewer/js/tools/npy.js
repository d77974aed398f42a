// NumPy's .npy format (versions 1 to 3), as the raw tiles come (docs/science.md): the header's
// dtype, shape and order, and the values as a typed array. Pure: bytes in, numbers out.
// float16 comes as float32 numbers (each exactly). 64-bit integers come as float64 numbers
// to paint and count (exact up to 2^53) and, in `exact`, as BigInts: the values exactly as
// published, for the readout.

const TYPES = {
  b1: [Uint8Array, 1], u1: [Uint8Array, 1], i1: [Int8Array, 1],
  u2: [Uint16Array, 2], i2: [Int16Array, 2],
  u4: [Uint32Array, 4], i4: [Int32Array, 4],
  f2: [Uint16Array, 2], f4: [Float32Array, 4], f8: [Float64Array, 8],
  i8: [BigInt64Array, 8], u8: [BigUint64Array, 8],
};
const GETTERS = {
  u2: "getUint16", i2: "getInt16", f2: "getUint16", u4: "getUint32", i4: "getInt32", f4: "getFloat32", f8: "getFloat64",
  i8: "getBigInt64", u8: "getBigUint64",
};
const NAMES = {
  b1: "bool", u1: "uint8", i1: "int8", f2: "float16", u2: "uint16", i2: "int16", u4: "uint32", i4: "int32", f4: "float32", f8: "float64",
  i8: "int64", u8: "uint64",
};

export class NpyError extends Error {}

/** The value of IEEE 754 half-precision bits (float16), as a number. */
function halfValue(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;  // zero and subnormals
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/** Parse a .npy file (an ArrayBuffer): {dtype: "uint16", shape: [h, w(, c)], data}; for
 *  int64 and uint64, `data` holds float64 numbers and `exact` the BigInt values. */
export function parseNpy(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];  // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new NpyError("not a .npy file");
  const major = bytes[6];
  const view = new DataView(buffer);
  let headerLength;
  let start;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLength = view.getUint32(8, true);
    start = 12;
  } else {
    throw new NpyError(`unknown .npy version ${major}`);
  }
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([<>|=])([a-z]\d+)'/.exec(header);
  const order = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !order || !shapeText) throw new NpyError("unreadable .npy header");
  const [, endian, code] = descr;
  if (!TYPES[code]) throw new NpyError(`unsupported dtype ${code}`);
  const shape = shapeText[1].split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const [Kind, size] = TYPES[code];
  const offset = start + headerLength;
  if (buffer.byteLength < offset + count * size) throw new NpyError("truncated .npy data");
  let data;
  if (size === 1 || (endian !== ">" && offset % size === 0)) {
    data = new Kind(buffer, offset, count);
  } else {
    // Unaligned or big-endian: read value by value.
    data = new Kind(count);
    const little = endian !== ">";
    const getter = GETTERS[code];
    for (let i = 0; i < count; i += 1) data[i] = view[getter](offset + i * size, little);
  }
  const npy = { dtype: NAMES[code], shape, fortran: order[1] === "True", data };
  if (code === "f2") npy.data = Float32Array.from(data, halfValue);  // float32 holds each exactly
  if (size === 8 && code !== "f8") {
    npy.exact = data;
    npy.data = Float64Array.from(data, Number);
  }
  return npy;
}
