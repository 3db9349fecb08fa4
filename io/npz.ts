/**
 * NumPy .npy and .npz. The writer emits what numpy.savez writes for float32 arrays: a zip of stored
 * "<name>.npy" files, each a version 1.0 header ('<f4', C order) padded to 64 bytes, then the data.
 * The reader takes any numpy-written file of common dtypes (stored or deflated via an inflater),
 * converting Fortran order to C order.
 */
import { u16, u32 } from './bytes.js';
import { FormatError } from './errors.js';
import type { ByteSource } from './source.js';
import { decodeElements, DTYPE_BYTES, encodeElements, gatherStrided, hostTensor, numel, type DType, type HostTensor } from './tensor.js';
import { ZipReader, type Inflater } from './zip.js';
import { writeZip } from './zip_write.js';

/** A float32 array to save: shape and C-ordered data. */
export interface NpyArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const DESCR: Readonly<Record<string, DType>> = {
  f4: 'f32', f8: 'f64', f2: 'f16', i8: 'i64', i4: 'i32', i2: 'i16', i1: 'i8', u1: 'u8', b1: 'bool',
};

/** Encodes one float32 array as .npy (header, then the data as a zero-copy view where possible). */
export function encodeNpy(array: NpyArray): Uint8Array[] {
  const { shape, data } = array;
  hostTensor('f32', shape, data);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // numpy pads with spaces and a final newline so the data starts 64-byte aligned.
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  if (dict.length > 0xffff) throw new RangeError('npy header too long for format version 1.0');
  const head = new Uint8Array(10 + dict.length);
  head.set(MAGIC);
  head[6] = 1;
  head[7] = 0;
  head[8] = dict.length & 0xff;
  head[9] = dict.length >> 8;
  for (let i = 0; i < dict.length; i++) head[10 + i] = dict.charCodeAt(i);
  return [head, encodeElements(data, 'f32')];
}

/** Decodes a .npy file; `file` names it in errors. */
export function decodeNpy(bytes: Uint8Array, file = '<npy>'): HostTensor {
  const fail = (what: string): never => {
    throw new FormatError(file, `npy: ${what}`);
  };
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) fail('missing \\x93NUMPY magic');
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`unsupported format version ${major}`);
  const headerLen = major === 1 ? u16(bytes, 8) : u32(bytes, 8);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) fail('truncated header');
  const dict = String.fromCharCode(...bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([<>|=])([a-z]\d+)'/.exec(dict);
  const fortran = /'fortran_order':\s*(True|False)/.exec(dict);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(dict);
  if (!descr || !fortran || !shapeText) fail(`unreadable header ${JSON.stringify(dict.trim().slice(0, 80))}`);
  const dtype = DESCR[descr![2]!];
  if (!dtype) fail(`unsupported dtype '${descr![1]}${descr![2]}'`);
  const shape = shapeText![1]!.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`bad shape (${shapeText![1]})`);
  const n = numel(shape);
  const size = n * DTYPE_BYTES[dtype!];
  const dataStart = start + headerLen;
  if (bytes.length - dataStart !== size) fail(`data is ${bytes.length - dataStart} bytes, shape (${shape.join(', ')}) of ${descr![1]}${descr![2]} needs ${size}`);
  let data: Float32Array | Float64Array;
  try {
    data = decodeElements(bytes.subarray(dataStart), dtype!, descr![1] !== '>');
  } catch (err) {
    return fail((err as Error).message);
  }
  if (fortran![1] === 'True' && shape.length > 1) {
    // Column-major: element (i, j, ...) sits at i + shape[0] * (j + ...); gather into row-major.
    const stride: number[] = [];
    let acc = 1;
    for (const d of shape) {
      stride.push(acc);
      acc *= d;
    }
    data = gatherStrided(data, 0, shape, stride);
  }
  return hostTensor(dtype!, shape, data);
}

/** Encodes named float32 arrays as an .npz archive (chunks); names become "<name>.npy" entries. */
export function encodeNpz(arrays: Iterable<readonly [string, NpyArray]>): Uint8Array[] {
  const entries = [];
  for (const [name, array] of arrays) entries.push({ name: `${name}.npy`, data: encodeNpy(array) });
  return writeZip(entries);
}

/** Reads every array of an .npz archive, keyed by name without ".npy". */
export async function readNpz(source: ByteSource, options: { inflate?: Inflater } = {}): Promise<Map<string, HostTensor>> {
  const zip = await ZipReader.open(source, options);
  const out = new Map<string, HostTensor>();
  for (const entry of zip.entries) {
    if (!entry.name.endsWith('.npy')) continue;
    out.set(entry.name.slice(0, -4), decodeNpy(await zip.read(entry), `${source.name}: ${entry.name}`));
  }
  return out;
}
