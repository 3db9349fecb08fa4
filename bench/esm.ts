/**
 * ESM-2 forward throughput at batch 8 x 256 tokens (random weights) for the t6_8M architecture and the
 * embedded default model's shape (read from experiments/models/default, `--models t6_8M,default`), ours against PyTorch CPU at full
 * strength on the same shape in the same run (bench/peers/esm_torch.py through lib/torch_peer.ts, when
 * Debian's python3-torch is installed; `--no-peer` skips it). `--t33` also loads the t33_650M
 * architecture and times its forward (`--t33-shape 1x64`, `--t33-repeats 1`: sized for lavapipe).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { rt } from '../engine/context.js';
import { type EsmConfig, esm2Config, makeConfig } from '../model/config.js';
import { disposeModel, uploadModel } from '../model/esm.js';
import { repoRoot } from '../model/assets.node.js';
import { initParams } from '../model/params.js';
import { type Bench, option } from './lib/bench.js';
import { timeForward } from './lib/runs.js';
import { peerNumber, runTorchPeer } from './lib/torch_peer.js';

/** tokens/s of the PyTorch peer at full strength (lib/torch_peer.ts), or null (reason logged) without python3-torch. */
export function torchPeer(mode: 'forward' | 'train', dims: [number, number, number], B: number, L: number, repeats: number, log: (m: string) => void): number | null {
  const r = runTorchPeer('esm_torch.py', [mode, ...dims.map(String), String(B), String(L), String(repeats)], log);
  if (!r) return null;
  const rate = peerNumber(r, 'rate');
  log(`peer: ${mode} ${dims[0]}x${dims[1]} at ${B}x${L}: ${rate.toFixed(1)} tokens/s, ${peerNumber(r, 'per_cpu').toFixed(1)} tokens per CPU-second`);
  return rate;
}

/** A model shape the esm and train benches measure. */
export interface EsmShape {
  /** Case prefix, e.g. "t6_8M" or "default 4x96". */
  readonly label: string;
  readonly config: EsmConfig;
}

/**
 * The shapes of `--models` (comma-separated; default both): "t6_8M" (ESM-2 t6_8M, 6 x 320, 20 heads)
 * and "default" (the embedded default model's shape, defaultModelShape).
 */
export function benchShapes(args: readonly string[]): EsmShape[] {
  const names = (option(args, '--models') ?? 't6_8M,default').split(',');
  return names.map((n) => {
    if (n === 't6_8M') return { label: 't6_8M', config: esm2Config('esm2_t6_8M_UR50D') };
    if (n === 'default') return defaultModelShape();
    throw new Error(`unknown --models entry '${n}' (t6_8M, default)`);
  });
}

/** The embedded default model's architecture, from its committed esm-kn.json (so the benches follow the model). */
export function defaultModelShape(): EsmShape {
  const c = (JSON.parse(readFileSync(join(repoRoot(), 'experiments/models/default/esm-kn.json'), 'utf8')) as { config: EsmConfig }).config;
  const config = makeConfig({ numLayers: c.numLayers, embedDim: c.embedDim, attentionHeads: c.attentionHeads, ffnDim: c.ffnDim, name: 'default' });
  return { label: `default ${c.numLayers}x${c.embedDim}`, config };
}

/** "BxL" of an option, e.g. --t33-shape 4x256. */
function shapeOption(args: readonly string[], name: string, fallback: string): [number, number] {
  const [b, l] = (option(args, name) ?? fallback).split('x').map(Number);
  if (!(Number.isInteger(b) && Number.isInteger(l) && b! > 0 && l! > 0)) throw new Error(`${name} wants BxL, e.g. 4x256`);
  return [b!, l!];
}

const bench: Bench = {
  name: 'esm',
  description: 'ESM-2 forward tokens/s at 8x256 (t6_8M and the default model shape) vs PyTorch CPU (--t33: t33_650M forward)',
  async run(ctx) {
    const B = Number(option(ctx.args, '--batch') ?? 8);
    const L = Number(option(ctx.args, '--length') ?? 256);
    const repeats = Number(option(ctx.args, '--repeats') ?? 5);
    for (const { label, config } of benchShapes(ctx.args)) {
      const model = uploadModel(config, initParams(config, 0));
      ctx.log(`esm: ${label} (${config.numLayers} x ${config.embedDim}, ${config.attentionHeads} heads) forward ${B}x${L} on ${rt().info.description}`);
      const secs = await timeForward(model, B, L, repeats);
      ctx.log(`esm: ${(B * L / secs.wall).toFixed(1)} tokens/s, ${(B * L / secs.cpu).toFixed(1)} tokens per CPU-second (median of ${repeats}; load average ${loadavg()[0]!.toFixed(2)})`);
      disposeModel(model);
      const peer = ctx.args.includes('--no-peer') ? null : torchPeer('forward', [config.numLayers, config.embedDim, config.attentionHeads], B, L, repeats, ctx.log);
      ctx.emit({ bench: 'esm', case: `${label} forward ${B}x${L}`, ours: (B * L) / secs.wall, peer: peer === null ? null : 'pytorch-cpu', peer_value: peer, unit: 'tokens/s' });
    }
    if (ctx.args.includes('--t33')) {
      const [tb, tl] = shapeOption(ctx.args, '--t33-shape', '1x64');
      const big = esm2Config('esm2_t33_650M_UR50D');
      ctx.log('esm: initialising t33_650M (651M parameters) on the host');
      const m = uploadModel(big, initParams(big, 0));
      const s = (await timeForward(m, tb, tl, Number(option(ctx.args, '--t33-repeats') ?? 1))).wall;
      ctx.log(`esm: t33_650M forward ${tb}x${tl} ran; live GPU memory ${(rt().pool.snapshot().liveBytes / 2 ** 30).toFixed(2)} GiB`);
      disposeModel(m);
      ctx.emit({ bench: 'esm', case: `t33_650M forward ${tb}x${tl}`, ours: (tb * tl) / s, peer: null, peer_value: null, unit: 'tokens/s' });
    }
  },
};

export default bench;
