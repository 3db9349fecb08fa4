/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
 * then the tensors' bytes (little-endian, C order), offsets relative to the end of the header.
 * The reader validates the header as strictly as the reference implementation: known dtypes, sizes
 * that match shapes, and data that tiles the data section exactly.
 */
import { fromUtf8, utf8 } from './bytes.js';
import { FormatError } from './errors.js';
import { checkRange, type ByteSource } from './source.js';
import { decodeElements, DTYPE_BYTES, encodeElements, hostTensor, numel, type DType, type HostTensor } from './tensor.js';

/** safetensors dtype names and their element types. */
const DTYPES: Readonly<Record<string, DType>> = {
  F64: 'f64', F32: 'f32', F16: 'f16', BF16: 'bf16', I64: 'i64', I32: 'i32', I16: 'i16', I8: 'i8', U8: 'u8', BOOL: 'bool',
};
const NAMES = new Map(Object.entries(DTYPES).map(([k, v]) => [v, k]));
// The reference writer orders tensors by its Dtype enum, descending, then by name. Element sizes never
// increase along that order, so every tensor starts aligned to its element size.
const RANK: Readonly<Record<DType, number>> = { bool: 0, u8: 1, i8: 2, i16: 3, f16: 4, bf16: 5, i32: 6, f32: 7, f64: 8, i64: 9 };
// The reference implementation refuses headers over 100 MB; so do we, before allocating.
const MAX_HEADER = 100_000_000;

/** One tensor's header record, offsets absolute in the file. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A parsed header. */
export interface SafetensorsHeader {
  readonly entries: readonly SafetensorsEntry[];
  readonly metadata: Record<string, string>;
}

/** A whole file's contents. */
export interface SafetensorsFile {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

/** Reads and validates the header; FormatError names the file and the offending tensor. */
export async function readSafetensorsHeader(source: ByteSource): Promise<SafetensorsHeader> {
  const file = source.name;
  const fail = (what: string): never => {
    throw new FormatError(file, what);
  };
  if (source.size < 8) fail(`file of ${source.size} bytes is too short for a safetensors header`);
  const len = await source.read(0, 8);
  const declared = new DataView(len.buffer, len.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER)) fail(`header length ${declared} exceeds the ${MAX_HEADER}-byte limit`);
  const n = Number(declared);
  if (8 + n > source.size) fail(`header length ${n} exceeds file size ${source.size} (truncated?)`);
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(await source.read(8, n)));
  } catch (err) {
    return fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataSize = source.size - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, rec] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(rec as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value '${k}' is not a string`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const t = `tensor '${name}'`;
    if (typeof rec !== 'object' || rec === null) fail(`${t} has no record`);
    const { dtype, shape, data_offsets: offsets } = rec as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPES)) fail(`${t} has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${t} has a bad shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      fail(`${t} has bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [b, e] = offsets as [number, number];
    const dt = DTYPES[dtype as string]!;
    const need = numel(shape as number[]) * DTYPE_BYTES[dt];
    if (e > dataSize) fail(`${t} data_offsets [${b}, ${e}] exceed the ${dataSize}-byte data section (file size ${source.size})`);
    if (e - b !== need) fail(`${t} data_offsets [${b}, ${e}] hold ${e - b} bytes, shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${need}`);
    entries.push({ name, dtype: dt, shape: shape as number[], begin: dataStart + b, end: dataStart + e });
  }
  // The data section must be tiled exactly: no overlaps, no gaps, nothing after the last tensor.
  const sorted = [...entries].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let at = dataStart;
  for (const e of sorted) {
    if (e.begin !== at) {
      fail(e.begin < at ? `tensor '${e.name}' overlaps the tensor before it` : `gap of ${e.begin - at} bytes before tensor '${e.name}'`);
    }
    at = e.end;
  }
  if (at !== source.size) fail(`${source.size - at} bytes after the last tensor are not described by the header`);
  return { entries, metadata };
}

/** Reads a safetensors file; `filter` selects tensors by name (the rest are never read). */
export async function readSafetensors(source: ByteSource, options: { filter?: (name: string) => boolean } = {}): Promise<SafetensorsFile> {
  const { entries, metadata } = await readSafetensorsHeader(source);
  const tensors = new Map<string, HostTensor>();
  for (const e of entries) {
    if (options.filter && !options.filter(e.name)) continue;
    checkRange(source.name, source.size, e.begin, e.end - e.begin, `tensor '${e.name}'`);
    let data: Float32Array | Float64Array;
    try {
      data = decodeElements(await source.read(e.begin, e.end - e.begin), e.dtype);
    } catch (err) {
      if (err instanceof FormatError) throw err;
      throw new FormatError(source.name, `tensor '${e.name}': ${(err as Error).message}`);
    }
    tensors.set(e.name, hostTensor(e.dtype, e.shape, data));
  }
  return { tensors, metadata };
}

/**
 * Encodes tensors (each in its own dtype) and string metadata as a safetensors file, returned as
 * chunks, byte for byte as the reference implementation (safetensors.torch.save_file) writes them.
 */
export function encodeSafetensors(
  tensors: Iterable<readonly [string, HostTensor]>,
  metadata: Record<string, string> = {},
): Uint8Array[] {
  const list = [...tensors];
  const names = new Set<string>();
  for (const [name, t] of list) {
    if (name === '__metadata__' || names.has(name)) throw new Error(`safetensors: bad or duplicate tensor name '${name}'`);
    names.add(name);
    hostTensor(t.dtype, t.shape, t.data); // validates length and array type
  }
  list.sort(([a, x], [b, y]) => RANK[y.dtype] - RANK[x.dtype] || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header['__metadata__'] = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    const bytes = encodeElements(t.data, t.dtype);
    Object.defineProperty(header, name, {
      value: { dtype: NAMES.get(t.dtype), shape: t.shape, data_offsets: [offset, offset + bytes.length] },
      enumerable: true,
    });
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned (JSON allows trailing whitespace).
  const len = utf8(json).length;
  json += ' '.repeat((8 - (len % 8)) % 8);
  const head = utf8(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(head.length), true);
  return [prefix, head, ...chunks];
}
