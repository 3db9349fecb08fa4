/**
 * safetensors: the reference implementation's file read exactly and reproduced byte for byte,
 * round trips of every dtype through memory and through atomic files, and header validation.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatBytes } from '../io/bytes.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/node_file.js';
import { encodeSafetensors, readSafetensors, readSafetensorsHeader } from '../io/safetensors.js';
import { memorySource } from '../io/source.js';
import { DTYPE_BYTES, hostTensor, type HostTensor } from '../io/tensor.js';
import { fixtureBytes, fixtureSource, same, throwsFormat } from './lib/io_fixtures.js';

const f32 = (shape: number[], values: number[]): HostTensor => hostTensor('f32', shape, Float32Array.from(values));

const REFERENCE: [string, HostTensor][] = [
  ['i64', hostTensor('i64', [2], Float64Array.of(-(2 ** 40), 5))],
  ['f64', hostTensor('f64', [2], Float32Array.of(0.5, 1.5))],
  ['f32', f32([2, 3], [0, 0.5, 1, 1.5, 2, 2.5])],
  ['i32', hostTensor('i32', [1], Float64Array.of(-7))],
  ['bf16', hostTensor('bf16', [3], Float32Array.of(0, 2, 4))],
  ['f16', hostTensor('f16', [4], Float32Array.of(-1, -0.75, -0.5, -0.25))],
];

test('reads the reference implementation\'s file exactly', async () => {
  const file = await readSafetensors(fixtureSource('reference.safetensors'));
  same(file.tensors, new Map(REFERENCE));
  assert.equal(file.metadata, { format: 'pt' });
});

test('writes the reference implementation\'s bytes (order, header, padding)', () => {
  const mine = concatBytes(encodeSafetensors([...REFERENCE].reverse(), { format: 'pt' }));
  assert.equal([...mine], [...fixtureBytes('reference.safetensors')]);
});

test('round trip of every dtype, scalars, empty tensors and awkward names', async () => {
  const tensors: [string, HostTensor][] = [
    ['bool', hostTensor('bool', [3], Float64Array.of(1, 0, 1))],
    ['u8', hostTensor('u8', [2], Float64Array.of(0, 255))],
    ['i8', hostTensor('i8', [2], Float64Array.of(-128, 127))],
    ['i16', hostTensor('i16', [2], Float64Array.of(-32768, 32767))],
    ['scalar', f32([], [3.25])],
    ['empty', f32([0, 5], [])],
    ['__proto__', f32([1], [1])],
    ['名前 "quoted"', hostTensor('bf16', [2], Float32Array.of(-0.5, 256))],
    ...REFERENCE,
  ];
  const bytes = concatBytes(encodeSafetensors(tensors, { note: 'x' }));
  const { entries } = await readSafetensorsHeader(memorySource(bytes));
  for (const e of entries) assert.is(e.begin % DTYPE_BYTES[e.dtype], 0, `${e.name} aligned`);
  const back = await readSafetensors(memorySource(bytes));
  const byName = (m: Iterable<[string, HostTensor]>) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
  same(byName(back.tensors), byName(tensors));
  assert.equal(back.metadata, { note: 'x' });
  const partial = await readSafetensors(memorySource(bytes), { filter: (n) => n === 'u8' });
  assert.equal([...partial.tensors.keys()], ['u8']);
});

test('atomic file write and read back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'esm-kn-st-'));
  try {
    const path = join(dir, 'model.safetensors');
    await writeSafetensorsFile(path, REFERENCE, { format: 'pt' });
    const back = await readSafetensorsFile(path);
    same(back.tensors, new Map(REFERENCE));
    assert.equal(readdirSync(dir), ['model.safetensors']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

/** A file with this header JSON and `dataBytes` zero bytes of data. */
function withHeader(json: string, dataBytes: number): Uint8Array {
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  return out;
}

const x = (dtype: string, shape: number[], offsets: number[]): string => JSON.stringify({ x: { dtype, shape, data_offsets: offsets } });

const bad: [string, () => Uint8Array, RegExp][] = [
  ['file shorter than the length field', () => new Uint8Array(5), /file of 5 bytes is too short for a safetensors header/],
  ['header longer than the file', () => withHeader('{}', 0).subarray(0, 9), /header length 2 exceeds file size 9 \(truncated\?\)/],
  ['absurd header length', () => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setBigUint64(0, 2n ** 60n, true);
    return b;
  }, /header length 1152921504606846976 exceeds the 100000000-byte limit/],
  ['data_offsets past the data', () => withHeader(x('F32', [100], [0, 400]), 256), /model\.safetensors: tensor 'x' data_offsets \[0, 400\] exceed the 256-byte data section \(file size \d+\)/],
  ['not JSON', () => withHeader('{"x": ', 0), /header is not valid UTF-8 JSON/],
  ['JSON array', () => withHeader('[1]', 0), /header is not a JSON object/],
  ['unknown dtype', () => withHeader(x('F8_E4M3', [1], [0, 1]), 1), /tensor 'x' has unsupported dtype "F8_E4M3"/],
  ['negative dimension', () => withHeader(x('F32', [-1], [0, 4]), 4), /tensor 'x' has a bad shape/],
  ['reversed offsets', () => withHeader(x('F32', [1], [4, 0]), 4), /tensor 'x' has bad data_offsets \[4,0\]/],
  ['size does not match shape', () => withHeader(x('F32', [2, 3], [0, 20]), 20), /tensor 'x' data_offsets \[0, 20\] hold 20 bytes, shape \[2, 3\] of F32 needs 24/],
  ['overlapping tensors', () => withHeader(JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), 8), /tensor 'b' overlaps the tensor before it/],
  ['gap between tensors', () => withHeader(x('F32', [1], [4, 8]), 8), /gap of 4 bytes before tensor 'x'/],
  ['bytes after the last tensor', () => withHeader(x('F32', [1], [0, 4]), 12), /8 bytes after the last tensor are not described by the header/],
  ['metadata that is not strings', () => withHeader('{"__metadata__": {"n": 1}}', 0), /__metadata__ value 'n' is not a string/],
];

for (const [name, make, pattern] of bad) {
  test(`bad safetensors: ${name}`, async () => {
    await throwsFormat(() => readSafetensors(memorySource(make(), 'model.safetensors')), pattern);
  });
}

test('every truncation of a valid file is a FormatError', async () => {
  const full = fixtureBytes('reference.safetensors');
  for (let n = 0; n < full.length; n++) {
    await throwsFormat(() => readSafetensors(memorySource(full.subarray(0, n), 'cut.safetensors')), /^cut\.safetensors: /);
  }
});

test('writer rejects duplicate names and mismatched data', () => {
  assert.throws(() => encodeSafetensors([['a', f32([1], [1])], ['a', f32([1], [2])]]), /duplicate tensor name 'a'/);
  assert.throws(() => encodeSafetensors([['a', { dtype: 'f32', shape: [2], data: Float32Array.of(1) }]]), /needs 2 elements, data has 1/);
  assert.throws(() => encodeSafetensors([['a', { dtype: 'i8', shape: [1], data: Float64Array.of(300) }]]), /value 300 at index 0 does not fit i8/);
});

test.run();
