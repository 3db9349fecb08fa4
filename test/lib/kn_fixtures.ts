/**
 * Fixtures for the knowledge-neuron tests: a tiny random ESM-2 with a random classification head whose
 * activations and logits are O(1) (so integrated gradients see real curvature), on the GPU and as the
 * float64 reference's host parameters, and labelled records with residue-composition classes.
 */
import { gaussian, rng } from '../../engine/random.js';
import { makeConfig, type EsmConfig } from '../../model/config.js';
import type { TaskRecord } from '../../data/dataset.js';
import { type EsmModel, disposeModel, uploadModel } from '../../model/esm.js';
import { type ClassifierHead, headFromTensors, headSpec } from '../../model/head.js';
import { type ParamTensor, initParams } from '../../model/params.js';
import type { RefHead } from '../../kn/ref/ig.js';

/** A tiny model on the host: backbone parameters and head tensors. */
export interface TinyClassifier {
  readonly config: EsmConfig;
  readonly params: Map<string, ParamTensor<Float32Array>>;
  readonly headParams: Map<string, Float32Array>;
  readonly numClasses: number;
  readonly pooling: 'mean' | 'cls';
}

/** numLayers x embedDim (2 heads), 'test'-mode parameters and an O(1) head with C classes. */
export function tinyClassifier(seed: number, numLayers = 2, embedDim = 16, C = 3, pooling: 'mean' | 'cls' = 'mean'): TinyClassifier {
  const config = makeConfig({ numLayers, embedDim, attentionHeads: 2, name: `kn-tiny-${numLayers}x${embedDim}` });
  const params = initParams(config, seed, { mode: 'test' });
  const rand = rng(seed + 1000);
  const headParams = new Map<string, Float32Array>();
  for (const s of headSpec(embedDim, C)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    // Weights 2/sqrt(D) so that the class probabilities are far from uniform.
    const scale = s.name.endsWith('weight') ? 2 / Math.sqrt(embedDim) : 0.3;
    headParams.set(s.name, Float32Array.from({ length: n }, () => scale * gaussian(rand)));
  }
  return { config, params, headParams, numClasses: C, pooling };
}

/** The tiny model on the GPU (no parameter requires grad). */
export function uploadTiny(t: TinyClassifier): { model: EsmModel; head: ClassifierHead } {
  return {
    model: uploadModel(t.config, t.params, false),
    head: headFromTensors(t.config.embedDim, t.numClasses, t.pooling, (n) => t.headParams.get(n)),
  };
}

/** Frees what uploadTiny uploaded. */
export function disposeTiny(u: { model: EsmModel; head: ClassifierHead }): void {
  disposeModel(u.model);
  for (const t of u.head.params.values()) t.dispose();
}

/** The tiny model's head for the float64 reference. */
export function refHead(t: TinyClassifier): RefHead {
  return { pooling: t.pooling, params: t.headParams, numClasses: t.numClasses };
}

const RESIDUES = 'ACDEFGHIKLMNPQRSTVWY';

/** n records, classes 0..C-1 in turn, `minLen`..`minLen + spread - 1` residues each. */
export function randomRecords(n: number, C: number, seed: number, minLen = 6, spread = 6): TaskRecord[] {
  const rand = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = minLen + Math.floor(rand() * spread);
    const sequence = Array.from({ length: len }, () => RESIDUES[Math.floor(rand() * RESIDUES.length)]!).join('');
    return { id: `R${String(i).padStart(3, '0')}`, sequence, label: i % C, source: 'test' };
  });
}
