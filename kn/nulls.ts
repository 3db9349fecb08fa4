/**
 * Null models for the study's false-positive control (Adebayo et al. 2018, "Sanity checks for saliency
 * maps": cascading parameter randomisation). The instrument must find nothing where nothing was learned:
 *   reinit-head  the trained backbone with a freshly initialised classification head;
 *   reinit-all   backbone and head both freshly initialised (the architecture's own init, seeded).
 * A model fine-tuned on shuffled labels (the shuffled-label twin) is the third null; the CLI loads it
 * like any model. The random weights are O(1) after every layer (normal(0, 1/fan_in)), not the small
 * normal(0, 0.02) of a fresh training run: a head that small gives logit differences near 1e-2, so no
 * ablation ever changes a prediction and the null would pass vacuously (seen on the planted model). The same study runs on each, and the report shows its tests beside the real ones.
 */
import { gaussian, rng } from '../engine/index.js';
import { type EsmModel, disposeModel, uploadModel } from '../model/esm.js';
import { type ClassifierHead, headFromTensors, headSpec } from '../model/head.js';
import { initParams } from '../model/params.js';

/** The parameter-randomisation nulls. */
export type NullName = 'reinit-head' | 'reinit-all';

/** Every null, in report order. */
export const NULL_NAMES: readonly NullName[] = ['reinit-head', 'reinit-all'];

/** One sentence per null for the report's method section. */
export const NULL_DESCRIPTIONS: Readonly<Record<NullName, string>> = {
  'reinit-head': 'the trained backbone with a random classification head (weights normal(0, 1/fan_in), biases normal(0, 0.2^2))',
  'reinit-all': 'backbone and head random (every weight normal(0, 1/fan_in), embeddings normal(0, 1), biases and LayerNorm offsets O(0.2))',
};

/** A null model on the GPU; dispose() frees what it uploaded (never the trained model it borrows). */
export interface NullModel {
  readonly name: string;
  readonly description: string;
  readonly model: EsmModel;
  readonly head: ClassifierHead;
  dispose(): void;
}

/** Builds a parameter-randomisation null of a trained classifier, seeded. */
export function nullModel(name: NullName, trained: { model: EsmModel; head: ClassifierHead }, seed: number): NullModel {
  const { config } = trained.model;
  const head = randomHead(config.embedDim, trained.head.numClasses, trained.head.pooling, seed);
  const model = name === 'reinit-all' ? uploadModel(config, initParams(config, seed, { mode: 'test' })) : trained.model;
  return {
    name, description: NULL_DESCRIPTIONS[name], model, head,
    dispose() {
      for (const t of head.params.values()) t.dispose();
      if (model !== trained.model) disposeModel(model);
    },
  };
}

/** A head with O(1) random outputs: weights normal(0, 1/fan_in), biases normal(0, 0.2^2), seeded. */
export function randomHead(D: number, C: number, pooling: ClassifierHead['pooling'], seed: number): ClassifierHead {
  const u = rng(seed);
  const normal = () => gaussian(u);
  const data = new Map(headSpec(D, C).map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const scale = s.name.endsWith('weight') ? 1 / Math.sqrt(s.shape[1]!) : 0.2;
    return [s.name, Float32Array.from({ length: n }, () => scale * normal())];
  }));
  return headFromTensors(D, C, pooling, (name) => data.get(name));
}
