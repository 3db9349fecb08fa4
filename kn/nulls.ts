/**
 * Null models for the study's false-positive control (Adebayo et al. 2018, "Sanity checks for saliency
 * maps": cascading parameter randomisation). The instrument must find nothing where nothing was learned:
 *   reinit-head  the trained backbone with a freshly initialised classification head;
 *   reinit-all   backbone and head both freshly initialised (the architecture's own init, seeded).
 * A model fine-tuned on shuffled labels (the shuffled-label twin) is the third null; the CLI loads it
 * like any model. The same study runs on each, and the report shows its tests beside the real ones.
 */
import { type EsmModel, disposeModel, uploadModel } from '../model/esm.js';
import { type ClassifierHead, initHead } from '../model/head.js';
import { initParams } from '../model/params.js';

/** The parameter-randomisation nulls. */
export type NullName = 'reinit-head' | 'reinit-all';

/** Every null, in report order. */
export const NULL_NAMES: readonly NullName[] = ['reinit-head', 'reinit-all'];

/** One sentence per null for the report's method section. */
export const NULL_DESCRIPTIONS: Readonly<Record<NullName, string>> = {
  'reinit-head': 'the trained backbone with a freshly initialised classification head (normal(0, 0.02) weights, zero biases)',
  'reinit-all': 'backbone and head freshly initialised (normal(0, 0.02) weights and embeddings, zero biases, unit LayerNorms)',
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
  const head = initHead(config.embedDim, trained.head.numClasses, trained.head.pooling, seed);
  for (const t of head.params.values()) t.requiresGrad = false;
  const model = name === 'reinit-all' ? uploadModel(config, initParams(config, seed)) : trained.model;
  return {
    name, description: NULL_DESCRIPTIONS[name], model, head,
    dispose() {
      for (const t of head.params.values()) t.dispose();
      if (model !== trained.model) disposeModel(model);
    },
  };
}
