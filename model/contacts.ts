/**
 * fair-esm's ContactPredictionHead on the GPU: per layer, attention maps with <cls>/<eos> removed,
 * symmetrized, APC-corrected, weighted by the logistic regression over (layer, head) channels, then
 * a sigmoid. Done per sequence on its own residue block, which equals fair-esm's batched result:
 * pad rows and columns are zero there and drop out of APC's sums.
 *
 * Axis letters: B batch, H heads, L tokens, N residues of one sequence.
 */
import { type Tensor, add, div, mul, permute, reshape, sigmoid, slice, sub, sum, tensor } from '../engine/index.js';

/**
 * Contact probabilities (N, N) of sequence b with n residues, from each layer's attention
 * probabilities (B, H, L, L), regression weight (1, layers*H) and bias (1) as host arrays.
 */
export function contactMap(attentions: readonly Tensor[], b: number, n: number, weight: Float32Array, bias: number): Tensor {
  const H = attentions[0]!.shape[1]!;
  let acc: Tensor | null = null;
  attentions.forEach((a, layer) => {
    const s = reshape(slice(a, [b, 0, 1, 1], [1, H, n, n]), [H, n, n]); // (H, N, N) residues only
    const sym = add(s, permute(s, [0, 2, 1])); // (H, N, N)
    const a1 = sum(sym, 2, true); // (H, N, 1)
    const a2 = sum(sym, 1, true); // (H, 1, N)
    const a12 = sum(sym, [1, 2], true); // (H, 1, 1)
    const normalized = sub(sym, div(mul(a1, a2), a12)); // (H, N, N) APC
    const w = tensor(weight.subarray(layer * H, (layer + 1) * H), [H, 1, 1], 'f32', 'contact_weight');
    const part = sum(mul(normalized, w), 0); // (N, N)
    acc = acc ? add(acc, part) : part;
  });
  return sigmoid(add(acc!, tensor([bias], [1], 'f32', 'contact_bias')));
}
