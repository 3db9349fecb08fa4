/**
 * .npz: numpy's own files (stored and deflated, Fortran order, several dtypes) read exactly; our .npy
 * bytes equal numpy's; round trips through memory and through atomic files.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatBytes } from '../io/bytes.js';
import { nodeInflate, readNpzFile, writeNpzFile } from '../io/node_file.js';
import { decodeNpy, encodeNpy, encodeNpz, readNpz } from '../io/npz.js';
import { memorySource } from '../io/source.js';
import { hostTensor, type HostTensor } from '../io/tensor.js';
import { streamInflate, ZipReader } from '../io/zip.js';
import { ar, fixtureSource, same, throwsFormat } from './lib/io_fixtures.js';

const NUMPY: [string, HostTensor][] = [
  ['f32', hostTensor('f32', [2, 3], Float32Array.from(ar(6, 0.5)))],
  ['f64', hostTensor('f64', [4], Float32Array.from(ar(4, 1, -1.5)))],
  ['fortran', hostTensor('f32', [2, 3], Float32Array.from(ar(6)))],
  ['i64', hostTensor('i64', [2], Float64Array.of(-(2 ** 40), 3))],
  ['flags', hostTensor('bool', [2], Float64Array.of(1, 0))],
  ['scalar', hostTensor('f32', [], Float32Array.of(2.5))],
  ['empty', hostTensor('f32', [0, 3], new Float32Array(0))],
];

test('numpy.savez file, stored entries with ZIP64 local fields', async () => {
  same(await readNpz(fixtureSource('numpy.npz')), new Map(NUMPY));
});

for (const [name, inflate] of [['zlib', nodeInflate], ['DecompressionStream', streamInflate]] as const) {
  test(`numpy.savez_compressed file through ${name}`, async () => {
    same(await readNpz(fixtureSource('numpy_compressed.npz'), { inflate }), new Map(NUMPY));
  });
}

test('our .npy bytes are numpy\'s (header text, 64-byte padding, data)', async () => {
  const zip = await ZipReader.open(fixtureSource('numpy_f32.npz'));
  const arrays = { a: { shape: [2, 3], data: Float32Array.from(ar(6, 0.5)) }, b: { shape: [130], data: Float32Array.from(ar(130)) } };
  for (const [name, array] of Object.entries(arrays)) {
    assert.equal([...concatBytes(encodeNpy(array))], [...(await zip.read(`${name}.npy`))], name);
  }
  assert.is(concatBytes(encodeNpy(arrays.a)).indexOf(0x0a) + 1, 128, 'header ends at a multiple of 64');
});

test('round trip in memory and through an atomic file', async () => {
  const arrays: [string, { shape: number[]; data: Float32Array }][] = [
    ['x', { shape: [3, 2], data: Float32Array.of(1, -2, 3.5, 1e-30, Infinity, -0) }],
    ['scalar', { shape: [], data: Float32Array.of(7) }],
    ['empty', { shape: [0], data: new Float32Array(0) }],
  ];
  const expected = new Map(arrays.map(([k, a]) => [k, hostTensor('f32', a.shape, a.data)]));
  same(await readNpz(memorySource(concatBytes(encodeNpz(arrays)))), expected);
  const dir = mkdtempSync(join(tmpdir(), 'esm-kn-npz-'));
  try {
    const path = join(dir, 'out.npz');
    writeFileSync(path, 'old contents');
    await writeNpzFile(path, arrays);
    same(await readNpzFile(path), expected);
    assert.equal(readdirSync(dir), ['out.npz']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

const npy = (header: string, data: number[]): Uint8Array =>
  Uint8Array.from([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length, 0, ...new TextEncoder().encode(header), ...data]);

test('big-endian and Fortran-ordered 3-d arrays', () => {
  same(decodeNpy(npy("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }\n", [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe])), hostTensor('i32', [2], Float64Array.of(1, -2)));
  // Column-major (2, 2, 2): element (i, j, k) is stored at i + 2j + 4k.
  const t = decodeNpy(npy("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2, 2), }\n", [0, 1, 2, 3, 4, 5, 6, 7]));
  assert.equal(Array.from(t.data), [0, 4, 2, 6, 1, 5, 3, 7]);
});

const bad: [string, Uint8Array, RegExp][] = [
  ['bad magic', new TextEncoder().encode('not numpy at all'), /npy: missing \\x93NUMPY magic/],
  ['unsupported dtype', npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", [0, 0, 0, 0, 0, 0, 0, 0]), /unsupported dtype '<c8'/],
  ['data size mismatch', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", [0, 0, 0, 0]), /data is 4 bytes, shape \(2\) of <f4 needs 8/],
  ['unreadable header', npy('{"descr": 1}\n', []), /unreadable header/],
  ['version 9', Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 9, 0, 0, 0), /unsupported format version 9/],
];

for (const [name, bytes, pattern] of bad) {
  test(`bad npy: ${name}`, async () => {
    await throwsFormat(() => decodeNpy(bytes, 'x.npy'), pattern);
  });
}

test.run();
