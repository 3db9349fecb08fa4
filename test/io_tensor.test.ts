/**
 * Element codecs: half and bfloat16 rounding (exhaustive over every half value and midpoint), every dtype
 * through encode/decode in both byte orders, strided gathers, and range errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeElements, DTYPE_BYTES, encodeElements, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, gatherStrided, hostTensor, isContiguous,
  type DType,
} from '../io/tensor.js';

test('every finite half converts to f32 and back exactly; midpoints round to even', () => {
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue; // NaN payloads
    assert.is(f32ToF16Bits(f16BitsToF32(h)), h, `half 0x${h.toString(16)}`);
  }
  for (let h = 0; h < 0x7bff; h++) {
    const a = f16BitsToF32(h);
    const b = f16BitsToF32(h + 1);
    const mid = (a + b) / 2; // exact in f32: halves have 11-bit significands
    assert.is(f32ToF16Bits(mid), h & 1 ? h + 1 : h, `midpoint above 0x${h.toString(16)}`);
    assert.is(f32ToF16Bits(-mid), (h & 1 ? h + 1 : h) | 0x8000);
  }
});

test('half overflow, underflow and specials', () => {
  assert.is(f32ToF16Bits(65504), 0x7bff);
  assert.is(f32ToF16Bits(65520), 0x7c00, 'halfway past the largest half rounds to infinity');
  assert.is(f32ToF16Bits(1e10), 0x7c00);
  assert.is(f32ToF16Bits(-Infinity), 0xfc00);
  assert.is(f32ToF16Bits(2 ** -25), 0, 'half the smallest subnormal ties to zero');
  assert.is(f32ToF16Bits(3 * 2 ** -26), 1);
  assert.is(f32ToF16Bits(-0), 0x8000);
  assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN))));
});

test('bfloat16 rounds to nearest even and keeps NaN', () => {
  for (let h = 0; h < 0x7f7f; h += 7) {
    const a = new Float32Array(new Uint32Array([h << 16]).buffer)[0]!;
    const b = new Float32Array(new Uint32Array([(h + 1) << 16]).buffer)[0]!;
    assert.is(f32ToBf16Bits(a), h);
    assert.is(f32ToBf16Bits((a + b) / 2), h & 1 ? h + 1 : h);
  }
  assert.is(f32ToBf16Bits(NaN) & 0x7fc0, 0x7fc0);
});

const SAMPLES: Record<DType, number[]> = {
  f32: [0, -1.5, 3.4e38, 1e-45, Infinity],
  f16: [0, -2, 65504, 2 ** -24, -Infinity],
  bf16: [0, 1, -3.3895313892515355e38, 2 ** -126],
  f64: [0.5, -1e-30, 1e30],
  i64: [0, -1, 2 ** 53 - 1, -(2 ** 53) + 1],
  i32: [-(2 ** 31), 2 ** 31 - 1, 0],
  i16: [-32768, 32767],
  i8: [-128, 127],
  u8: [0, 255],
  bool: [0, 1, 1],
};

for (const [dtype, values] of Object.entries(SAMPLES) as [DType, number[]][]) {
  test(`${dtype}: encode then decode, little- and big-endian`, () => {
    const le = encodeElements(values, dtype);
    assert.is(le.length, values.length * DTYPE_BYTES[dtype]);
    const want = dtype.startsWith('f') || dtype === 'bf16' ? Array.from(Float32Array.from(values)) : values;
    assert.equal(Array.from(decodeElements(le, dtype)), want);
    const be = le.slice();
    const size = DTYPE_BYTES[dtype];
    for (let i = 0; i < be.length; i += size) be.subarray(i, i + size).reverse();
    assert.equal(Array.from(decodeElements(be, dtype, false)), want);
  });
}

test('range and type errors', () => {
  assert.throws(() => encodeElements([128], 'i8'), /value 128 at index 0 does not fit i8/);
  assert.throws(() => encodeElements([0.5], 'i32'), /does not fit i32/);
  assert.throws(() => encodeElements([2 ** 53], 'i64'), /does not fit i64/);
  assert.throws(() => decodeElements(encodeElementsRaw64(2n ** 60n), 'i64'), /int64 value 1152921504606846976 is beyond 2\^53/);
  assert.throws(() => decodeElements(new Uint8Array(3), 'f32'), /3 bytes is not a whole number of f32 elements/);
  assert.throws(() => hostTensor('f32', [2], new Float64Array(2)), /holds a Float32Array/);
  assert.throws(() => hostTensor('f32', [-1], new Float32Array(0)), /bad dimension -1/);
});

function encodeElementsRaw64(v: bigint): Uint8Array {
  return new Uint8Array(BigInt64Array.of(v).buffer);
}

test('a Float32Array written as f32 is a view, not a copy', () => {
  const data = Float32Array.of(1, 2);
  const bytes = encodeElements(data, 'f32');
  assert.ok(bytes.buffer === data.buffer);
});

test('strided gathers: transpose, offset, broadcast (stride 0), scalar, empty', () => {
  const src = Float32Array.from({ length: 12 }, (_, i) => i);
  assert.equal(Array.from(gatherStrided(src, 0, [4, 3], [1, 4])), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  assert.equal(Array.from(gatherStrided(src, 5, [2, 2], [3, 1])), [5, 6, 8, 9]);
  assert.equal(Array.from(gatherStrided(src, 2, [2, 3], [0, 1])), [2, 3, 4, 2, 3, 4]);
  assert.equal(Array.from(gatherStrided(src, 7, [], [])), [7]);
  assert.equal(Array.from(gatherStrided(src, 0, [0, 3], [3, 1])), []);
  assert.equal(Array.from(gatherStrided(src, 0, [2, 1, 2, 3], [6, 99, 3, 1])), Array.from(src), 'size-1 dimension ignores its stride');
  assert.ok(isContiguous([2, 1, 3], [3, 77, 1]));
  assert.not.ok(isContiguous([3, 4], [1, 3]));
});

test.run();
