/**
 * ESM-2 training throughput: one step = forward with LM logits, mean cross-entropy against the input
 * tokens, backward, AdamW; the t6_8M architecture and the default model's shape (`--models`,
 * as in esm.ts), random weights, at batch 8 x 256 tokens, ours against PyTorch CPU at full strength on
 * the same step (bench/peers/esm_torch.py train). Live GPU memory is printed
 * before and after the timed steps: a step must release everything it allocates.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { backward, reshape, tensor, tidyAsync } from '../engine/index.js';
import { rt } from '../engine/context.js';
import { crossEntropy } from '../engine/ops/cross_entropy.js';
import { AdamW } from '../engine/optim/adamw.js';
import { disposeModel, esmForward, prepareBatch, uploadModel } from '../model/esm.js';
import { initParams } from '../model/params.js';
import { type EsmShape, benchShapes, torchPeer } from './esm.js';
import { randomTokens } from './lib/runs.js';
import { type Bench, type BenchContext, option } from './lib/bench.js';
import { median } from './lib/timing.js';

const MIB = 2 ** 20;

/**
 * CPU seconds of the JS thread so far (Linux /proc; NaN elsewhere). A step should spend almost none:
 * the JS thread only records and then waits (engine/host_wait.ts; it used to spin 4-5 s per step).
 */
function jsThreadCpu(): number {
  try {
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Times the training step of one shape, then the peer's. */
async function trainShape(ctx: BenchContext, { label, config }: EsmShape, B: number, L: number, repeats: number): Promise<void> {
  const V = config.vocabSize;
  const model = uploadModel(config, initParams(config, 0), true);
  const opt = new AdamW([...model.params.values()], { weightDecay: 0.01 });
  const tokens = randomTokens(B, L);
  ctx.log(`train: ${label} (${config.numLayers} x ${config.embedDim}) forward+backward+AdamW ${B}x${L} on ${rt().info.description}`);
  // One step, ended by reading the loss (the step's only sync point).
  const step = () =>
    tidyAsync(async () => {
      const out = esmForward(model, prepareBatch(config, tokens, B, L), { logits: true });
      const loss = crossEntropy(reshape(out.logits!, [B * L, V]), tensor(tokens, [B * L], 'i32', 'targets')); // ()
      backward(loss);
      opt.step(1e-4);
      opt.zeroGrad();
      return loss.item();
    });
  const mib = () => (rt().pool.snapshot().liveBytes / MIB).toFixed(2);
  ctx.log(`train: live GPU memory before the first step (parameters, AdamW state) ${mib()} MiB`);
  await step();
  ctx.log(`train: live GPU memory after the warm-up step ${mib()} MiB`);
  const times: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage();
    const j0 = jsThreadCpu();
    const t0 = performance.now();
    const loss = await step();
    times.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e6);
    const js = jsThreadCpu() - j0;
    ctx.log(`train: step ${i + 1}: ${times[i]!.toFixed(2)} s (${cpus[i]!.toFixed(2)} CPU-s, JS thread ${Number.isNaN(js) ? '-' : js.toFixed(2)}), loss ${loss.toFixed(4)}, live GPU memory ${mib()} MiB`);
  }
  const profile = await rt().profiler?.table();
  if (profile) ctx.log(`train: GPU time per kernel over the warm-up and ${repeats} timed steps (ESMKN_PROFILE=1)\n${profile}`);
  ctx.log(`train: ${(B * L / median(times)).toFixed(1)} tokens/s, ${(B * L / median(cpus)).toFixed(1)} tokens per CPU-second (median of ${repeats}; load average ${loadavg()[0]!.toFixed(2)})`);
  opt.dispose();
  disposeModel(model);
  const peer = ctx.args.includes('--no-peer') ? null : torchPeer('train', [config.numLayers, config.embedDim, config.attentionHeads], B, L, repeats, ctx.log);
  ctx.emit({ bench: 'train', case: `${label} train ${B}x${L}`, ours: (B * L) / median(times), peer: peer === null ? null : 'pytorch-cpu', peer_value: peer, unit: 'tokens/s' });
}

const bench: Bench = {
  name: 'train',
  description: 'ESM-2 training step (forward, backward, AdamW) tokens/s at 8x256 (t6_8M and the default model shape) vs PyTorch CPU',
  async run(ctx) {
    const B = Number(option(ctx.args, '--batch') ?? 8);
    const L = Number(option(ctx.args, '--length') ?? 256);
    const repeats = Number(option(ctx.args, '--repeats') ?? 5);
    for (const shape of benchShapes(ctx.args)) await trainShape(ctx, shape, B, L, repeats);
  },
};

export default bench;
