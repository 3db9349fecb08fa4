/**
 * Integrated gradients throughput: neuron attributions per second (one attribution = one neuron's IG
 * score for one example, every module of every layer) of our fused path (kn/ig.ts: layers below a
 * module run once, the m steps as one batch, scores accumulated on the GPU) against the tool a
 * researcher would otherwise run: knowledge-neuron IG in PyTorch CPU as Captum's
 * LayerIntegratedGradients computes it (bench/peers/ig_torch.py, peer "pytorch-kn": the m scaled
 * copies of one module's activation as one batch through a forward hook, the whole model forward from
 * the embeddings and backward), on the same weights, example, quadrature and m.
 *
 * `npm run bench -- ig [--json] [--steps 20] [--repeats 1] [--profile] [--fused-only] [--no-peer]
 * [--naive | --no-naive] [--no-check] [--layers N --dim D --heads H --length L]`: without a size, the
 * sweep below (the embedded default model's shape, read from its committed config, and t6_8M's, 6 x 320). Random weights; the
 * timing does not depend on them. Before the sweep, a self-check on a tiny model compares the peer's
 * attributions with ours and fails the run when they disagree (`--no-check` skips it).
 *
 * Our naive path (m independent full passes through the engine) stays as a diagnostic log line
 * (fused / naive) at widths up to 96 (the default model's), or with `--naive`; `--profile` prints per-kernel GPU times of the
 * fused runs; `--fused-only` skips every comparison (no row).
 */
import { rt } from '../engine/context.js';
import { rng } from '../engine/random.js';
import { type EsmConfig, makeConfig } from '../model/config.js';
import type { TaskRecord } from '../data/dataset.js';
import { type EsmModel, disposeModel, uploadModel } from '../model/esm.js';
import { type ClassifierHead, headFromTensors, headSpec } from '../model/head.js';
import { type ParamTensor, initParams } from '../model/params.js';
import { exampleTokens } from '../kn/examples.js';
import { igScores } from '../kn/ig_scores.js';
import { neuronLayout } from '../kn/layout.js';
import { quadrature } from '../kn/quadrature.js';
import { type Bench, type BenchContext, option } from './lib/bench.js';
import { agreement, runIgPeer } from './lib/ig_peer.js';
import { torchPython } from './lib/torch_peer.js';
import { median } from './lib/timing.js';
import { defaultModelShape } from './esm.js';

/** One measured shape. */
export interface IgSize {
  readonly layers: number;
  readonly dim: number;
  readonly heads: number;
  /** Residues of the example (tokens = length + 2). */
  readonly length: number;
}

/** The default sweep: the embedded default model's shape at two lengths, and t6_8M's. */
export function igSweep(): IgSize[] {
  const { config: c } = defaultModelShape();
  return [
    { layers: c.numLayers, dim: c.embedDim, heads: c.attentionHeads, length: 62 },
    { layers: c.numLayers, dim: c.embedDim, heads: c.attentionHeads, length: 126 },
    { layers: 6, dim: 320, heads: 20, length: 62 },
  ];
}

/** The self-check's tiny model. */
const CHECK_SIZE: IgSize = { layers: 2, dim: 32, heads: 4, length: 14 };

/** Fails the self-check above this max |ours - peer| / max |ours| (float32 on both sides). */
const CHECK_TOLERANCE = 1e-3;

const CLASSES = 3;

function randomRecord(length: number): TaskRecord {
  const rand = rng(5);
  const residues = 'ACDEFGHIKLMNPQRSTVWY';
  return { id: 'bench', label: 1, source: 'bench', sequence: Array.from({ length }, () => residues[Math.floor(rand() * 20)]!).join('') };
}

/** A model, head and example of one size, on the host and on the GPU. */
interface Setup {
  readonly config: EsmConfig;
  readonly params: Map<string, ParamTensor<Float32Array>>;
  readonly headData: Map<string, { shape: number[]; data: Float32Array }>;
  readonly model: EsmModel;
  readonly head: ClassifierHead;
  readonly record: TaskRecord;
  dispose(): void;
}

function setup(size: IgSize, mode: 'fresh' | 'test', headScale: number): Setup {
  const config = makeConfig({ numLayers: size.layers, embedDim: size.dim, attentionHeads: size.heads, name: 'bench' });
  const params = initParams(config, 0, { mode });
  const model = uploadModel(config, params, false);
  const rand = rng(9);
  const headData = new Map(headSpec(size.dim, CLASSES).map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return [s.name, { shape: s.shape, data: Float32Array.from({ length: n }, () => (rand() - 0.5) * headScale) }] as const;
  }));
  const head = headFromTensors(size.dim, CLASSES, 'mean', (name) => headData.get(name)?.data);
  return {
    config, params, headData, model, head,
    record: randomRecord(size.length),
    dispose() {
      disposeModel(model);
      for (const t of head.params.values()) t.dispose();
    },
  };
}

const igOptions = (size: IgSize, steps: number, path: 'fused' | 'naive') => ({ steps, rule: 'riemann' as const, maxLength: size.length, path });

/**
 * Seconds of one example's IG on the given path (median over repeats, after one untimed warm-up run
 * of the same path), and the process's CPU seconds (all threads, lavapipe's included) per run: on a
 * CPU device shared with other jobs the CPU time is steadier than the wall time.
 */
async function timeIg(s: Setup, size: IgSize, steps: number, path: 'fused' | 'naive', repeats: number, profile: ((table: string) => void) | null): Promise<{ seconds: number; cpu: number; neurons: number }> {
  const opts = igOptions(size, steps, path);
  await igScores(s.model, s.head, [s.record], ['a', 'b', 'c'], opts);
  const times: number[] = [];
  const cpus: number[] = [];
  // Profiling times every kernel of the timed runs (each dispatch in its own pass: slower overall).
  const profiler = profile ? ((rt().profiler = null), rt().enableProfiler()) : null;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await igScores(s.model, s.head, [s.record], ['a', 'b', 'c'], opts);
    await rt().sync();
    times.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e6);
  }
  if (profile && profiler) {
    profile(await profiler.table());
    rt().profiler = null;
  }
  return { seconds: median(times), cpu: median(cpus), neurons: neuronLayout(s.config).total };
}

/** The peer's job for a setup: Captum's default internal batch (all m steps in one pass). */
function peerJob(s: Setup, steps: number, repeats: number, scores: boolean) {
  return {
    config: s.config, params: s.params, head: s.headData, classes: CLASSES,
    tokens: exampleTokens(s.record, s.record.sequence.length), label: s.record.label,
    quadrature: quadrature('riemann', steps), internalBatch: steps, repeats, scores,
  };
}

/**
 * The self-check: on a tiny model with every tensor random (initParams 'test'), our fused attributions
 * against the peer's, the same quantity. Throws when they disagree; returns false when no peer ran.
 */
async function checkAgreement(ctx: BenchContext, steps: number): Promise<boolean> {
  const s = setup(CHECK_SIZE, 'test', 2);
  try {
    const ours = await igScores(s.model, s.head, [s.record], ['a', 'b', 'c'], igOptions(CHECK_SIZE, steps, 'fused'));
    const peer = runIgPeer(peerJob(s, steps, 0, true), ctx.log);
    if (!peer?.scores) {
      if (torchPython()) throw new Error('ig: the IG peer failed on the self-check (see the peer line above)');
      return false;
    }
    const a = agreement(ours.values, peer.scores);
    const what = `layers=${CHECK_SIZE.layers} dim=${CHECK_SIZE.dim} tokens=${CHECK_SIZE.length + 2} m=${steps}, ${ours.values.length} attributions`;
    ctx.log(`ig: agreement with pytorch-kn (${what}): max |ours - peer| ${a.maxAbsDiff.toExponential(3)} = ${a.relative.toExponential(3)} of max |attribution| ${a.maxAbs.toExponential(3)}; correlation ${a.correlation.toFixed(9)}`);
    if (!(a.relative <= CHECK_TOLERANCE)) throw new Error(`ig: our attributions and pytorch-kn's disagree: max difference ${a.relative.toExponential(3)} of the largest (tolerance ${CHECK_TOLERANCE})`);
    return true;
  } finally {
    s.dispose();
  }
}

/** Measures one size: ours fused, the PyTorch peer, and the naive diagnostic. */
async function measure(ctx: BenchContext, size: IgSize, steps: number, repeats: number, withPeer: boolean, naive: boolean): Promise<void> {
  const name = `m=${steps} layers=${size.layers} dim=${size.dim} tokens=${size.length + 2}`;
  const profile = ctx.args.includes('--profile') ? (t: string) => ctx.log(`ig: ${name}: fused kernels (ESMKN profiler)\n${t}`) : null;
  const s = setup(size, 'fresh', 0.2);
  try {
    const fused = await timeIg(s, size, steps, 'fused', repeats, profile);
    const oursRate = fused.neurons / fused.seconds;
    ctx.log(`ig: ${name}: fused ${fused.seconds.toFixed(2)} s per example (${fused.cpu.toFixed(2)} CPU s), ${oursRate.toFixed(1)} attributions/s`);
    if (ctx.args.includes('--fused-only')) return; // no row: a row needs the peer of the same run
    if (naive) {
      const n = await timeIg(s, size, steps, 'naive', repeats, null);
      ctx.log(`ig: ${name}: diagnostic fused / naive (our m full passes): ${(n.seconds / fused.seconds).toFixed(2)}x wall, ${(n.cpu / fused.cpu).toFixed(2)}x CPU (naive ${n.seconds.toFixed(2)} s, ${n.cpu.toFixed(2)} CPU s)`);
    }
    const peer = withPeer ? runIgPeer(peerJob(s, steps, repeats, false), ctx.log) : null;
    if (peer) {
      if (peer.neurons !== fused.neurons) throw new Error(`ig: the peer scored ${peer.neurons} neurons, ours ${fused.neurons}`);
      ctx.log(`ig: ${name}: pytorch-kn ${peer.seconds.toFixed(2)} s per example (${peer.cpu.toFixed(2)} CPU s, internal batch ${steps}), ${(peer.neurons / peer.seconds).toFixed(1)} attributions/s; ours / peer ${(peer.seconds / fused.seconds).toFixed(2)}x`);
    }
    ctx.emit({ bench: 'ig', case: name, ours: oursRate, peer: peer ? 'pytorch-kn' : null, peer_value: peer ? peer.neurons / peer.seconds : null, unit: 'attributions/s' });
  } finally {
    s.dispose();
  }
}

/** The bench module (bench/run.ts loads it by name). */
const bench: Bench = {
  name: 'ig',
  description: 'integrated gradients attributions/s: ours (fused) vs knowledge-neuron IG in PyTorch CPU (Captum-style)',
  async run(ctx) {
    const steps = Number(option(ctx.args, '--steps') ?? 20);
    const repeats = Number(option(ctx.args, '--repeats') ?? 1);
    const one = option(ctx.args, '--layers');
    const sizes: IgSize[] = one
      ? [{ layers: Number(one), dim: Number(option(ctx.args, '--dim') ?? 64), heads: Number(option(ctx.args, '--heads') ?? 4), length: Number(option(ctx.args, '--length') ?? 62) }]
      : igSweep();
    const withPeer = !ctx.args.includes('--no-peer') && !ctx.args.includes('--fused-only');
    ctx.log(`ig: m=${steps} (+1 baseline row for the completeness check) on ${rt().info.description}`);
    if (withPeer && !ctx.args.includes('--no-check')) await checkAgreement(ctx, steps);
    for (const size of sizes) {
      const naive = ctx.args.includes('--naive') || (!ctx.args.includes('--no-naive') && size.dim <= 96);
      await measure(ctx, size, steps, repeats, withPeer, naive);
    }
  },
};

export default bench;
