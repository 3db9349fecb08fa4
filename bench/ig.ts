/**
 * Integrated gradients throughput: neuron attributions per second (one attribution = one neuron's IG
 * score for one example, every module of every layer) for the fused path (kn/ig.ts: layers below
 * a module run once, the m steps as one batch, scores accumulated on the GPU) against the naive path
 * (m independent full forward-and-backward passes through the engine), in the same run, same example.
 *
 * `npm run bench -- ig [--json] [--steps 20] [--repeats 1] [--profile] [--fused-only] [--layers N --dim D --heads H --length L]`:
 * without a size, a sweep of small models (the third is the embedded default model's shape at 128 tokens) (ESM-2 t6's shape is --layers 6 --dim 320 --heads 20,
 * minutes per example on lavapipe). Random weights; the timing does not depend on them.
 *
 * On a compute-bound device (lavapipe on 2 cores) the fused path can only save the FLOPs of the layers
 * below each module (matmul and attention FLOPs: naive / fused = 1.37-1.45x for the sweep's sizes)
 * and the per-dispatch overhead of m small passes; the rest of its lead is batch-21 kernels running
 * more efficiently than batch-1 ones. Batching the m steps pays off more on a GPU, where a batch-1
 * pass leaves most of the device idle. `--profile` prints per-kernel GPU times of the timed runs
 * (slower: every dispatch gets its own pass); `--fused-only` skips the naive path (no row).
 */
import { rt } from '../engine/context.js';
import { rng } from '../engine/random.js';
import { makeConfig } from '../model/config.js';
import type { TaskRecord } from '../data/dataset.js';
import { disposeModel, uploadModel } from '../model/esm.js';
import { headFromTensors, headSpec } from '../model/head.js';
import { igScores } from '../kn/ig_scores.js';
import { neuronLayout } from '../kn/layout.js';
import { initParams } from '../model/params.js';
import { type Bench, option } from './lib/bench.js';
import { median } from './lib/timing.js';

interface Size {
  readonly layers: number;
  readonly dim: number;
  readonly heads: number;
  /** Residues of the example (tokens = length + 2). */
  readonly length: number;
}

const SWEEP: readonly Size[] = [
  { layers: 2, dim: 32, heads: 4, length: 30 },
  { layers: 4, dim: 64, heads: 4, length: 62 },
  // The embedded default model's shape at a realistic enzyme-fragment length.
  { layers: 4, dim: 64, heads: 4, length: 126 },
  { layers: 6, dim: 128, heads: 8, length: 62 },
];

function randomRecord(length: number): TaskRecord {
  const rand = rng(5);
  const residues = 'ACDEFGHIKLMNPQRSTVWY';
  return { id: 'bench', label: 1, source: 'bench', sequence: Array.from({ length }, () => residues[Math.floor(rand() * 20)]!).join('') };
}

/**
 * Seconds of one example's IG on the given path (median over repeats, after one untimed warm-up run
 * of the same path), and the process's CPU seconds (all threads, lavapipe's included) per run: on a
 * CPU device shared with other jobs the CPU time is steadier than the wall time.
 */
async function timeIg(size: Size, steps: number, path: 'fused' | 'naive', repeats: number, profile: ((table: string) => void) | null): Promise<{ seconds: number; cpu: number; neurons: number }> {
  const config = makeConfig({ numLayers: size.layers, embedDim: size.dim, attentionHeads: size.heads, name: 'bench' });
  const model = uploadModel(config, initParams(config, 0), false);
  const rand = rng(9);
  const head = headFromTensors(size.dim, 3, 'mean', (name) => {
    const n = headSpec(size.dim, 3).find((s) => s.name === name)!.shape.reduce((a, b) => a * b, 1);
    return Float32Array.from({ length: n }, () => (rand() - 0.5) * 0.2);
  });
  const record = randomRecord(size.length);
  const opts = { steps, rule: 'riemann' as const, maxLength: size.length, path };
  try {
    await igScores(model, head, [record], ['a', 'b', 'c'], opts);
    const times: number[] = [];
    const cpus: number[] = [];
    // Profiling times every kernel of the timed runs (each dispatch in its own pass: slower overall).
    const profiler = profile ? ((rt().profiler = null), rt().enableProfiler()) : null;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await igScores(model, head, [record], ['a', 'b', 'c'], opts);
      await rt().sync();
      times.push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpus.push((c.user + c.system) / 1e6);
    }
    if (profile && profiler) {
      profile(await profiler.table());
      rt().profiler = null;
    }
    return { seconds: median(times), cpu: median(cpus), neurons: neuronLayout(config).total };
  } finally {
    disposeModel(model);
    for (const t of head.params.values()) t.dispose();
  }
}

/** The bench module (bench/run.ts loads it by name). */
const bench: Bench = {
  name: 'ig',
  description: 'integrated gradients attributions/s: fused (batched steps, cached lower layers) vs naive m passes',
  async run(ctx) {
    const steps = Number(option(ctx.args, '--steps') ?? 20);
    const repeats = Number(option(ctx.args, '--repeats') ?? 1);
    const one = option(ctx.args, '--layers');
    const profile = ctx.args.includes('--profile');
    const sizes: Size[] = one
      ? [{ layers: Number(one), dim: Number(option(ctx.args, '--dim') ?? 64), heads: Number(option(ctx.args, '--heads') ?? 4), length: Number(option(ctx.args, '--length') ?? 62) }]
      : [...SWEEP];
    ctx.log(`ig: m=${steps} (+1 baseline row for the completeness check) on ${rt().info.description}`);
    for (const s of sizes) {
      const name = `m=${steps} layers=${s.layers} dim=${s.dim} tokens=${s.length + 2}`;
      const table = (path: string) => (profile ? (t: string) => ctx.log(`ig: ${name}: ${path} kernels (ESMKN profiler)\n${t}`) : null);
      const fused = await timeIg(s, steps, 'fused', repeats, table('fused'));
      ctx.log(`ig: ${name}: fused ${fused.seconds.toFixed(2)} s per example (${fused.cpu.toFixed(2)} CPU s)`);
      if (ctx.args.includes('--fused-only')) continue; // no row: a row needs the peer of the same run
      const naive = await timeIg(s, steps, 'naive', repeats, table('naive'));
      ctx.log(`ig: ${name}: naive ${naive.seconds.toFixed(2)} s per example (${naive.cpu.toFixed(2)} CPU s; CPU-time ratio ${(naive.cpu / fused.cpu).toFixed(2)}x)`);
      ctx.emit({ bench: 'ig', case: name, ours: fused.neurons / fused.seconds, peer: 'naive', peer_value: naive.neurons / naive.seconds, unit: 'attributions/s' });
    }
  },
};

export default bench;
