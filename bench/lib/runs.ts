/**
 * The timed runs that more than one bench makes, in Node and in a page alike (no Node built-ins; CPU
 * time is NaN in a page): one matmul product, and an ESM-2 inference forward with logits.
 */
import { noGrad, tidy } from '../../engine/index.js';
import { rt } from '../../engine/context.js';
import { matmul } from '../../engine/ops/matmul.js';
import { rng } from '../../engine/random.js';
import { type Tensor, tensor } from '../../engine/tensor.js';
import { type EsmModel, esmForward, prepareBatch } from '../../model/esm.js';
import { type Timing, type TimingPlan, cpuMs, median, timeIt } from './timing.js';

/** One product: op(a) (M, K) . op(b) (K, N). */
export interface Product {
  readonly name: string;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly transA?: boolean;
  readonly transB: boolean;
}

/** The product's operands on the host (seeded by its size) with their shapes. */
export function matmulOperands(p: Product): [Float32Array, number[], Float32Array, number[]] {
  const r = rng(p.m * 31 + p.n);
  const a = Float32Array.from({ length: p.m * p.k }, () => r() - 0.5);
  const b = Float32Array.from({ length: p.k * p.n }, () => r() - 0.5);
  return [a, p.transA ? [p.k, p.m] : [p.m, p.k], b, p.transB ? [p.n, p.k] : [p.k, p.n]];
}

/** Milliseconds per product of our matmul: operands uploaded once, back-to-back products, one value read. */
export async function timeMatmul(p: Product, plan: TimingPlan): Promise<Timing> {
  const [ha, sa, hb, sb] = matmulOperands(p);
  const a = tensor(ha, sa, 'f32', 'bench.a'); // (M, K) or (K, M)
  const b = tensor(hb, sb, 'f32', 'bench.b'); // (K, N) or (N, K)
  let last: Tensor | null = null;
  try {
    return await timeIt(
      () => {
        last?.dispose();
        last = matmul(a, b, { transA: p.transA ?? false, transB: p.transB }); // (M, N)
      },
      async () => {
        await rt().read(last!.buffer, 4);
      },
      plan,
    );
  } finally {
    (last as Tensor | null)?.dispose();
    a.dispose();
    b.dispose();
  }
}

/** Tokens (B, L): <cls> random residues <eos>, no padding. */
export function randomTokens(B: number, L: number, seed = 1): Int32Array {
  let s = seed;
  const t = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      s = (s * 1103515245 + 12345) >>> 0;
      t[b * L + l] = l === 0 ? 0 : l === L - 1 ? 2 : 4 + (s % 20);
    }
  }
  return t;
}

/** Median wall and CPU seconds of `repeats` forward passes with logits (after one warm-up that compiles pipelines). */
export async function timeForward(m: EsmModel, B: number, L: number, repeats: number): Promise<{ wall: number; cpu: number }> {
  const tokens = randomTokens(B, L);
  const once = async () => {
    const c0 = cpuMs();
    const t0 = performance.now();
    noGrad(() => tidy(() => void esmForward(m, prepareBatch(m.config, tokens, B, L), { logits: true })));
    await rt().sync();
    return { wall: (performance.now() - t0) / 1000, cpu: (cpuMs() - c0) / 1000 };
  };
  await once();
  const runs: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await once());
  return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)) };
}
