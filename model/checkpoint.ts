/**
 * Loading models from the three checkpoint forms users have, and saving the project's own (Node).
 *
 * - fair-esm `.pt` (e.g. esm2_t6_8M_UR50D.pt): a torch.save zip; the architecture comes from
 *   cfg["model"], key prefixes `encoder.sentence_encoder.` / `encoder.` are stripped, and a
 *   `<stem>-contact-regression.pt` beside it supplies the contact head, as fair-esm loads it.
 * - Hugging Face folder: config.json + model.safetensors (EsmForMaskedLM / EsmModel keys).
 * - esm-kn folder: esm-kn.json (config, task head, labels, provenance) + model.safetensors.
 *
 * Every loader checks names, shapes and counts against the architecture and reports every missing,
 * unexpected or misshaped tensor by name in one FormatError.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type EsmConfig, type EsmConfigInit, configFromFairEsmCfg, configFromHfConfig, makeConfig } from './config.js';
import { FormatError } from './io/errors.js';
import { readSafetensorsFile, readTorchCheckpointFile, writeSafetensorsFile } from './io/node_file.js';
import type { HostTensor } from './io/tensor.js';
import { writeFileAtomic } from './io/atomic.js';
import { type ParamTensor, paramSpec, renameFairEsmStateDict, renameHfStateDict, validateParams } from './params.js';

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

/** A model read from disk, on the host. */
export interface LoadedCheckpoint {
  readonly format: CheckpointFormat;
  readonly path: string;
  readonly config: EsmConfig;
  /** Canonical names (model/params.ts); lm_head.weight is omitted (tied). */
  readonly params: Map<string, ParamTensor<Float32Array>>;
  readonly hasContactHead: boolean;
  readonly head?: StoredHead;
  /** The project format's extra JSON (task, provenance, metrics); {} otherwise. */
  readonly meta: Record<string, unknown>;
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
function check(file: string, config: EsmConfig, params: Map<string, ParamTensor<Float32Array>>, extraAllowed: (n: string) => boolean = () => false): void {
  const shapes = new Map<string, readonly number[]>();
  for (const [k, v] of params) if (!extraAllowed(k)) shapes.set(k, v.shape);
  try {
    validateParams(paramSpec(config), shapes, { source: 'checkpoint', allowMissingContactHead: true });
  } catch (e) {
    throw new FormatError(file, (e as Error).message.replace(/^checkpoint: /, ''));
  }
  // The tied LM weight may be stored; the model reads embed_tokens.weight.
  params.delete('lm_head.weight');
}

async function loadFairEsm(path: string): Promise<LoadedCheckpoint> {
  const ckpt = await readTorchCheckpointFile(path);
  if (!ckpt.cfg) throw new FormatError(path, 'no cfg["model"] (or args) entry: not a fair-esm checkpoint');
  let config: EsmConfig;
  try {
    config = configFromFairEsmCfg(ckpt.cfg);
  } catch (e) {
    throw new FormatError(path, (e as Error).message);
  }
  const params = floatParams(path, renameFairEsmStateDict(ckpt.tensors));
  const companion = join(dirname(path), `${basename(path).replace(/\.pt$/, '')}-contact-regression.pt`);
  if (!params.has('contact_head.regression.weight') && existsSync(companion)) {
    const reg = await readTorchCheckpointFile(companion);
    for (const [k, v] of floatParams(companion, renameFairEsmStateDict(reg.tensors))) params.set(k, v);
  }
  check(path, config, params);
  return { format: 'fair-esm', path, config, params, hasContactHead: params.has('contact_head.regression.weight'), meta: {} };
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FormatError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new FormatError(file, `invalid JSON: ${(e as Error).message}`);
  }
}

async function loadHf(dir: string): Promise<LoadedCheckpoint> {
  const cfgFile = join(dir, 'config.json');
  let config: EsmConfig;
  try {
    config = configFromHfConfig(readJson(cfgFile));
  } catch (e) {
    throw e instanceof FormatError ? e : new FormatError(cfgFile, (e as Error).message);
  }
  const file = join(dir, 'model.safetensors');
  const st = await readSafetensorsFile(file);
  const { params: renamed } = renameHfStateDict(st.tensors);
  const params = floatParams(file, renamed);
  check(file, config, params);
  return { format: 'huggingface', path: dir, config, params, hasContactHead: params.has('contact_head.regression.weight'), meta: {} };
}

const HEAD_NAMES = ['head.dense.weight', 'head.dense.bias', 'head.out.weight', 'head.out.bias'];

async function loadProject(dir: string): Promise<LoadedCheckpoint> {
  const jsonFile = join(dir, PROJECT_JSON);
  const meta = readJson(jsonFile);
  if (meta.format !== 'esm-kn') throw new FormatError(jsonFile, `format is ${JSON.stringify(meta.format)}, expected "esm-kn"`);
  let config: EsmConfig;
  try {
    config = makeConfig(meta.config as EsmConfigInit);
  } catch (e) {
    throw new FormatError(jsonFile, `config: ${(e as Error).message}`);
  }
  const file = join(dir, 'model.safetensors');
  const params = floatParams(file, (await readSafetensorsFile(file)).tensors);
  const headMeta = meta.head as { pooling?: string; labels?: unknown } | undefined;
  let head: StoredHead | undefined;
  if (headMeta) {
    const labels = headMeta.labels;
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string') || labels.length < 2) {
      throw new FormatError(jsonFile, 'head.labels must be a list of at least two class names');
    }
    if (headMeta.pooling !== 'mean' && headMeta.pooling !== 'cls') throw new FormatError(jsonFile, `head.pooling must be "mean" or "cls"`);
    const hp = new Map<string, ParamTensor<Float32Array>>();
    const D = config.embedDim;
    const expect: Record<string, number[]> = {
      'head.dense.weight': [D, D], 'head.dense.bias': [D], 'head.out.weight': [labels.length, D], 'head.out.bias': [labels.length],
    };
    const problems: string[] = [];
    for (const n of HEAD_NAMES) {
      const t = params.get(n);
      if (!t) problems.push(`missing ${n}`);
      else if (t.shape.join() !== expect[n]!.join()) problems.push(`${n} has shape [${t.shape.join(', ')}], expected [${expect[n]!.join(', ')}]`);
      else hp.set(n, t);
      params.delete(n);
    }
    if (problems.length) throw new FormatError(file, problems.join('; '));
    head = { pooling: headMeta.pooling, labels: labels as string[], params: hp };
  }
  check(file, config, params);
  return { format: 'esm-kn', path: dir, config, params, hasContactHead: params.has('contact_head.regression.weight'), head, meta };
}

/** Which form a path holds, or a FormatError saying what was expected. */
export function detectFormat(path: string): CheckpointFormat {
  if (!existsSync(path)) throw new FormatError(path, 'no such file or folder');
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, PROJECT_JSON))) return 'esm-kn';
    if (existsSync(join(path, 'config.json'))) return 'huggingface';
    throw new FormatError(path, `folder has neither ${PROJECT_JSON} (esm-kn) nor config.json (Hugging Face)`);
  }
  return 'fair-esm';
}

/** Loads a checkpoint in any of the three forms. */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  const format = detectFormat(path);
  if (format === 'esm-kn') return loadProject(path);
  if (format === 'huggingface') return loadHf(path);
  return loadFairEsm(path);
}

/** What `saveProjectCheckpoint` writes. */
export interface ProjectCheckpoint {
  readonly config: EsmConfig;
  /** Canonical names; lm_head.weight is not written (tied). */
  readonly params: ReadonlyMap<string, ParamTensor<Float32Array>>;
  readonly head?: StoredHead;
  /** Task, provenance, metrics: anything JSON. */
  readonly meta?: Record<string, unknown>;
}

/**
 * Writes the project format into `dir` (created if needed): model.safetensors first, then
 * esm-kn.json, each atomically, so a reader never sees a JSON whose tensors are not complete.
 */
export async function saveProjectCheckpoint(dir: string, ckpt: ProjectCheckpoint): Promise<void> {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const tensors: [string, HostTensor][] = [];
  for (const [name, t] of ckpt.params) if (name !== 'lm_head.weight') tensors.push([name, { dtype: 'f32', shape: t.shape, data: t.data }]);
  for (const [name, t] of ckpt.head?.params ?? []) tensors.push([name, { dtype: 'f32', shape: t.shape, data: t.data }]);
  await writeSafetensorsFile(join(dir, 'model.safetensors'), tensors, { format: 'esm-kn' });
  const c = ckpt.config;
  const json = {
    ...ckpt.meta,
    format: 'esm-kn',
    version: 1,
    config: {
      name: c.name, numLayers: c.numLayers, embedDim: c.embedDim, attentionHeads: c.attentionHeads, ffnDim: c.ffnDim,
      vocabSize: c.vocabSize, tokenDropout: c.tokenDropout, padIdx: c.padIdx, maskIdx: c.maskIdx, clsIdx: c.clsIdx,
      eosIdx: c.eosIdx, layerNormEps: c.layerNormEps,
    },
    head: ckpt.head ? { pooling: ckpt.head.pooling, labels: ckpt.head.labels } : undefined,
  };
  await writeFileAtomic(join(dir, PROJECT_JSON), [new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`)]);
}
