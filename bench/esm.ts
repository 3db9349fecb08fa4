/**
 * ESM-2 forward throughput: the t6_8M architecture (random weights) at batch 8 x 256 tokens, ours
 * against PyTorch CPU on the same shape in the same run (bench/peers/esm_torch.py, when Debian's
 * python3-torch is installed; `--no-peer` skips it). `--t33` also loads the t33_650M architecture and runs one forward pass
 * (1 x 64 tokens) to show it fits the device's limits.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { rt } from '../engine/context.js';
import { esm2Config } from '../model/config.js';
import { disposeModel, uploadModel } from '../model/esm.js';
import { initParams } from '../model/params.js';
import { type Bench, option } from './lib/bench.js';
import { timeForward } from './lib/runs.js';

/**
 * The Python with torch: Debian's python3-torch lives under /usr/bin/python3, while `python3` on PATH
 * may be another interpreter (a pyenv shim) without it, so /usr/bin/python3 is tried first.
 */
function torchPython(): { python: string; version: string; threads: string } | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__, torch.get_num_threads())'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const [version = '?', threads = '?'] = probe.stdout.trim().split(' ');
    return { python, version, threads };
  }
  return null;
}

/** tokens/s of the PyTorch peer, or null (with the reason logged) when python3-torch is missing. */
export function torchPeer(mode: 'forward' | 'train', dims: [number, number, number], B: number, L: number, repeats: number, log: (m: string) => void): number | null {
  const torch = torchPython();
  if (!torch) {
    log('peer: python3-torch is not installed (apt-get install python3-torch); PyTorch column left empty');
    return null;
  }
  const r = spawnSync(torch.python, ['bench/peers/esm_torch.py', mode, ...dims.map(String), String(B), String(L), String(repeats)], { encoding: 'utf8' });
  if (r.status !== 0) {
    log(`peer: esm_torch.py failed: ${r.stderr.trim().split('\n').pop()}`);
    return null;
  }
  const [rate, perCpu] = r.stdout.trim().split(/\s+/).map(Number);
  log(`peer: PyTorch ${torch.version} CPU (${torch.python}, ${torch.threads} threads), ${mode} ${B}x${L}: ${rate} tokens/s, ${perCpu} tokens per CPU-second`);
  return rate ?? null;
}

const bench: Bench = {
  name: 'esm',
  description: 'ESM-2 t6_8M forward tokens/s at 8x256 vs PyTorch CPU (--t33: t33_650M forward fits)',
  async run(ctx) {
    const B = Number(option(ctx.args, '--batch') ?? 8);
    const L = Number(option(ctx.args, '--length') ?? 256);
    const repeats = Number(option(ctx.args, '--repeats') ?? 5);
    const config = esm2Config('esm2_t6_8M_UR50D');
    const model = uploadModel(config, initParams(config, 0));
    ctx.log(`esm: ${config.name} forward ${B}x${L} on ${rt().info.description}`);
    const secs = await timeForward(model, B, L, repeats);
    ctx.log(`esm: ${(B * L / secs.wall).toFixed(1)} tokens/s, ${(B * L / secs.cpu).toFixed(1)} tokens per CPU-second (median of ${repeats}; load average ${loadavg()[0]!.toFixed(2)})`);
    disposeModel(model);
    const peer = ctx.args.includes('--no-peer') ? null : torchPeer('forward', [config.numLayers, config.embedDim, config.attentionHeads], B, L, repeats, ctx.log);
    ctx.emit({ bench: 'esm', case: `t6_8M forward ${B}x${L}`, ours: (B * L) / secs.wall, peer: peer === null ? null : 'pytorch-cpu', peer_value: peer, unit: 'tokens/s' });
    if (ctx.args.includes('--t33')) {
      const big = esm2Config('esm2_t33_650M_UR50D');
      ctx.log('esm: initialising t33_650M (651M parameters) on the host');
      const m = uploadModel(big, initParams(big, 0));
      const s = (await timeForward(m, 1, 64, 1)).wall;
      ctx.log(`esm: t33_650M forward 1x64 ran; live GPU memory ${(rt().pool.snapshot().liveBytes / 2 ** 30).toFixed(2)} GiB`);
      disposeModel(m);
      ctx.emit({ bench: 'esm', case: 't33_650M forward 1x64', ours: 64 / s, peer: null, peer_value: null, unit: 'tokens/s' });
    }
  },
};

export default bench;
