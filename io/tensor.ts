/**
 * Host tensors as the readers return them, and the element codecs between file bytes and numbers.
 * Floating dtypes widen or narrow to Float32Array (the engine computes in f32); integer dtypes become
 * Float64Array, which holds every int64 the engine can use exactly (|v| <= 2^53).
 */
import { HOST_LITTLE_ENDIAN } from './bytes.js';

/** Floating-point element types a file may store. */
export type FloatDType = 'f32' | 'f16' | 'bf16' | 'f64';
/** Integer and boolean element types a file may store. */
export type IntDType = 'i64' | 'i32' | 'i16' | 'i8' | 'u8' | 'bool';
/** Every element type the readers and writers handle. */
export type DType = FloatDType | IntDType;

/** A floating tensor; `dtype` is the type in the file (read) or to write (write). Data is C order. */
export interface FloatTensor {
  readonly dtype: FloatDType;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** An integer or boolean tensor as exact numbers; `dtype` as for FloatTensor. Data is C order. */
export interface IntTensor {
  readonly dtype: IntDType;
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/** A dense, C-ordered tensor in host memory. */
export type HostTensor = FloatTensor | IntTensor;

/** Bytes per element. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  f32: 4, f16: 2, bf16: 2, f64: 8, i64: 8, i32: 4, i16: 2, i8: 1, u8: 1, bool: 1,
};

/** True for the floating dtypes. */
export function isFloatDType(d: DType): d is FloatDType {
  return d === 'f32' || d === 'f16' || d === 'bf16' || d === 'f64';
}

/** Element count of a shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Builds a HostTensor, checking that the data length matches the shape and the array type the dtype. */
export function hostTensor(dtype: DType, shape: readonly number[], data: Float32Array | Float64Array): HostTensor {
  for (const s of shape) {
    if (!Number.isSafeInteger(s) || s < 0) throw new RangeError(`bad dimension ${s} in shape [${shape.join(', ')}]`);
  }
  if (data.length !== numel(shape)) {
    throw new RangeError(`shape [${shape.join(', ')}] needs ${numel(shape)} elements, data has ${data.length}`);
  }
  if (isFloatDType(dtype)) {
    if (!(data instanceof Float32Array)) throw new TypeError(`a ${dtype} tensor holds a Float32Array`);
    return { dtype, shape: [...shape], data };
  }
  if (!(data instanceof Float64Array)) throw new TypeError(`an ${dtype} tensor holds a Float64Array`);
  return { dtype, shape: [...shape], data };
}

let f16Table: Float32Array | null = null;

/** The float value of every half-precision bit pattern, built on first use (256 KiB). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 31) t[h] = mant ? NaN : sign * Infinity;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

/** The float value of a half-precision bit pattern. */
export function f16BitsToF32(h: number): number {
  return halfTable()[h & 0xffff]!;
}

const scratchF = new Float32Array(1);
const scratchU = new Uint32Array(scratchF.buffer);

/** Half-precision bits of a number, rounded to nearest even like torch's .half(). */
export function f32ToF16Bits(v: number): number {
  scratchF[0] = v;
  const x = scratchU[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: shift the 24-bit significand (implicit bit included) down to units of 2^-24.
    const shift = 14 - e;
    if (shift > 24) return sign;
    mant |= 0x800000;
    const half = 1 << (shift - 1);
    const rem = mant & ((1 << shift) - 1);
    let r = mant >>> shift;
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++; // a carry into the exponent is the right answer, up to inf
  return sign | r;
}

/** bfloat16 bits of a number, rounded to nearest even; NaN stays a quiet NaN. */
export function f32ToBf16Bits(v: number): number {
  scratchF[0] = v;
  const x = scratchU[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Reverses each `size`-byte group in place (file byte order -> host byte order). */
function swapBytes(b: Uint8Array, size: number): void {
  for (let i = 0; i + size <= b.length; i += size) {
    for (let j = 0, k = size - 1; j < k; j++, k--) {
      const t = b[i + j]!;
      b[i + j] = b[i + k]!;
      b[i + k] = t;
    }
  }
}

/**
 * Decodes packed elements (bytes.length must be a multiple of the element size) into a fresh array:
 * Float32Array for floating dtypes, Float64Array for the rest. Throws RangeError for an int64 beyond 2^53.
 */
export function decodeElements(bytes: Uint8Array, dtype: DType, littleEndian = true): Float32Array | Float64Array {
  const size = DTYPE_BYTES[dtype];
  const n = bytes.length / size;
  if (!Number.isInteger(n)) throw new RangeError(`${bytes.length} bytes is not a whole number of ${dtype} elements`);
  const copy = bytes.slice(); // fresh, 0-aligned buffer that typed-array views can use directly
  if (size > 1 && littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(copy, size);
  const buf = copy.buffer;
  switch (dtype) {
    case 'f32':
      return new Float32Array(buf, 0, n);
    case 'f64':
      return new Float32Array(new Float64Array(buf, 0, n));
    case 'f16': {
      const t = halfTable();
      const h = new Uint16Array(buf, 0, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = t[h[i]!]!;
      return out;
    }
    case 'bf16': {
      const h = new Uint16Array(buf, 0, n);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = h[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    case 'i64': {
      const v = new BigInt64Array(buf, 0, n);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const x = Number(v[i]!);
        if (!Number.isSafeInteger(x)) throw new RangeError(`int64 value ${v[i]} is beyond 2^53`);
        out[i] = x;
      }
      return out;
    }
    case 'i32':
      return new Float64Array(new Int32Array(buf, 0, n));
    case 'i16':
      return new Float64Array(new Int16Array(buf, 0, n));
    case 'i8':
      return new Float64Array(new Int8Array(buf, 0, n));
    case 'u8':
      return new Float64Array(copy);
    case 'bool':
      return Float64Array.from(copy, (x) => (x ? 1 : 0));
  }
}

const INT_RANGE: Readonly<Record<IntDType, readonly [number, number]>> = {
  i64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  i32: [-(2 ** 31), 2 ** 31 - 1],
  i16: [-32768, 32767],
  i8: [-128, 127],
  u8: [0, 255],
  bool: [0, 1],
};

/**
 * Encodes numbers as little-endian `dtype` elements. A Float32Array written as f32 on a little-endian
 * host comes back as a view of its own memory (no copy), which keeps multi-gigabyte writes cheap.
 */
export function encodeElements(data: ArrayLike<number>, dtype: DType): Uint8Array {
  const n = data.length;
  let out: Uint8Array;
  switch (dtype) {
    case 'f32': {
      if (data instanceof Float32Array && HOST_LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      out = new Uint8Array(Float32Array.from(data).buffer);
      break;
    }
    case 'f64':
      out = new Uint8Array(Float64Array.from(data).buffer);
      break;
    case 'f16':
    case 'bf16': {
      const h = new Uint16Array(n);
      const f = dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
      for (let i = 0; i < n; i++) h[i] = f(data[i]!);
      out = new Uint8Array(h.buffer);
      break;
    }
    default: {
      const [lo, hi] = INT_RANGE[dtype];
      for (let i = 0; i < n; i++) {
        const x = data[i]!;
        if (!Number.isInteger(x) || x < lo || x > hi) throw new RangeError(`value ${x} at index ${i} does not fit ${dtype}`);
      }
      if (dtype === 'i64') out = new Uint8Array(BigInt64Array.from(Array.from(data), (x) => BigInt(x)).buffer);
      else if (dtype === 'i32') out = new Uint8Array(Int32Array.from(data).buffer);
      else if (dtype === 'i16') out = new Uint8Array(Int16Array.from(data).buffer);
      else if (dtype === 'i8') out = new Uint8Array(Int8Array.from(data).buffer);
      else out = Uint8Array.from(data);
    }
  }
  if (!HOST_LITTLE_ENDIAN) swapBytes(out, DTYPE_BYTES[dtype]);
  return out;
}

/** True when a view with this shape and stride is dense C order (dimensions of size 1 may have any stride). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) return false;
    expect *= shape[d]!;
  }
  return true;
}

/**
 * Copies the strided view (offset, shape, stride) of `src` into a new dense C-ordered array of the same
 * type. The caller has checked that every index the view touches lies inside `src`.
 */
export function gatherStrided<T extends Float32Array | Float64Array>(
  src: T,
  offset: number,
  shape: readonly number[],
  stride: readonly number[],
): T {
  const n = numel(shape);
  const out = new (src.constructor as new (n: number) => T)(n);
  if (n === 0) return out;
  const nd = shape.length;
  if (nd === 0) {
    out[0] = src[offset]!;
    return out;
  }
  const inner = shape[nd - 1]!;
  const innerStride = stride[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  let base = offset;
  let o = 0;
  for (;;) {
    for (let j = 0, p = base; j < inner; j++, p += innerStride) out[o++] = src[p]!;
    let d = nd - 2;
    for (; d >= 0; d--) {
      idx[d]!++;
      base += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      base -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
    if (d < 0) return out;
  }
}
