/**
 * ZIP reader and writer: round trips in plain, PyTorch and forced-ZIP64 layouts, an entry past 4 GiB
 * in a sparse source, deflate through both inflaters, and corrupt or truncated archives.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deflateRawSync } from 'node:zlib';
import { ByteWriter, concatBytes, crc32, u16, u32 } from '../io/bytes.js';
import { FormatError } from '../io/errors.js';
import { nodeInflate } from '../io/node_file.js';
import { checkRange, memorySource, type ByteSource } from '../io/source.js';
import { streamInflate, ZipReader, type Inflater } from '../io/zip.js';
import { writeZip, type ZipWriteOptions } from '../io/zip_write.js';
import { throwsFormat } from './lib/io_fixtures.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function pseudoRandom(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    b[i] = seed >>> 24;
  }
  return b;
}

const ENTRIES = [
  { name: 'empty', data: new Uint8Array(0) },
  { name: 'dir/small.txt', data: enc('hello') },
  { name: 'dir/random.bin', data: [pseudoRandom(70_000, 1), pseudoRandom(33, 2)] },
  { name: 'ünïcode/名前', data: enc('utf-8 name') },
];

const layouts: [string, ZipWriteOptions][] = [['plain', {}], ['torch', { torch: true }], ['forced zip64', { forceZip64: true }], ['torch + zip64', { torch: true, forceZip64: true }]];

for (const [layout, options] of layouts) {
  test(`round trip, ${layout} layout`, async () => {
    const bytes = concatBytes(writeZip(ENTRIES, options));
    const zip = await ZipReader.open(memorySource(bytes, 'rt.zip'));
    assert.equal(zip.entries.map((e) => e.name), ENTRIES.map((e) => e.name));
    for (const e of ENTRIES) {
      const want = e.data instanceof Uint8Array ? e.data : concatBytes(e.data);
      assert.equal([...(await zip.read(e.name))], [...want], e.name);
      if (options.torch) assert.is((await zip.dataOffset(zip.get(e.name)!)) % 64, 0, `${e.name} aligned`);
    }
    // The central directory's 32-bit size fields are saturated exactly when ZIP64 is forced.
    const cd = u32(bytes, bytes.length - 6); // the end record's central-directory offset
    assert.is(u32(bytes, cd), 0x02014b50);
    assert.is(u32(bytes, cd + 24) === 0xffffffff, options.forceZip64 === true);
  });
}

test('writer refuses duplicate names', () => {
  assert.throws(() => writeZip([{ name: 'a', data: enc('1') }, { name: 'a', data: enc('2') }]), /duplicate entry name 'a'/);
});

/** A source of `size` bytes, zero except for the given regions: a multi-GiB file without the memory. */
function sparseSource(size: number, regions: [number, Uint8Array][], name: string): ByteSource {
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length, 'read');
      const out = new Uint8Array(length);
      for (const [at, b] of regions) {
        const lo = Math.max(at, offset);
        const hi = Math.min(at + b.length, offset + length);
        if (lo < hi) out.set(b.subarray(lo - at, hi - at), lo - offset);
      }
      return out;
    },
  };
}

test('an entry 5 GiB into the file, found through ZIP64 offsets', async () => {
  const at = 5 * 2 ** 30;
  const data = enc('far away');
  const name = enc('far.bin');
  const local = new ByteWriter().u32(0x04034b50).u16(45).u16(0).u16(0).u16(0).u16(0).u32(crc32(data)).u32(data.length).u32(data.length)
    .u16(name.length).u16(0).bytes(name).bytes(data).finish();
  const cdAt = at + local.length;
  const cd = new ByteWriter().u32(0x02014b50).u16(45).u16(45).u16(0).u16(0).u16(0).u16(0).u32(crc32(data)).u32(data.length).u32(data.length)
    .u16(name.length).u16(12).u16(0).u16(0).u16(0).u32(0).u32(0xffffffff).bytes(name).u16(1).u16(8).u64(at).finish();
  const eocd64At = cdAt + cd.length;
  const end = new ByteWriter()
    .u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(1).u64(1).u64(cd.length).u64(cdAt)
    .u32(0x07064b50).u32(0).u64(eocd64At).u32(1)
    .u32(0x06054b50).u16(0).u16(0).u16(1).u16(1).u32(cd.length).u32(0xffffffff).u16(0).finish();
  const source = sparseSource(eocd64At + end.length, [[at, local], [cdAt, cd], [eocd64At, end]], 'huge.zip');
  const zip = await ZipReader.open(source);
  assert.is(zip.entries[0]!.headerOffset, at);
  assert.equal([...(await zip.read('far.bin'))], [...data]);
});

/** An archive written field by field, so tests can give it any method, flags, sizes or CRC. */
function rawZip(e: { name: string; method: number; body: Uint8Array; size: number; crc: number; flags?: number }): Uint8Array {
  const name = enc(e.name);
  const local = new ByteWriter().u32(0x04034b50).u16(20).u16(e.flags ?? 0).u16(e.method).u16(0).u16(0x21).u32(e.crc)
    .u32(e.body.length).u32(e.size).u16(name.length).u16(0).bytes(name).bytes(e.body).finish();
  const cd = new ByteWriter().u32(0x02014b50).u16(20).u16(20).u16(e.flags ?? 0).u16(e.method).u16(0).u16(0x21).u32(e.crc)
    .u32(e.body.length).u32(e.size).u16(name.length).u16(0).u16(0).u16(0).u16(0).u32(0).u32(0).bytes(name).finish();
  const end = new ByteWriter().u32(0x06054b50).u16(0).u16(0).u16(1).u16(1).u32(cd.length).u32(local.length).u16(0).finish();
  return concatBytes([local, cd, end]);
}

const text = enc('deflate me '.repeat(500));
const deflated = (): Uint8Array => rawZip({ name: 'd.txt', method: 8, body: new Uint8Array(deflateRawSync(text)), size: text.length, crc: crc32(text) });

for (const [name, inflate] of [['zlib', nodeInflate], ['DecompressionStream', streamInflate]] as [string, Inflater][]) {
  test(`deflated entry through ${name}`, async () => {
    const zip = await ZipReader.open(memorySource(deflated()), { inflate });
    assert.equal([...(await zip.read('d.txt'))], [...text]);
  });

  test(`deflate bomb and garbage through ${name}`, async () => {
    const bomb = rawZip({ name: 'b', method: 8, body: new Uint8Array(deflateRawSync(text)), size: 100, crc: 0 });
    await throwsFormat(async () => (await ZipReader.open(memorySource(bomb, 'bomb.zip'), { inflate })).read('b'), /bomb\.zip: zip: entry 'b' does not inflate/);
    const junk = rawZip({ name: 'j', method: 8, body: pseudoRandom(64, 9), size: 1000, crc: 0 });
    await throwsFormat(async () => (await ZipReader.open(memorySource(junk, 'junk.zip'), { inflate })).read('j'), /junk\.zip: zip: entry 'j' (does not inflate|inflates to)/);
  });
}

const corrupt: [string, () => Uint8Array, RegExp][] = [
  ['not a zip', () => enc('just some text that is long enough'), /no end-of-central-directory record/],
  ['too short', () => enc('PK'), /too short to be a zip archive/],
  ['encrypted entry', () => rawZip({ name: 'e', method: 0, body: enc('x'), size: 1, crc: 0, flags: 1 }), /entry 'e' is encrypted/],
  ['bzip2 entry', () => rawZip({ name: 'z', method: 12, body: enc('x'), size: 1, crc: 0 }), /entry 'z' uses compression method 12/],
  ['stored entry with two sizes', () => rawZip({ name: 's', method: 0, body: enc('xy'), size: 5, crc: 0 }), /stored entry 's' has sizes 2 and 5/],
  ['central directory past the end', () => {
    const b = concatBytes(writeZip(ENTRIES));
    new DataView(b.buffer).setUint32(b.length - 6, b.length, true);
    return b;
  }, /zip central directory: bytes \[\d+, \d+\) exceed file size \d+/],
  ['damaged central signature', () => {
    const b = concatBytes(writeZip(ENTRIES));
    b[u32(b, b.length - 6)] = 0;
    return b;
  }, /bad central directory entry 0/],
  ['duplicate names', () => {
    const b = concatBytes(writeZip([{ name: 'a', data: enc('1') }, { name: 'b', data: enc('2') }]));
    for (let i = 0; i < b.length; i++) if (b[i] === 0x62 && b[i - 1] !== 0x50) b[i] = 0x61; // rename 'b' to 'a'
    return b;
  }, /duplicate entry 'a'/],
];

for (const [name, make, pattern] of corrupt) {
  test(`corrupt archive: ${name}`, async () => {
    await throwsFormat(() => ZipReader.open(memorySource(make(), 'bad.zip')), pattern);
  });
}

test('local header that disagrees with the central directory', async () => {
  const b = concatBytes(writeZip([{ name: 'abc', data: enc('x') }]));
  b[30] = 0x78; // first letter of the local name
  const zip = await ZipReader.open(memorySource(b, 'bad.zip'));
  await throwsFormat(() => zip.read('abc'), /local header name differs from central directory for 'abc'/);
  b[0] = 0;
  await throwsFormat(() => zip.read('abc'), /bad local header for 'abc' at 0/);
  await throwsFormat(() => zip.read('nope'), /no entry 'nope'/);
});

test('a flipped data byte fails the CRC check unless checking is off', async () => {
  const b = concatBytes(writeZip([{ name: 'x', data: enc('payload') }]));
  b[30 + 1 + 2] ^= 1;
  const zip = await ZipReader.open(memorySource(b, 'bad.zip'));
  await throwsFormat(() => zip.read('x'), /entry 'x' is corrupt \(CRC-32 0x[0-9a-f]{8}, expected 0x[0-9a-f]{8}\)/);
  assert.is((await zip.read('x', { verifyCrc: false })).length, 7);
});

test('every truncation of an archive is a FormatError', async () => {
  const full = concatBytes(writeZip(ENTRIES.slice(0, 2), { torch: true }));
  for (let n = 0; n < full.length; n++) {
    try {
      const zip = await ZipReader.open(memorySource(full.subarray(0, n), 'cut.zip'));
      for (const e of zip.entries) await zip.read(e);
      assert.unreachable(`prefix of ${n} bytes read`);
    } catch (err) {
      assert.instance(err, FormatError, `prefix of ${n}: ${(err as Error).message}`);
    }
  }
});

test('CRC-32 matches the standard check value', () => {
  assert.is(crc32(enc('123456789')), 0xcbf43926);
  assert.is(crc32(enc('56789'), crc32(enc('1234'))), 0xcbf43926);
  assert.is(u16(Uint8Array.of(0x34, 0x12), 0), 0x1234);
});

test.run();
