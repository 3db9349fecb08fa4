/**
 * ZIP reader over a random-access ByteSource: central directory, ZIP64 records and extra fields,
 * stored entries and (through an injected inflater) deflated ones. torch.save writes every record
 * stored and 64-byte aligned, so a tensor storage is one contiguous range of the file.
 */
import { crc32, fromUtf8, u16, u32, u64 } from './bytes.js';
import { FormatError } from './errors.js';
import { checkRange, type ByteSource } from './source.js';

/** One file in the archive, as the central directory describes it. */
export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly compressedSize: number;
  /** Uncompressed size in bytes. */
  readonly size: number;
  readonly crc32: number;
  /** Offset of the entry's local header. */
  readonly headerOffset: number;
}

/**
 * Inflates raw deflate data to `size` bytes. In Node pass zlib's inflateRawSync (see node_file.ts);
 * without one the reader falls back to the DecompressionStream that browsers and Node 20 provide.
 */
export type Inflater = (compressed: Uint8Array, size: number) => Uint8Array | Promise<Uint8Array>;

/** Options for ZipReader.open. */
export interface ZipOptions {
  inflate?: Inflater;
}

/** Options for reading one entry. */
export interface ZipReadOptions {
  /** Check the CRC-32 (default true); a mismatch is a FormatError. */
  verifyCrc?: boolean;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;

/** Inflates with the web-standard DecompressionStream (browsers, Node >= 20). */
export async function streamInflate(compressed: Uint8Array, size: number): Promise<Uint8Array> {
  const stream = new Blob([compressed as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const reader = stream.getReader();
  const out = new Uint8Array(size);
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // Stop at the declared size so a deflate bomb cannot allocate more than the header promised.
    if (n + value.length > size) {
      await reader.cancel();
      throw new RangeError(`inflates past its declared ${size} bytes`);
    }
    out.set(value, n);
    n += value.length;
  }
  if (n !== size) throw new RangeError(`inflates to ${n} bytes, header says ${size}`);
  return out;
}

/** A parsed ZIP archive; entries are read on demand from the source. */
export class ZipReader {
  private readonly byName = new Map<string, ZipEntry>();

  private constructor(
    /** The underlying bytes. */
    readonly source: ByteSource,
    /** Every entry in central-directory order. */
    readonly entries: readonly ZipEntry[],
    private readonly inflate: Inflater,
  ) {
    for (const e of entries) {
      if (this.byName.has(e.name)) throw new FormatError(source.name, `zip: duplicate entry '${e.name}'`);
      this.byName.set(e.name, e);
    }
  }

  /** Reads the end-of-central-directory records and the central directory. */
  static async open(source: ByteSource, options: ZipOptions = {}): Promise<ZipReader> {
    const name = source.name;
    const fail = (what: string): never => {
      throw new FormatError(name, `zip: ${what}`);
    };
    if (source.size < EOCD_SIZE) fail(`file of ${source.size} bytes is too short to be a zip archive`);
    const tailLen = Math.min(source.size, EOCD_SIZE + 0xffff + 20 + 56);
    const tailStart = source.size - tailLen;
    const tail = await source.read(tailStart, tailLen);
    let at = -1;
    for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
      if (u32(tail, i) === SIG_EOCD && i + EOCD_SIZE + u16(tail, i + 20) <= tailLen) {
        at = i;
        break;
      }
    }
    if (at < 0) fail('no end-of-central-directory record (not a zip archive, or truncated)');
    if (u16(tail, at + 4) !== 0 || u16(tail, at + 6) !== 0) fail('multi-disk archives are not supported');
    let count = u16(tail, at + 10);
    let cdSize = u32(tail, at + 12);
    let cdOffset = u32(tail, at + 16);
    if (at >= 20 && u32(tail, at - 20) === SIG_LOCATOR64) {
      const recOffset = u64(tail, at - 12);
      checkRange(name, source.size, recOffset, 56, 'zip64 end-of-central-directory record');
      const rec = await source.read(recOffset, 56);
      if (u32(rec, 0) !== SIG_EOCD64) fail(`bad zip64 end-of-central-directory signature at ${recOffset}`);
      count = u64(rec, 32);
      cdSize = u64(rec, 40);
      cdOffset = u64(rec, 48);
    } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      fail('zip64 sizes without a zip64 locator');
    }
    checkRange(name, source.size, cdOffset, cdSize, 'zip central directory');
    if (count * CENTRAL_SIZE > cdSize) fail(`central directory of ${cdSize} bytes cannot hold ${count} entries`);
    const cd = await source.read(cdOffset, cdSize);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let k = 0; k < count; k++) {
      if (p + CENTRAL_SIZE > cd.length || u32(cd, p) !== SIG_CENTRAL) fail(`bad central directory entry ${k} at ${cdOffset + p}`);
      const flags = u16(cd, p + 8);
      const method = u16(cd, p + 10);
      const nameLen = u16(cd, p + 28);
      const extraLen = u16(cd, p + 30);
      const commentLen = u16(cd, p + 32);
      const end = p + CENTRAL_SIZE + nameLen + extraLen + commentLen;
      if (end > cd.length) fail(`central directory entry ${k} runs past the directory`);
      let entryName: string;
      try {
        entryName = fromUtf8(cd.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen));
      } catch {
        return fail(`entry ${k} has a name that is not UTF-8`);
      }
      if (flags & 1) fail(`entry '${entryName}' is encrypted`);
      if (method !== 0 && method !== 8) fail(`entry '${entryName}' uses compression method ${method} (only stored and deflate)`);
      let size = u32(cd, p + 24);
      let compressedSize = u32(cd, p + 20);
      let headerOffset = u32(cd, p + 42);
      // ZIP64 extra field: 8-byte values, present only for the 32-bit fields that are saturated, in this order.
      const extra = cd.subarray(p + CENTRAL_SIZE + nameLen, p + CENTRAL_SIZE + nameLen + extraLen);
      for (let q = 0; q + 4 <= extra.length; ) {
        const id = u16(extra, q);
        const len = u16(extra, q + 2);
        if (q + 4 + len > extra.length) fail(`entry '${entryName}' has a truncated extra field`);
        if (id === 1) {
          let r = q + 4;
          const take = (): number => {
            if (r + 8 > q + 4 + len) fail(`entry '${entryName}' has a short zip64 extra field`);
            const v = u64(extra, r);
            r += 8;
            return v;
          };
          if (size === 0xffffffff) size = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (headerOffset === 0xffffffff) headerOffset = take();
        }
        q += 4 + len;
      }
      if (method === 0 && compressedSize !== size) fail(`stored entry '${entryName}' has sizes ${compressedSize} and ${size}`);
      checkRange(name, source.size, headerOffset, LOCAL_SIZE + compressedSize, `zip entry '${entryName}'`);
      entries.push({ name: entryName, method, compressedSize, size, crc32: u32(cd, p + 16), headerOffset });
      p = end;
    }
    return new ZipReader(source, entries, options.inflate ?? streamInflate);
  }

  /** The entry with this exact name, if any. */
  get(entryName: string): ZipEntry | undefined {
    return this.byName.get(entryName);
  }

  /** Offset of an entry's data, found through its local header (whose extra field holds torch's padding). */
  async dataOffset(entry: ZipEntry): Promise<number> {
    const name = this.source.name;
    const head = await this.source.read(entry.headerOffset, LOCAL_SIZE);
    if (u32(head, 0) !== SIG_LOCAL) throw new FormatError(name, `zip: bad local header for '${entry.name}' at ${entry.headerOffset}`);
    const nameLen = u16(head, 26);
    const start = entry.headerOffset + LOCAL_SIZE + nameLen + u16(head, 28);
    checkRange(name, this.source.size, start, entry.compressedSize, `zip entry '${entry.name}' data`);
    const localName = await this.source.read(entry.headerOffset + LOCAL_SIZE, nameLen);
    let same = localName.length === nameLen;
    try {
      same = same && fromUtf8(localName) === entry.name;
    } catch {
      same = false;
    }
    if (!same) throw new FormatError(name, `zip: local header name differs from central directory for '${entry.name}'`);
    return start;
  }

  /** The uncompressed bytes of an entry (by entry or name); FormatError if missing, corrupt or truncated. */
  async read(entry: ZipEntry | string, options: ZipReadOptions = {}): Promise<Uint8Array> {
    const name = this.source.name;
    const e = typeof entry === 'string' ? this.byName.get(entry) : entry;
    if (!e) throw new FormatError(name, `zip: no entry '${String(entry)}'`);
    const start = await this.dataOffset(e);
    const raw = await this.source.read(start, e.compressedSize);
    let data = raw;
    if (e.method === 8) {
      try {
        data = await this.inflate(raw, e.size);
      } catch (err) {
        throw new FormatError(name, `zip: entry '${e.name}' does not inflate: ${(err as Error).message}`);
      }
      if (data.length !== e.size) throw new FormatError(name, `zip: entry '${e.name}' inflates to ${data.length} bytes, expected ${e.size}`);
    }
    if (options.verifyCrc !== false) {
      const got = crc32(data);
      if (got !== e.crc32) {
        throw new FormatError(name, `zip: entry '${e.name}' is corrupt (CRC-32 ${hex(got)}, expected ${hex(e.crc32)})`);
      }
    }
    return data;
  }
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}
