/**
 * The cases of `npm run bench -- browser`, run by the same code in the page (Chromium/SwiftShader,
 * bench/browser/bench.page.ts) and in Node (Dawn/lavapipe, bench/browser.ts): matmul GFLOP/s and ESM-2
 * forward tokens/s. Sizes are smaller than bench/matmul.ts and bench/esm.ts because SwiftShader runs
 * about an order of magnitude slower than lavapipe here; the whole bench takes a few minutes.
 * Browser-safe: wall time only (performance.now), no Node built-ins.
 */
import { esm2Config } from '../../model/config.js';
import { disposeModel, uploadModel } from '../../model/esm.js';
import { initParams } from '../../model/params.js';
import { type Product, timeForward, timeMatmul } from '../lib/runs.js';
import { type TimingPlan, DEFAULT_PLAN } from '../lib/timing.js';

const cube = (s: number): Product => ({ name: `${s}x${s}x${s}`, m: s, k: s, n: s, transB: false });

/** The matmul cases: cubes and the t6_8M fc1 layer as the model runs it, at 512 tokens. */
export const PRODUCTS: readonly Product[] = [
  cube(256),
  cube(512),
  cube(1024),
  { name: 'esm fc1 linear [512,320]x[1280,320]^T', m: 512, k: 320, n: 1280, transB: true },
];

/** The ESM-2 forward cases (random t6_8M weights, <cls> residues <eos>, no padding). */
export const FORWARDS: readonly { readonly name: string; readonly model: string; readonly B: number; readonly L: number }[] = [
  { name: 't6_8M forward 2x128', model: 'esm2_t6_8M_UR50D', B: 2, L: 128 },
  { name: 't6_8M forward 8x64', model: 'esm2_t6_8M_UR50D', B: 8, L: 64 },
];

const PLAN: TimingPlan = { ...DEFAULT_PLAN, warmup: 1, repeats: 5 };

/** GFLOP/s (wall) of `matmul` on the named product: warm-up, N back-to-back products, one read, median of 5. */
export async function matmulRate(name: string): Promise<number> {
  const p = PRODUCTS.find((q) => q.name === name);
  if (!p) throw new Error(`no matmul case '${name}'`);
  const t = await timeMatmul(p, PLAN);
  return (2 * p.m * p.n * p.k) / (t.wallMs * 1e6);
}

/** Tokens/s (wall) of the named ESM-2 inference forward with logits: one warm-up, median of `repeats`. */
export async function forwardRate(name: string, repeats = 3): Promise<number> {
  const f = FORWARDS.find((q) => q.name === name);
  if (!f) throw new Error(`no forward case '${name}'`);
  const config = esm2Config(f.model);
  const model = uploadModel(config, initParams(config, 0));
  try {
    return (f.B * f.L) / (await timeForward(model, f.B, f.L, repeats)).wall;
  } finally {
    disposeModel(model);
  }
}
