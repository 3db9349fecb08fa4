/**
 * Loading models from the three checkpoint forms users have, from a set of named files: the same code
 * serves Node (files on disk, model/checkpoint/node.ts) and browsers (files the user picked, or fetched).
 * No Node built-ins here.
 *
 * - fair-esm `.pt` (e.g. esm2_t6_8M_UR50D.pt): a torch.save zip; the architecture comes from
 *   cfg["model"], key prefixes `encoder.sentence_encoder.` / `encoder.` are stripped, and a
 *   `<stem>-contact-regression.pt` beside it supplies the contact head, as fair-esm loads it. A
 *   regression of all zeros is no contact head: it is what an export of a model without one writes,
 *   since fair-esm requires the file (export.ts); a trained regression is never exactly zero.
 * - Hugging Face folder: config.json + model.safetensors (or pytorch_model.bin), EsmForMaskedLM /
 *   EsmModel keys.
 * - esm-kn folder: esm-kn.json (config, task head, labels, provenance) + model.safetensors.
 *
 * Every loader checks names, shapes and counts against the architecture and reports every missing,
 * unexpected or misshaped tensor by name in one FormatError.
 */
import { type EsmConfig, type EsmConfigInit, configFromFairEsmCfg, configFromHfConfig, makeConfig } from '../config.js';
import { FormatError } from '../../io/errors.js';
import { readTorchCheckpoint } from '../../io/pt.js';
import { readSafetensors } from '../../io/safetensors.js';
import type { ByteSource } from '../../io/source.js';
import type { HostTensor } from '../../io/tensor.js';
import type { Inflater } from '../../io/zip.js';
import { type ParamTensor, paramSpec, renameFairEsmStateDict, renameHfStateDict, validateParams } from '../params.js';
import { CONTACT_REGRESSION_NAMES, FAIR_ESM_HEAD_ENTRY, FAIR_ESM_META_ENTRY, HF_HEAD_NAMES } from './export.js';

/** Name of the project format's JSON file. */
export const PROJECT_JSON = 'esm-kn.json';

export type CheckpointFormat = 'fair-esm' | 'huggingface' | 'esm-kn';

/** A classification head stored with a fine-tuned model. */
export interface StoredHead {
  readonly pooling: 'mean' | 'cls';
  readonly labels: readonly string[];
  /** head.dense.{weight,bias}, head.out.{weight,bias}. */
  readonly params: ReadonlyMap<string, ParamTensor<Float32Array>>;
}

/** A model read into host memory. */
export interface LoadedCheckpoint {
  readonly format: CheckpointFormat;
  /** The path (Node) or the label of the picked files (browser). */
  readonly path: string;
  readonly config: EsmConfig;
  /** Canonical names (model/params.ts); lm_head.weight is omitted (tied). */
  readonly params: Map<string, ParamTensor<Float32Array>>;
  readonly hasContactHead: boolean;
  readonly head?: StoredHead;
  /** The project format's extra JSON (task, provenance, metrics); {} otherwise. */
  readonly meta: Record<string, unknown>;
}

/**
 * A checkpoint's files: a folder's entries, or one file (with any companion found beside it). Paths
 * are relative, '/'-separated, without the folder's own name.
 */
export interface CheckpointFiles {
  /** The folder or file as the user named it (a path in Node, a picked name in a browser). */
  readonly name: string;
  /** True for a folder (Hugging Face or esm-kn), false for a single file (fair-esm .pt). */
  readonly isFolder: boolean;
  /** The relative paths present. For a single file its own name comes first. */
  readonly paths: readonly string[];
  /** How a relative path is named in error messages (e.g. the full path on disk). */
  label(path: string): string;
  /** Runs `fn` on the bytes of one file (Node opens and closes it around the call). */
  withFile<T>(path: string, fn: (source: ByteSource) => Promise<T>): Promise<T>;
  /** Raw deflate for zip entries (Node passes zlib; browsers use DecompressionStream by default). */
  readonly inflate?: Inflater;
}

function floatParams(file: string, tensors: Map<string, HostTensor>): Map<string, ParamTensor<Float32Array>> {
  const out = new Map<string, ParamTensor<Float32Array>>();
  for (const [name, t] of tensors) {
    if (!(t.data instanceof Float32Array)) throw new FormatError(file, `tensor '${name}' has integer dtype ${t.dtype}, expected a float type`);
    out.set(name, { shape: t.shape, data: t.data });
  }
  return out;
}

/** Checks the set against the architecture, throwing one FormatError that lists every problem. */
function check(file: string, config: EsmConfig, params: Map<string, ParamTensor<Float32Array>>): void {
  const shapes = new Map<string, readonly number[]>();
  for (const [k, v] of params) shapes.set(k, v.shape);
  try {
    validateParams(paramSpec(config), shapes, { source: 'checkpoint', allowMissingContactHead: true });
  } catch (e) {
    throw new FormatError(file, (e as Error).message.replace(/^checkpoint: /, ''));
  }
  // The tied LM weight may be stored; the model reads embed_tokens.weight.
  params.delete('lm_head.weight');
}

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** The companion file fair-esm reads the contact head from. */
export function contactCompanion(ptName: string): string {
  return `${baseName(ptName).replace(/\.pt$/, '')}-contact-regression.pt`;
}

async function loadFairEsm(files: CheckpointFiles): Promise<LoadedCheckpoint> {
  const main = files.paths[0]!;
  const path = files.label(main);
  const ckpt = await files.withFile(main, (s) => readTorchCheckpoint(s, { inflate: files.inflate, extraStateDicts: [FAIR_ESM_HEAD_ENTRY] }));
  if (!ckpt.cfg) throw new FormatError(path, 'no cfg["model"] (or args) entry: not a fair-esm checkpoint');
  let config: EsmConfig;
  try {
    config = configFromFairEsmCfg(ckpt.cfg);
  } catch (e) {
    throw new FormatError(path, (e as Error).message);
  }
  const params = floatParams(path, renameFairEsmStateDict(ckpt.tensors));
  const companion = contactCompanion(main);
  if (!params.has('contact_head.regression.weight') && files.paths.includes(companion)) {
    const reg = await files.withFile(companion, (s) => readTorchCheckpoint(s, { inflate: files.inflate }));
    for (const [k, v] of floatParams(files.label(companion), renameFairEsmStateDict(reg.tensors))) params.set(k, v);
  }
  if (CONTACT_REGRESSION_NAMES.every((n) => params.get(n)?.data.every((v) => v === 0))) for (const n of CONTACT_REGRESSION_NAMES) params.delete(n);
  check(path, config, params);
  const { head, meta } = fairEsmHead(path, config, ckpt.extra[FAIR_ESM_META_ENTRY], ckpt.extraTensors.get(FAIR_ESM_HEAD_ENTRY));
  return { format: 'fair-esm', path: files.name, config, params, hasContactHead: params.has('contact_head.regression.weight'), head, meta };
}

/** The classification head an esm-kn export keeps beside fair-esm's entries (see export.ts), if any. */
function fairEsmHead(file: string, config: EsmConfig, info: unknown, tensors: Map<string, HostTensor> | undefined): { head?: StoredHead; meta: Record<string, unknown> } {
  if (!tensors) return { meta: {} };
  const o = (info ?? {}) as { labels?: unknown; pooling?: unknown; meta_json?: unknown };
  let meta: Record<string, unknown> = {};
  try {
    if (typeof o.meta_json === 'string') meta = JSON.parse(o.meta_json) as Record<string, unknown>;
  } catch {
    throw new FormatError(file, `entry '${FAIR_ESM_META_ENTRY}': meta_json is not JSON`);
  }
  const head = storedHead(file, config, o.labels, o.pooling, floatParams(file, tensors), file, `entry '${FAIR_ESM_META_ENTRY}': `);
  return { head, meta };
}

/**
 * A head from its four tensors (named head.*, in `file`), labels and pooling (from `metaFile`, at
 * `where`), checked by name and shape; every tensor problem in one FormatError.
 */
function storedHead(file: string, config: EsmConfig, labels: unknown, pooling: unknown, tensors: ReadonlyMap<string, ParamTensor<Float32Array>>, metaFile: string, where: string): StoredHead {
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string') || labels.length < 2) {
    throw new FormatError(metaFile, `${where}labels must be a list of at least two class names`);
  }
  if (pooling !== 'mean' && pooling !== 'cls') throw new FormatError(metaFile, `${where}pooling must be "mean" or "cls"`);
  const D = config.embedDim;
  const expect: Record<string, number[]> = {
    'head.dense.weight': [D, D], 'head.dense.bias': [D], 'head.out.weight': [labels.length, D], 'head.out.bias': [labels.length],
  };
  const hp = new Map<string, ParamTensor<Float32Array>>();
  const problems: string[] = [];
  for (const n of HEAD_NAMES) {
    const t = tensors.get(n);
    if (!t) problems.push(`missing ${n}`);
    else if (t.shape.join() !== expect[n]!.join()) problems.push(`${n} has shape [${t.shape.join(', ')}], expected [${expect[n]!.join(', ')}]`);
    else hp.set(n, t);
  }
  if (problems.length) throw new FormatError(file, problems.join('; '));
  return { pooling, labels: labels as string[], params: hp };
}

async function readJson(files: CheckpointFiles, path: string): Promise<Record<string, unknown>> {
  const label = files.label(path);
  const bytes = await files.withFile(path, (s) => s.read(0, s.size));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(label, 'invalid JSON: not UTF-8 text');
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new FormatError(label, `invalid JSON: ${(e as Error).message}`);
  }
}

function need(files: CheckpointFiles, path: string, why: string): void {
  if (!files.paths.includes(path)) throw new FormatError(files.label(path), `missing (${why})`);
}

async function loadHf(files: CheckpointFiles): Promise<LoadedCheckpoint> {
  let config: EsmConfig;
  try {
    config = configFromHfConfig(await readJson(files, 'config.json'));
  } catch (e) {
    throw e instanceof FormatError ? e : new FormatError(files.label('config.json'), (e as Error).message);
  }
  const useBin = !files.paths.includes('model.safetensors') && files.paths.includes('pytorch_model.bin');
  const weights = useBin ? 'pytorch_model.bin' : 'model.safetensors';
  need(files, weights, 'a Hugging Face folder holds config.json and model.safetensors or pytorch_model.bin');
  const tensors = await files.withFile(weights, async (s) => (useBin ? (await readTorchCheckpoint(s, { inflate: files.inflate })).tensors : (await readSafetensors(s)).tensors));
  const file = files.label(weights);
  // EsmForSequenceClassification's head (classifier.*) is ours under other names.
  const headTensors = new Map<string, ParamTensor<Float32Array>>();
  for (const [ours, hf] of HF_HEAD_NAMES) {
    const t = tensors.get(hf);
    if (t) headTensors.set(ours, floatParams(file, new Map([[hf, t]])).get(hf)!);
    tensors.delete(hf);
  }
  const { params: renamed } = renameHfStateDict(tensors);
  const params = floatParams(file, renamed);
  check(file, config, params);
  let head: StoredHead | undefined;
  let meta: Record<string, unknown> = {};
  if (headTensors.size) {
    const json = await readJson(files, 'config.json');
    const id2label = (json.id2label ?? {}) as Record<string, unknown>;
    const C = headTensors.get('head.out.bias')?.shape[0] ?? 0;
    // transformers names classes LABEL_i when config.json has no id2label.
    const labels = Array.from({ length: C }, (_, i) => id2label[String(i)] ?? `LABEL_${i}`);
    head = storedHead(file, config, labels, json.classifier_pooling ?? 'cls', headTensors, files.label('config.json'), 'id2label/classifier_pooling: ');
    if (json.esm_kn_meta && typeof json.esm_kn_meta === 'object') meta = json.esm_kn_meta as Record<string, unknown>;
  }
  return { format: 'huggingface', path: files.name, config, params, hasContactHead: params.has('contact_head.regression.weight'), head, meta };
}

const HEAD_NAMES = ['head.dense.weight', 'head.dense.bias', 'head.out.weight', 'head.out.bias'];

async function loadProject(files: CheckpointFiles): Promise<LoadedCheckpoint> {
  const jsonFile = files.label(PROJECT_JSON);
  const meta = await readJson(files, PROJECT_JSON);
  if (meta.format !== 'esm-kn') throw new FormatError(jsonFile, `format is ${JSON.stringify(meta.format)}, expected "esm-kn"`);
  let config: EsmConfig;
  try {
    config = makeConfig(meta.config as EsmConfigInit);
  } catch (e) {
    throw new FormatError(jsonFile, `config: ${(e as Error).message}`);
  }
  need(files, 'model.safetensors', `${PROJECT_JSON} is read with the model.safetensors beside it`);
  const file = files.label('model.safetensors');
  const params = floatParams(file, (await files.withFile('model.safetensors', (s) => readSafetensors(s))).tensors);
  const headMeta = meta.head as { pooling?: string; labels?: unknown } | undefined;
  let head: StoredHead | undefined;
  if (headMeta) {
    head = storedHead(file, config, headMeta.labels, headMeta.pooling, params, jsonFile, 'head.');
    for (const n of HEAD_NAMES) params.delete(n);
  }
  check(file, config, params);
  return { format: 'esm-kn', path: files.name, config, params, hasContactHead: params.has('contact_head.regression.weight'), head, meta };
}

/**
 * Which form a set of files holds, or a FormatError saying what was expected. A folder (or several
 * picked files) is esm-kn when it has esm-kn.json, Hugging Face when it has config.json; a single file
 * must be a fair-esm .pt.
 */
export function detectFilesFormat(files: CheckpointFiles): CheckpointFormat {
  if (files.paths.includes(PROJECT_JSON)) return 'esm-kn';
  if (files.paths.includes('config.json')) return 'huggingface';
  if (files.isFolder) throw new FormatError(files.name, `folder has neither ${PROJECT_JSON} (esm-kn) nor config.json (Hugging Face)`);
  const main = files.paths[0] ?? '';
  if (/\.(safetensors|bin)$/i.test(main)) {
    throw new FormatError(files.name, `a ${main.slice(main.lastIndexOf('.'))} file needs the ${PROJECT_JSON} or config.json beside it: pick the whole folder (or both files)`);
  }
  return 'fair-esm';
}

/** Loads a checkpoint in any of the three forms from its files. */
export function loadCheckpointFiles(files: CheckpointFiles): Promise<LoadedCheckpoint> {
  const format = detectFilesFormat(files);
  if (format === 'esm-kn') return loadProject(files);
  if (format === 'huggingface') return loadHf(files);
  return loadFairEsm(files);
}
