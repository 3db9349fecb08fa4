/**
 * Sequence classification head on ESM-2 (as in Nori et al.'s fine-tuning): pool the final hidden
 * state over residues, then dense -> tanh -> linear to C classes. Pooling is the mean over residue
 * positions (no <cls>, <eos>, <pad>) or the <cls> vector.
 *
 * Axis letters: B batch, L tokens, D model dim, C classes.
 */
import { gaussian, keep, linear, mul, reshape, rng, slice, sum, tanh, type Tensor, tensor } from '../engine/index.js';

export type Pooling = 'mean' | 'cls';

/** Head parameters, named like the rest of the model. */
export interface ClassifierHead {
  readonly pooling: Pooling;
  readonly numClasses: number;
  readonly params: ReadonlyMap<string, Tensor>;
}

/** Shapes of the head's parameters for model dim D and C classes. */
export function headSpec(D: number, C: number): { name: string; shape: number[] }[] {
  return [
    { name: 'head.dense.weight', shape: [D, D] },
    { name: 'head.dense.bias', shape: [D] },
    { name: 'head.out.weight', shape: [C, D] },
    { name: 'head.out.bias', shape: [C] },
  ];
}

/** A freshly initialised head (normal(0, 0.02) weights, zero biases), seeded. */
export function initHead(D: number, C: number, pooling: Pooling, seed: number): ClassifierHead {
  const rand = rng(seed);
  const normal = () => gaussian(rand, 0.02);
  const params = new Map<string, Tensor>();
  for (const s of headSpec(D, C)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = s.name.endsWith('weight') ? Float32Array.from({ length: n }, normal) : new Float32Array(n);
    const t = keep(tensor(data, s.shape, 'f32', s.name));
    t.requiresGrad = true;
    params.set(s.name, t);
  }
  return { pooling, numClasses: C, params };
}

/** Builds a head from stored tensors (checked by name and shape). */
export function headFromTensors(D: number, C: number, pooling: Pooling, get: (name: string) => Float32Array | undefined): ClassifierHead {
  const params = new Map<string, Tensor>();
  for (const s of headSpec(D, C)) {
    const data = get(s.name);
    if (!data) throw new Error(`classifier head: missing ${s.name}`);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`classifier head: ${s.name} has ${data.length} values, expected [${s.shape}]`);
    params.set(s.name, keep(tensor(data, s.shape, 'f32', s.name)));
  }
  return { pooling, numClasses: C, params };
}

/**
 * Pooling weights (B, L, 1) for mean pooling: 1/n at the n residue positions of each sequence
 * (positions 1..n, between <cls> and <eos>), 0 elsewhere.
 */
export function meanPoolWeights(lengths: readonly number[], L: number): Tensor {
  const w = new Float32Array(lengths.length * L);
  lengths.forEach((n, b) => {
    for (let l = 1; l <= n; l++) w[b * L + l] = 1 / Math.max(n, 1);
  });
  return tensor(w, [lengths.length, L, 1], 'f32', 'pool_weights');
}

/** Logits (B, C) from the final hidden state (B, L, D). `poolWeights` is needed for mean pooling. */
export function classify(head: ClassifierHead, last: Tensor, poolWeights?: Tensor): Tensor {
  const [B, , D] = last.shape as [number, number, number];
  let pooled: Tensor; // (B, D)
  if (head.pooling === 'cls') pooled = reshape(slice(last, [0, 0, 0], [B, 1, D]), [B, D]);
  else {
    if (!poolWeights) throw new Error('classify: mean pooling needs pool weights');
    pooled = sum(mul(last, poolWeights), 1);
  }
  const g = (n: string) => head.params.get(n)!;
  const h = tanh(linear(pooled, g('head.dense.weight'), g('head.dense.bias'))); // (B, D)
  return linear(h, g('head.out.weight'), g('head.out.bias')); // (B, C)
}
