/**
 * Writes checkpoints in torch.save's layout (PyTorch 2.x): a zip of stored records, each 64-byte aligned,
 * named <archive>/data.pkl, .format_version, .storage_alignment, byteorder, data/<key> (storages in the
 * order the pickle first meets them), version and .data/serialization_id, with miniz's data descriptors
 * and ZIP64 end records. data.pkl is the protocol-2 pickle CPython writes for the same object.
 * Used by tests to build fair-esm style checkpoints, and by anything that must hand a file to PyTorch.
 */
import { crc32, utf8 } from './bytes.js';
import { OrderedDict } from './pickle_values.js';
import { GlobalName, pickle, PyTuple, Reduce } from './pickle_write.js';
import { STORAGE_TYPES } from './torch_pickle.js';
import { DTYPE_BYTES, encodeElements, numel, type DType, type HostTensor } from './tensor.js';
import { writeZip } from './zip_write.js';

/** A storage to write: elements of one dtype that one or more TorchTensor views share. */
export class TorchStorage {
  constructor(
    readonly dtype: DType,
    readonly data: ArrayLike<number>,
  ) {}
}

/** A tensor to write as a strided view of a storage (shape, stride and offset in elements). */
export class TorchTensor {
  readonly stride: readonly number[];

  constructor(
    readonly storage: TorchStorage,
    readonly shape: readonly number[],
    stride?: readonly number[],
    readonly offset = 0,
  ) {
    this.stride = stride ?? contiguousStride(shape);
    if (this.stride.length !== shape.length) throw new RangeError('shape and stride differ in length');
    let last = offset;
    for (let d = 0; d < shape.length; d++) last += (shape[d]! - 1) * this.stride[d]!;
    if (numel(shape) > 0 && last >= storage.data.length) {
      throw new RangeError(`view reaches element ${last} of a storage with ${storage.data.length}`);
    }
  }
}

/** Options for writeTorchCheckpoint. */
export interface TorchWriteOptions {
  /** Record prefix; torch.save uses the file's base name, or "archive" for a buffer. */
  archiveName?: string;
  /** Storage byte order (PyTorch writes the host's, i.e. little). */
  byteorder?: 'little' | 'big';
}

/** Row-major strides for a shape. */
export function contiguousStride(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

const STORAGE_NAME = new Map(Object.entries(STORAGE_TYPES).map(([k, v]) => [v, k]));

function isHostTensor(v: unknown): v is HostTensor {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Partial<HostTensor>;
  return typeof t.dtype === 'string' && Object.hasOwn(DTYPE_BYTES, t.dtype) && Array.isArray(t.shape) &&
    (t.data instanceof Float32Array || t.data instanceof Float64Array);
}

/**
 * Serialises `root` the way torch.save(root, f) would. Values may be null, booleans, numbers, strings,
 * arrays (lists), PyTuple, Map/plain objects (dicts), OrderedDict, Namespace, HostTensor (written as a
 * contiguous tensor with its own storage) and TorchTensor (any view, storages shared by identity).
 * Returns the file as chunks in order.
 */
export function writeTorchCheckpoint(root: unknown, options: TorchWriteOptions = {}): Uint8Array[] {
  const prefix = options.archiveName ?? 'archive';
  const keys = new Map<TorchStorage, string>();
  const views = new Map<HostTensor, TorchTensor>();
  const rebuild = new GlobalName('torch._utils', '_rebuild_tensor_v2');
  const pkl = pickle(root, {
    persistentId(v) {
      if (!(v instanceof TorchStorage)) return undefined;
      let key = keys.get(v);
      if (key === undefined) keys.set(v, (key = String(keys.size)));
      return new PyTuple('storage', new GlobalName('torch', STORAGE_NAME.get(v.dtype)!), key, 'cpu', v.data.length);
    },
    reduce(v) {
      let t: TorchTensor | undefined;
      if (v instanceof TorchTensor) t = v;
      else if (isHostTensor(v)) {
        t = views.get(v) ?? new TorchTensor(new TorchStorage(v.dtype, v.data), v.shape);
        views.set(v, t);
      }
      if (!t) return undefined;
      // torch.Tensor._reduce_ex_internal: (storage, offset, size, stride, requires_grad, backward_hooks)
      return new Reduce(rebuild, new PyTuple(t.storage, t.offset, new PyTuple(...t.shape), new PyTuple(...t.stride), false, new OrderedDict()));
    },
  });
  const byteorder = options.byteorder ?? 'little';
  const records: { name: string; data: Uint8Array }[] = [
    { name: 'data.pkl', data: pkl },
    { name: '.format_version', data: utf8('1') },
    { name: '.storage_alignment', data: utf8('64') },
    { name: 'byteorder', data: utf8(byteorder) },
  ];
  for (const [storage, key] of keys) {
    let bytes = encodeElements(storage.data, storage.dtype);
    if (byteorder === 'big') bytes = swapped(bytes, DTYPE_BYTES[storage.dtype]);
    records.push({ name: `data/${key}`, data: bytes });
  }
  records.push({ name: 'version', data: utf8('3\n') });
  records.push({ name: '.data/serialization_id', data: utf8(serializationId(pkl)) });
  return writeZip(
    records.map((r) => ({ name: `${prefix}/${r.name}`, data: r.data })),
    { torch: true },
  );
}

function swapped(b: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += size) for (let j = 0; j < size; j++) out[i + j] = b[i + size - 1 - j]!;
  return out;
}

/** torch writes 40 random digits; these are derived from the pickle so identical input gives identical files. */
function serializationId(pkl: Uint8Array): string {
  let id = '';
  for (let seed = 1; id.length < 40; seed++) id += String(crc32(pkl, seed)).padStart(10, '0').slice(0, 10);
  return id.slice(0, 40);
}
