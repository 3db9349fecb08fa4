/**
 * Float64 references of the integrated-gradients and neuron-statistics kernels (shaders/ig.wgsl), in
 * plain loops, as the oracle for their GPU launchers (ops/ig.ts). Shapes are the kernels':
 * a (L, W) activation, base (W), a node table (K, 2) of (alpha, weight), M rows from node0.
 *
 * Axis letters: M IG steps (rows of one chunk), L tokens, W module width, B batch, R score rows.
 */

/** Which positions are scaled and summed: [lo, hi). */
export interface PositionRange {
  readonly lo: number;
  readonly hi: number;
}

/** x (M, L, W): base + alpha_k (a - base) inside the range, a outside it. */
export function refIgScale(a: ArrayLike<number>, base: ArrayLike<number>, nodes: ArrayLike<number>, node0: number, M: number, L: number, W: number, pos: PositionRange): Float64Array {
  const x = new Float64Array(M * L * W); // (M, L, W)
  for (let k = 0; k < M; k++) {
    const alpha = nodes[(node0 + k) * 2]!;
    for (let l = 0; l < L; l++) {
      for (let w = 0; w < W; w++) {
        const v = a[l * W + w]!;
        x[(k * L + l) * W + w] = l >= pos.lo && l < pos.hi ? base[w]! + alpha * (v - base[w]!) : v;
      }
    }
  }
  return x;
}

/** c (W): sum over positions in the range and the M steps of weight_k (a - base) g. */
export function refIgAccumulate(g: ArrayLike<number>, a: ArrayLike<number>, base: ArrayLike<number>, nodes: ArrayLike<number>, node0: number, M: number, L: number, W: number, pos: PositionRange): Float64Array {
  const c = new Float64Array(W); // (W)
  for (let k = 0; k < M; k++) {
    const weight = nodes[(node0 + k) * 2 + 1]!;
    for (let l = pos.lo; l < pos.hi; l++) {
      for (let w = 0; w < W; w++) c[w]! += weight * (a[l * W + w]! - base[w]!) * g[(k * L + l) * W + w]!;
    }
  }
  return c;
}

/** score (R, N) after score[rows[b], off + w] += sum_l pw[b, l] f(x[b, l, w]), f = identity or |.|. */
export function refNeuronSum(score: ArrayLike<number>, x: ArrayLike<number>, pw: ArrayLike<number>, rows: ArrayLike<number>, B: number, L: number, W: number, N: number, off: number, abs: boolean): Float64Array {
  const out = Float64Array.from(score); // (R, N)
  for (let b = 0; b < B; b++) {
    for (let w = 0; w < W; w++) {
      let s = 0;
      for (let l = 0; l < L; l++) {
        const v = x[(b * L + l) * W + w]!;
        s += pw[b * L + l]! * (abs ? Math.abs(v) : v);
      }
      out[rows[b]! * N + off + w]! += s;
    }
  }
  return out;
}
