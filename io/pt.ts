/**
 * Reads PyTorch checkpoints written by torch.save (the zip format, PyTorch >= 1.6): <archive>/data.pkl
 * is a protocol-2 pickle whose tensors refer to storages stored as <archive>/data/<key>. The pickle goes
 * through the restricted unpickler, so a checkpoint can describe tensors, dicts and argparse.Namespace
 * configs but can never run code. Storages are read one at a time, so the whole file is never in memory.
 */
import { FormatError } from './errors.js';
import { unpickle, type PickleLimits } from './pickle.js';
import { latin1 } from './pickle_text.js';
import { Namespace, toPlain } from './pickle_values.js';
import type { ByteSource } from './source.js';
import { decodeElements, DTYPE_BYTES, gatherStrided, hostTensor, isContiguous, numel, type HostTensor } from './tensor.js';
import { StorageRef, TensorRef, TORCH_GLOBALS, torchPersistentLoader } from './torch_pickle.js';
import { ZipReader, type Inflater } from './zip.js';

/** A checkpoint's state dict, model config and everything else it holds. */
export interface TorchCheckpoint {
  /** State-dict tensors by name, dense C order, in file order. */
  tensors: Map<string, HostTensor>;
  /**
   * The model config as a plain object: cfg["model"] (fair-esm ESM-2, an argparse.Namespace) or
   * args (ESM-1, a Namespace); null when the file has neither.
   */
  cfg: Record<string, unknown> | null;
  /** The other top-level entries as plain values; tensors in them stay unread TensorRef records. */
  extra: Record<string, unknown>;
  /** The tensors of the top-level dicts named in TorchReadOptions.extraStateDicts, by entry and name. */
  extraTensors: Map<string, Map<string, HostTensor>>;
}

/** Options for reading a checkpoint. */
export interface TorchReadOptions {
  /** Inflater for deflated records (torch.save never deflates; see zip.ts). */
  inflate?: Inflater;
  /** Reads only the tensors whose names pass (the others are never read from the file). */
  filter?: (name: string) => boolean;
  /** Extra "module.name" globals to accept as inert records (see UnpickleOptions). */
  extraGlobals?: ReadonlySet<string>;
  limits?: Partial<PickleLimits>;
  /** Check each record's CRC-32 (default true). */
  verifyCrc?: boolean;
  /**
   * Top-level entries besides the state dict that are dicts of tensors to read too (e.g. a
   * classification head stored beside fair-esm's "model"); a named entry that is absent is skipped.
   */
  extraStateDicts?: readonly string[];
}

/** An opened torch.save archive: its unpickled object and access to its storages. */
export class TorchArchive {
  private constructor(
    private readonly zip: ZipReader,
    /** The record prefix, e.g. "archive" (torch uses the file's base name when saving to a path). */
    readonly prefix: string,
    /** The unpickled data.pkl; tensors are TensorRef. */
    readonly root: unknown,
    /** Byte order of the storages. */
    readonly littleEndian: boolean,
    private readonly verifyCrc: boolean,
  ) {}

  /** Opens the archive and unpickles data.pkl; reads no tensor data. */
  static async open(source: ByteSource, options: TorchReadOptions = {}): Promise<TorchArchive> {
    const name = source.name;
    const head = await source.read(0, Math.min(source.size, 512));
    if (!(head[0] === 0x50 && head[1] === 0x4b)) {
      const legacy = (head[0] === 0x80 && head[2] === 0x8a) || latin1(head.subarray(257, 262)) === 'ustar';
      throw new FormatError(
        name,
        legacy
          ? 'legacy torch.save format (PyTorch < 1.6) is not supported; load and re-save it with a newer PyTorch'
          : 'not a PyTorch checkpoint (no zip signature)',
      );
    }
    const zip = await ZipReader.open(source, { inflate: options.inflate });
    const pkl = zip.entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
    if (!pkl) throw new FormatError(name, 'no <archive>/data.pkl record (a zip file, but not written by torch.save)');
    const prefix = pkl.name.slice(0, -'/data.pkl'.length);
    const verifyCrc = options.verifyCrc !== false;
    let littleEndian = true;
    const order = zip.get(`${prefix}/byteorder`);
    if (order) {
      const text = latin1(await zip.read(order, { verifyCrc }));
      if (text !== 'little' && text !== 'big') throw new FormatError(name, `unknown byteorder record '${text.slice(0, 20)}'`);
      littleEndian = text === 'little';
    }
    const storages = new Map<string, StorageRef>();
    const root = unpickle(await zip.read(pkl, { verifyCrc }), {
      name,
      globals: TORCH_GLOBALS,
      persistentLoad: torchPersistentLoader(storages),
      extraGlobals: options.extraGlobals,
      limits: options.limits,
    });
    return new TorchArchive(zip, prefix, root, littleEndian, verifyCrc);
  }

  /**
   * Materialises tensors as dense HostTensors, reading each storage once however many tensors view it
   * (fair-esm ties lm_head.weight to embed_tokens.weight this way).
   */
  async readTensors(refs: Iterable<readonly [string, TensorRef]>): Promise<Map<string, HostTensor>> {
    const name = this.zip.source.name;
    const byStorage = new Map<StorageRef, [string, TensorRef][]>();
    const order: string[] = [];
    for (const [key, ref] of refs) {
      order.push(key);
      const list = byStorage.get(ref.storage) ?? [];
      list.push([key, ref]);
      byStorage.set(ref.storage, list);
    }
    const done = new Map<string, HostTensor>();
    for (const [storage, views] of byStorage) {
      const record = `${this.prefix}/data/${storage.key}`;
      const entry = this.zip.get(record);
      if (!entry) throw new FormatError(name, `tensor '${views[0]![0]}' refers to missing record ${record}`);
      const nbytes = storage.numel * DTYPE_BYTES[storage.dtype];
      if (entry.size !== nbytes) {
        throw new FormatError(name, `record ${record} has ${entry.size} bytes, but its storage is ${storage.numel} ${storage.dtype} elements (${nbytes} bytes)`);
      }
      let elements: Float32Array | Float64Array;
      try {
        elements = decodeElements(await this.zip.read(entry, { verifyCrc: this.verifyCrc }), storage.dtype, this.littleEndian);
      } catch (err) {
        if (err instanceof FormatError) throw err;
        throw new FormatError(name, `record ${record}: ${(err as Error).message}`);
      }
      let whole = true; // the decoded storage can be handed to one tensor without a copy
      for (const [key, ref] of views) {
        const n = numel(ref.shape);
        let data: Float32Array | Float64Array;
        if (whole && ref.offset === 0 && n === storage.numel && isContiguous(ref.shape, ref.stride)) {
          data = elements;
          whole = false;
        } else {
          data = gatherStrided(elements, ref.offset, ref.shape, ref.stride);
        }
        done.set(key, hostTensor(storage.dtype, ref.shape, data));
      }
    }
    return new Map(order.map((k) => [k, done.get(k)!]));
  }
}

/** Reads a checkpoint: fair-esm's {"model": state dict, "cfg"/"args": config, ...}, or a bare state dict. */
export async function readTorchCheckpoint(source: ByteSource, options: TorchReadOptions = {}): Promise<TorchCheckpoint> {
  const name = source.name;
  const archive = await TorchArchive.open(source, options);
  const root = archive.root;
  if (!(root instanceof Map)) throw new FormatError(name, 'top-level object is not a dict');
  let stateKey: string | null = null;
  for (const k of ['model', 'state_dict']) {
    if (root.get(k) instanceof Map) {
      stateKey = k;
      break;
    }
  }
  const state = (stateKey === null ? root : root.get(stateKey)) as Map<unknown, unknown>;
  const refs: [string, TensorRef][] = [];
  for (const [k, v] of state) {
    if (typeof k !== 'string' || !(v instanceof TensorRef)) {
      const what = typeof k === 'string' ? `entry '${k}' is not a tensor` : 'a key is not a string';
      throw new FormatError(
        name,
        stateKey === null
          ? `no state dict: expected a dict of tensors or a dict with a 'model' or 'state_dict' entry (${what})`
          : `state dict '${stateKey}': ${what}`,
      );
    }
    if (!options.filter || options.filter(k)) refs.push([k, v]);
  }
  const extra: Record<string, unknown> = {};
  let cfg: Record<string, unknown> | null = null;
  if (stateKey !== null) {
    const rest = [...root].filter(([k]) => k !== stateKey);
    Object.assign(extra, toPlain(new Map(rest), name));
    const cfgEntry = root.get('cfg');
    const model = cfgEntry instanceof Map ? cfgEntry.get('model') : undefined;
    const args = root.get('args');
    if (model instanceof Namespace || model instanceof Map) cfg = toPlain(model, name) as Record<string, unknown>;
    else if (args instanceof Namespace) cfg = toPlain(args, name) as Record<string, unknown>;
  }
  const extraTensors = new Map<string, Map<string, HostTensor>>();
  for (const key of stateKey === null ? [] : options.extraStateDicts ?? []) {
    const entry = root.get(key);
    if (entry === undefined) continue;
    if (!(entry instanceof Map)) throw new FormatError(name, `entry '${key}' is not a dict of tensors`);
    const more: [string, TensorRef][] = [];
    for (const [k, v] of entry) {
      if (typeof k !== 'string' || !(v instanceof TensorRef)) throw new FormatError(name, `entry '${key}': ${typeof k === 'string' ? `'${k}' is not a tensor` : 'a key is not a string'}`);
      more.push([k, v]);
    }
    extraTensors.set(key, await archive.readTensors(more));
  }
  return { tensors: await archive.readTensors(refs), cfg, extra, extraTensors };
}
