/**
 * What a torch.save pickle may name beyond plain containers: storage types, the tensor rebuild
 * functions and torch.Size. Tensors come out of unpickling as TensorRef views of StorageRef records;
 * their bytes stay in the archive until pt.ts reads them.
 * Layout reference: torch/_utils.py _rebuild_tensor_v2(storage, storage_offset, size, stride,
 * requires_grad, backward_hooks[, metadata]); torch/serialization.py persistent ids
 * ('storage', storage_type, key, location, numel).
 */
import { BASE_GLOBALS, globalTable, type GlobalTable, type PyGlobal } from './pickle_globals.js';
import { numel, type DType } from './tensor.js';

/** One storage in the archive (data/<key>): `numel` elements of `dtype`. */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
    /** Device it was saved from, e.g. "cpu" or "cuda:0"; the data is the same either way. */
    readonly location: string,
  ) {}
}

/** A tensor as a strided view of a storage, in elements. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
}

/** torch.<X>Storage: names a storage's element type inside a persistent id. */
export class TorchStorageType implements PyGlobal {
  readonly qualname: string;
  constructor(
    name: string,
    readonly dtype: DType,
  ) {
    this.qualname = `torch.${name}`;
  }
}

/** Storage type names torch.save writes, and their element types. */
export const STORAGE_TYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'f32',
  HalfStorage: 'f16',
  BFloat16Storage: 'bf16',
  DoubleStorage: 'f64',
  LongStorage: 'i64',
  IntStorage: 'i32',
  ShortStorage: 'i16',
  CharStorage: 'i8',
  ByteStorage: 'u8',
  BoolStorage: 'bool',
};

const MAX_DIMS = 32;
// A view may repeat storage elements (stride 0); beyond this many elements it must not exceed its storage,
// so a forged shape cannot make the reader allocate more than the file holds.
const MAX_EXPANDED = 1 << 24;

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length > MAX_DIMS) throw new Error(`${what} is not a tuple of at most ${MAX_DIMS} integers`);
  for (const x of v) {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new Error(`${what} has a bad entry ${String(x)}`);
  }
  return v as number[];
}

function rebuildTensor(args: readonly unknown[], requiresGrad: unknown): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new Error('first argument is not a storage');
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new Error(`bad storage offset ${String(offset)}`);
  const shape = intList(size, 'size');
  const strides = intList(stride, 'stride');
  if (strides.length !== shape.length) throw new Error(`size [${shape.join(', ')}] and stride [${strides.join(', ')}] differ in length`);
  if (typeof requiresGrad !== 'boolean') throw new Error('requires_grad is not a bool');
  const n = numel(shape);
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d]! - 1) * strides[d]!;
  const view = `view (offset ${offset}, size [${shape.join(', ')}], stride [${strides.join(', ')}])`;
  if (n > 0 && last >= storage.numel) {
    throw new Error(`${view} reaches element ${last} of storage '${storage.key}', which has ${storage.numel}`);
  }
  if (n > Math.max(storage.numel, MAX_EXPANDED)) throw new Error(`${view} has more elements than its storage allows`);
  return new TensorRef(storage, offset, shape, strides, requiresGrad);
}

const rebuildTensorV2: PyGlobal = {
  qualname: 'torch._utils._rebuild_tensor_v2',
  call(args) {
    if (args.length !== 6 && args.length !== 7) throw new Error(`expects 6 or 7 arguments, got ${args.length}`);
    return rebuildTensor(args, args[4]);
  },
};

const rebuildTensorV1: PyGlobal = {
  qualname: 'torch._utils._rebuild_tensor',
  call(args) {
    if (args.length !== 4) throw new Error(`expects 4 arguments, got ${args.length}`);
    return rebuildTensor(args, false);
  },
};

const rebuildParameter = (qualname: string, argc: number): PyGlobal => ({
  qualname,
  call(args) {
    if (args.length !== argc) throw new Error(`expects ${argc} arguments, got ${args.length}`);
    const [t, requiresGrad] = args;
    if (!(t instanceof TensorRef)) throw new Error('data is not a tensor');
    if (typeof requiresGrad !== 'boolean') throw new Error('requires_grad is not a bool');
    return new TensorRef(t.storage, t.offset, t.shape, t.stride, requiresGrad);
  },
});

const torchSize: PyGlobal = {
  qualname: 'torch.Size',
  call(args) {
    if (args.length > 1) throw new Error('expects one tuple');
    return [...intList(args[0] ?? [], 'torch.Size')];
  },
};

/** BASE_GLOBALS plus torch's storage types, tensor and parameter rebuilders and torch.Size. */
export const TORCH_GLOBALS: GlobalTable = globalTable([
  ...BASE_GLOBALS.values(),
  ...Object.entries(STORAGE_TYPES).map(([name, dtype]) => new TorchStorageType(name, dtype)),
  rebuildTensorV2,
  rebuildTensorV1,
  rebuildParameter('torch._utils._rebuild_parameter', 3),
  rebuildParameter('torch._utils._rebuild_parameter_with_state', 4),
  torchSize,
]);

/**
 * A persistent_load for torch's zip format: turns ('storage', type, key, location, numel) into a
 * StorageRef, one per key (tensors sharing a storage share the record). `storages` collects them.
 */
export function torchPersistentLoader(storages: Map<string, StorageRef>): (pid: unknown) => StorageRef {
  return (pid) => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      throw new Error("persistent id is not ('storage', type, key, location, numel)");
    }
    const [, type, key, location, count] = pid as unknown[];
    if (!(type instanceof TorchStorageType)) throw new Error('persistent id names no storage type');
    // Keys are small decimal counters in torch.save; anything path-like is refused outright.
    if (typeof key !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(key)) throw new Error(`bad storage key ${JSON.stringify(key)}`);
    if (typeof location !== 'string') throw new Error(`storage '${key}' has no location`);
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) throw new Error(`storage '${key}' has a bad size`);
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== type.dtype || known.numel !== count) throw new Error(`storage '${key}' is declared twice differently`);
      return known;
    }
    const ref = new StorageRef(key, type.dtype, count, location);
    storages.set(key, ref);
    return ref;
  };
}
