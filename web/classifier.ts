/**
 * A loaded checkpoint made into a classifier on the GPU for the page. Only esm-kn folders written by
 * `esm-kn finetune` carry a classification head; anything else is explained rather than guessed at.
 */
import type { LoadedCheckpoint } from '../model/checkpoint_load.js';
import type { EsmConfig } from '../model/config.js';
import { type EsmModel, disposeModel, uploadModel } from '../model/esm.js';
import { type ClassifierHead, headFromTensors } from '../model/head.js';
import { FormatError } from '../model/io/errors.js';

/** A classifier on the GPU. */
export interface PageClassifier {
  readonly config: EsmConfig;
  readonly model: EsmModel;
  readonly head: ClassifierHead;
  /** Class names in head order. */
  readonly labels: readonly string[];
  /** Where it came from, for the page ("esm-kn folder models/default"). */
  readonly source: string;
}

/** Explains a model without a stored head (fair-esm, Hugging Face, or a pretrained esm-kn folder). */
export function noHeadMessage(ckpt: LoadedCheckpoint): string {
  const c = ckpt.config;
  return `${ckpt.path}: a ${ckpt.format} model (${c.numLayers} layers, dim ${c.embedDim}) with no classification head. ` +
    'The page needs a fine-tuned classifier: an esm-kn folder written by `esm-kn finetune` (esm-kn.json + model.safetensors), ' +
    'or the embedded default model.';
}

/** Uploads a checkpoint with a stored head; throws a FormatError explaining a missing head. */
export function uploadClassifier(ckpt: LoadedCheckpoint): PageClassifier {
  const stored = ckpt.head;
  if (!stored) throw new FormatError(ckpt.path, noHeadMessage(ckpt).slice(ckpt.path.length + 2));
  const head = headFromTensors(ckpt.config.embedDim, stored.labels.length, stored.pooling, (n) => stored.params.get(n)?.data);
  const model = uploadModel(ckpt.config, ckpt.params, false);
  return { config: ckpt.config, model, head, labels: stored.labels, source: `${ckpt.format} ${ckpt.path}` };
}

/** Frees a classifier's GPU memory. */
export function disposeClassifier(c: PageClassifier): void {
  disposeModel(c.model);
  for (const t of c.head.params.values()) t.dispose();
}
