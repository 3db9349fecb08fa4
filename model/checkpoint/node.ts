/**
 * Checkpoints on disk (Node): loading any of the three forms from a path, and saving the project's own.
 * The format logic lives in load.ts, which works on a set of named files so browsers can use
 * it with picked files; this file only maps a path to such a set.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { EsmConfig } from '../config.js';
import { type CheckpointFiles, type CheckpointFormat, type LoadedCheckpoint, PROJECT_JSON, type StoredHead, contactCompanion, detectFilesFormat, loadCheckpointFiles } from './load.js';
import { FormatError } from '../../io/errors.js';
import { nodeInflate, withFileSource, writeSafetensorsFile } from '../../io/node_file.js';
import type { HostTensor } from '../../io/tensor.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { writeTorchCheckpoint } from '../../io/pt_write.js';
import type { ParamTensor } from '../params.js';
import { type ExportFormat, type ExportSource, exportMeta, fairEsmExport, hfExport } from './export.js';

export { PROJECT_JSON, type CheckpointFormat, type LoadedCheckpoint, type StoredHead } from './load.js';

/**
 * The files of a checkpoint path: a folder's entries, or one file plus
 * its fair-esm contact companion when one lies beside it. Error labels are the full paths.
 */
export function nodeCheckpointFiles(path: string): CheckpointFiles {
  if (!existsSync(path)) throw new FormatError(path, 'no such file or folder');
  const isFolder = statSync(path).isDirectory();
  const dir = isFolder ? path : dirname(path);
  let paths: string[];
  if (isFolder) {
    paths = readdirSync(path);
  } else {
    const companion = contactCompanion(basename(path));
    paths = [basename(path), ...(existsSync(join(dir, companion)) ? [companion] : [])];
  }
  const label = (p: string) => join(dir, p);
  return { name: path, isFolder, paths, label, inflate: nodeInflate, withFile: (p, fn) => withFileSource(label(p), fn) };
}

/** Which form a path holds, or a FormatError saying what was expected. */
export function detectFormat(path: string): CheckpointFormat {
  return detectFilesFormat(nodeCheckpointFiles(path));
}

/** Loads a checkpoint in any of the three forms. */
export function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  return loadCheckpointFiles(nodeCheckpointFiles(path));
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

const utf8 = (text: string): Uint8Array[] => [new TextEncoder().encode(text)];

/**
 * Writes a checkpoint into `dir` (created if needed) in one of the three forms (model/checkpoint/export.ts),
 * each file atomically, the file a loader detects the form by last (config.json, esm-kn.json, the .pt).
 * `label` names the model in errors. Returns the paths written; a fair-esm export's MODEL path is the first.
 */
export async function exportCheckpoint(ckpt: ExportSource, format: ExportFormat, dir: string, label: string): Promise<string[]> {
  const { mkdirSync } = await import('node:fs');
  if (format === 'esm-kn') {
    await saveProjectCheckpoint(dir, { config: ckpt.config, params: ckpt.params, head: ckpt.head, meta: exportMeta(ckpt.meta) });
    return [join(dir, 'model.safetensors'), join(dir, PROJECT_JSON)];
  }
  if (format === 'fair-esm') {
    const e = fairEsmExport(ckpt, label);
    mkdirSync(dir, { recursive: true });
    const main = join(dir, `${e.stem}.pt`);
    const companion = join(dir, `${e.stem}-contact-regression.pt`);
    await writeFileAtomic(companion, writeTorchCheckpoint(e.companion, { archiveName: `${e.stem}-contact-regression` }));
    await writeFileAtomic(main, writeTorchCheckpoint(e.main, { archiveName: e.stem }));
    return [main, companion];
  }
  const e = hfExport(ckpt);
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  // transformers refuses a safetensors file whose metadata lacks format "pt".
  await writeSafetensorsFile(join(dir, 'model.safetensors'), e.tensors, { format: 'pt' });
  written.push(join(dir, 'model.safetensors'));
  for (const [name, text] of e.textFiles) {
    await writeFileAtomic(join(dir, name), utf8(text));
    written.push(join(dir, name));
  }
  await writeFileAtomic(join(dir, 'config.json'), utf8(`${JSON.stringify(e.config, null, 2)}\n`));
  return [...written, join(dir, 'config.json')];
}
