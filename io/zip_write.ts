/**
 * Minimal ZIP writer for stored (uncompressed) entries, used for .npz files and for torch.save-layout
 * checkpoints. Output is a list of chunks, so multi-gigabyte tensor data is never concatenated.
 */
import { ByteWriter, crc32, utf8 } from './bytes.js';

/** One file to store. */
export interface ZipWriteEntry {
  readonly name: string;
  /** The bytes, whole or in pieces (the pieces are emitted as they are, not copied). */
  readonly data: Uint8Array | readonly Uint8Array[];
}

/** Layout options; the defaults give a plain archive like Python's zipfile writes. */
export interface ZipWriteOptions {
  /**
   * PyTorch's layout (miniz as PyTorch drives it): each entry's data 64-byte aligned by an "FB" padding
   * record in the local extra field, CRC and sizes in a data descriptor after the data (flag bit 3),
   * ZIP64 end records always, version and date fields zero.
   */
  torch?: boolean;
  /** Give every entry ZIP64 fields, not only those past 4 GiB (tests use it to exercise ZIP64 readers). */
  forceZip64?: boolean;
}

const MAX32 = 0xffffffff;

/** Builds a ZIP archive of stored entries; returns its bytes as chunks in file order. */
export function writeZip(entries: readonly ZipWriteEntry[], options: ZipWriteOptions = {}): Uint8Array[] {
  const torch = options.torch ?? false;
  const align = torch ? 64 : 0;
  const descriptors = torch;
  const force = options.forceZip64 ?? false;
  const date = torch ? 0 : 0x21; // 0x21: 1980-01-01, the DOS epoch; fixed so output is reproducible
  const out: Uint8Array[] = [];
  const central = new ByteWriter();
  let offset = 0;
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.name)) throw new Error(`zip: duplicate entry name '${entry.name}'`);
    seen.add(entry.name);
    const parts = entry.data instanceof Uint8Array ? [entry.data] : entry.data;
    let size = 0;
    let crc = 0;
    for (const p of parts) {
      size += p.length;
      crc = crc32(p, crc);
    }
    const name = utf8(entry.name);
    const bigSize = force || size >= MAX32;
    const bigOffset = force || offset >= MAX32;
    const version = bigSize || bigOffset ? 45 : torch ? 0 : 20;
    // miniz writes no data descriptor for an empty entry; its zero CRC and sizes fit the local header.
    const described = descriptors && size > 0;
    const flags = (described ? 0x0008 : 0) | 0x0800; // bit 11: the name is UTF-8
    // Local header: ZIP64 extra (sizes, then offset, the order PyTorch's padding rule assumes), then padding.
    const local = new ByteWriter();
    local.u32(0x04034b50).u16(version).u16(flags).u16(0).u16(0).u16(date);
    if (described) local.u32(0).u32(0).u32(0);
    else local.u32(crc).u32(bigSize ? MAX32 : size).u32(bigSize ? MAX32 : size);
    const z64Len = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
    const z64 = bigSize || bigOffset ? 4 + z64Len : 0;
    let pad = 0;
    let padField = 0;
    if (align > 0) {
      const start = offset + 30 + name.length + z64 + 4;
      pad = (align - (start % align)) % align;
      padField = 4 + pad;
    }
    local.u16(name.length).u16(z64 + padField).bytes(name);
    if (z64) {
      local.u16(1).u16(z64Len);
      if (bigSize) local.u64(size).u64(size);
      if (bigOffset) local.u64(offset);
    }
    if (padField) {
      local.u8(0x46).u8(0x42).u16(pad); // "FB"
      for (let i = 0; i < pad; i++) local.u8(0x5a); // 'Z', PyTorch's filler byte
    }
    const header = local.finish();
    out.push(header, ...parts);
    let entryLen = header.length + size;
    if (described) {
      const d = new ByteWriter().u32(0x08074b50).u32(crc);
      if (bigSize) d.u64(size).u64(size);
      else d.u32(size).u32(size);
      const desc = d.finish();
      out.push(desc);
      entryLen += desc.length;
    }
    // Central directory record: saturated 32-bit fields point into the ZIP64 extra field.
    const cz64 = new ByteWriter();
    if (bigSize) cz64.u64(size).u64(size);
    if (bigOffset) cz64.u64(offset);
    const cz = cz64.finish();
    central.u32(0x02014b50).u16(version).u16(version);
    central.u16(flags).u16(0).u16(0).u16(date).u32(crc);
    central.u32(bigSize ? MAX32 : size).u32(bigSize ? MAX32 : size);
    central.u16(name.length).u16(cz.length ? 4 + cz.length : 0).u16(0).u16(0).u16(0).u32(0);
    central.u32(bigOffset ? MAX32 : offset).bytes(name);
    if (cz.length) central.u16(1).u16(cz.length).bytes(cz);
    offset += entryLen;
  }
  const cd = central.finish();
  const count = entries.length;
  const end = new ByteWriter();
  if (torch || force || count >= 0xffff || offset >= MAX32 || cd.length >= MAX32) {
    const eocd64At = offset + cd.length;
    end.u32(0x06064b50).u64(44).u16(torch ? 0x031e : 45).u16(45).u32(0).u32(0).u64(count).u64(count).u64(cd.length).u64(offset);
    end.u32(0x07064b50).u32(0).u64(eocd64At).u32(1);
  }
  end.u32(0x06054b50).u16(0).u16(0);
  end.u16(Math.min(count, 0xffff)).u16(Math.min(count, 0xffff));
  end.u32(Math.min(cd.length, MAX32)).u32(Math.min(offset, MAX32)).u16(0);
  out.push(cd, end.finish());
  return out;
}
