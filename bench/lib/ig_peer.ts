/**
 * The integrated-gradients peer (bench/peers/ig_torch.py: Captum-style layer IG in PyTorch CPU) run on
 * our model's weights: the parameters and the classifier head go to a temporary safetensors file, the
 * example, quadrature and batching to a JSON spec beside it; the peer prints its timing and may write
 * its attributions (float32, our flat layout) for the agreement check.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors } from '../../io/safetensors.js';
import type { FloatTensor } from '../../io/tensor.js';
import type { EsmConfig } from '../../model/config.js';
import type { ParamMap } from '../../model/params.js';
import type { Quadrature } from '../../kn/quadrature.js';
import { type PeerResult, peerNumber, runTorchPeer } from './torch_peer.js';

/** What the peer computes: one example on one model. */
export interface IgPeerJob {
  readonly config: EsmConfig;
  readonly params: ParamMap;
  /** head.dense.weight (D, D), head.dense.bias (D), head.out.weight (C, D), head.out.bias (C). */
  readonly head: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>;
  readonly classes: number;
  /** Token ids (L) of the example: <cls> residues <eos>. */
  readonly tokens: Int32Array;
  readonly label: number;
  readonly quadrature: Quadrature;
  /** Rows per batched pass (Captum's internal_batch_size). */
  readonly internalBatch: number;
  /** Timed examples after the warm-up one (0: only the warm-up, e.g. for the agreement check). */
  readonly repeats: number;
  /** Return the peer's attributions. */
  readonly scores: boolean;
}

/** The peer's median seconds and CPU seconds per example, and its attributions when asked. */
export interface IgPeerRun {
  readonly seconds: number;
  readonly cpu: number;
  readonly neurons: number;
  readonly scores: Float32Array | null;
  readonly result: PeerResult;
}

/** Runs the IG peer on a job; null (reason logged) when PyTorch is missing or the peer fails. */
export function runIgPeer(job: IgPeerJob, log: (m: string) => void): IgPeerRun | null {
  const dir = mkdtempSync(join(tmpdir(), 'esmkn-ig-peer-'));
  try {
    const tensors: [string, FloatTensor][] = [];
    for (const [name, p] of [...job.params, ...job.head]) tensors.push([name, { dtype: 'f32', shape: p.shape, data: Float32Array.from(p.data) }]);
    writeFileSync(join(dir, 'weights.safetensors'), Buffer.concat(encodeSafetensors(tensors)));
    const out = job.scores ? join(dir, 'scores.f32') : null;
    const c = job.config;
    const spec = {
      weights: join(dir, 'weights.safetensors'),
      layers: c.numLayers, dim: c.embedDim, heads: c.attentionHeads, classes: job.classes,
      tokens: Array.from(job.tokens), label: job.label,
      alphas: Array.from(job.quadrature.alphas), weights_q: Array.from(job.quadrature.weights),
      internal_batch: job.internalBatch, repeats: job.repeats, out,
    };
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    const result = runTorchPeer('ig_torch.py', [join(dir, 'spec.json')], log);
    if (!result) return null;
    const scores = out ? new Float32Array(new Uint8Array(readFileSync(out)).buffer) : null;
    return { seconds: peerNumber(result, 'seconds'), cpu: peerNumber(result, 'cpu'), neurons: peerNumber(result, 'neurons'), scores, result };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** How far two attribution vectors are apart. */
export interface Agreement {
  readonly maxAbsDiff: number;
  readonly maxAbs: number;
  /** maxAbsDiff / maxAbs. */
  readonly relative: number;
  /** Pearson correlation. */
  readonly correlation: number;
}

/** Compares our attributions with the peer's. */
export function agreement(ours: ArrayLike<number>, peer: ArrayLike<number>): Agreement {
  if (ours.length !== peer.length) throw new Error(`ig agreement: ours has ${ours.length} attributions, the peer ${peer.length}`);
  const n = ours.length;
  let maxAbsDiff = 0;
  let maxAbs = 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ours[i]! - peer[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(ours[i]!));
    ma += ours[i]! / n;
    mb += peer[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const a = ours[i]! - ma;
    const b = peer[i]! - mb;
    sab += a * b;
    saa += a * a;
    sbb += b * b;
  }
  return { maxAbsDiff, maxAbs, relative: maxAbs ? maxAbsDiff / maxAbs : maxAbsDiff, correlation: sab / Math.sqrt(saa * sbb) };
}
