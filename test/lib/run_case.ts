/**
 * GPU runs that the browser tests perform twice, once in Node (Dawn/lavapipe) and once in the page
 * (Chromium/SwiftShader), on the same inputs: one code path, so any difference is the platform's.
 * Inputs and outputs are plain number arrays because they cross playwright's page.evaluate as JSON.
 * Browser-safe: nothing here may import Node built-ins.
 */
import { backward, keep, noGrad, noGradAsync, tensor, tidyAsync } from '../../engine/index.js';
import { apply } from '../../engine/ops/op.js';
import { fusedLinear } from '../../engine/ops/matmul.js';
import { OPS } from '../../engine/ops/registry.js';
import { AdamW } from '../../engine/optim/adamw.js';
import { type EsmConfigInit, makeConfig } from '../../model/config.js';
import { disposeModel, esmForward, prepareBatch, uploadModel } from '../../model/esm.js';
import type { ParamTensor } from '../../model/params.js';
import { headFromTensors } from '../../model/head.js';
import type { TaskRecord } from '../../data/dataset.js';
import { igScores } from '../../kn/ig_scores.js';
import type { QuadratureRule } from '../../kn/quadrature.js';
import { ALL_CASES } from '../cases/index.js';
import { type OpCase, isIntInput } from './case.js';

/** Name under which a case is addressed across the page boundary: "op name". */
export function caseId(c: OpCase): string {
  return `${c.op} ${c.name}`;
}

/** The case with this id; throws naming it when absent. */
export function findCase(id: string): OpCase {
  const c = ALL_CASES.find((k) => caseId(k) === id);
  if (!c) throw new Error(`no op case '${id}' in test/cases`);
  return c;
}

/** An op case's forward output and the gradient of every differentiable input (null otherwise). */
export interface CaseRun {
  readonly out: number[];
  readonly grads: (number[] | null)[];
}

/** Runs case `id` forward on `inputs` and backward under upstream gradient `dy` (when any input wants one). */
export async function runOpCase(id: string, inputs: readonly (readonly number[])[], dy: readonly number[]): Promise<CaseRun> {
  const c = findCase(id);
  const def = OPS[c.op];
  return tidyAsync(async () => {
    const ts = inputs.map((x, i) => {
      const t = tensor(Float32Array.from(x), c.shapes[i]!, isIntInput(c, i) ? 'i32' : 'f32', `in${i}`);
      t.requiresGrad = !isIntInput(c, i) && !c.noGrad?.includes(i);
      return t;
    });
    const y = apply(def as never, ts, c.attrs as never);
    const out = Array.from(await y.f32());
    if (!ts.some((t) => t.requiresGrad)) return { out, grads: ts.map(() => null) };
    backward(y, tensor(Float32Array.from(dy), y.shape, 'f32', 'dy'));
    const grads: (number[] | null)[] = [];
    for (const t of ts) grads.push(t.requiresGrad && t.grad ? Array.from(await t.grad.f32()) : null);
    return { out, grads };
  });
}

/** Shapes of a fused-linear run: x (R, K), weight (N, K); bias (N) and residual (R, N) follow. */
export interface LinearShape {
  readonly rows: number;
  readonly k: number;
  readonly n: number;
}

/** gelu(x . w^T + b) and x . w^T + b + r through the matmul kernel's fused epilogues. */
export async function runFusedLinear(s: LinearShape, x: readonly number[], w: readonly number[], b: readonly number[], r: readonly number[]): Promise<{ gelu: number[]; residual: number[] }> {
  return tidyAsync(() => noGradAsync(async () => {
    const tx = tensor(Float32Array.from(x), [s.rows, s.k], 'f32', 'x');
    const tw = tensor(Float32Array.from(w), [s.n, s.k], 'f32', 'w');
    const tb = tensor(Float32Array.from(b), [s.n], 'f32', 'b');
    const tr = tensor(Float32Array.from(r), [s.rows, s.n], 'f32', 'r');
    const gelu = Array.from(await fusedLinear(tx, tw, tb, { gelu: true }).f32());
    const residual = Array.from(await fusedLinear(tx, tw, tb, { residual: tr }).f32());
    return { gelu, residual };
  }));
}

/** One AdamW parameter: its shape, initial values, weight decay and a gradient per step. */
export interface AdamWCase {
  readonly shape: readonly number[];
  readonly init: readonly number[];
  readonly weightDecay: number;
  readonly grads: readonly (readonly number[])[];
}

/** Runs `lrs.length` AdamW steps (betas 0.9/0.98, eps 1e-6) and returns every parameter's final values. */
export async function runAdamW(params: readonly AdamWCase[], lrs: readonly number[]): Promise<number[][]> {
  const ts = params.map((p, i) => {
    const t = keep(tensor(Float32Array.from(p.init), p.shape, 'f32', `param${i}`));
    t.requiresGrad = true;
    return t;
  });
  const opt = new AdamW(ts.map((param, i) => ({ param, weightDecay: params[i]!.weightDecay })), { betas: [0.9, 0.98], eps: 1e-6 });
  try {
    lrs.forEach((lr, s) => {
      ts.forEach((t, i) => {
        t.grad?.dispose();
        t.grad = keep(tensor(Float32Array.from(params[i]!.grads[s]!), t.shape, 'f32', `grad${i}`));
      });
      opt.step(lr);
    });
    const out: number[][] = [];
    for (const t of ts) out.push(Array.from(await t.f32()));
    return out;
  } finally {
    opt.dispose();
    for (const t of ts) {
      t.grad?.dispose();
      t.dispose();
    }
  }
}

/** A host model as it crosses the page boundary: name, shape, values. */
export type WireParams = readonly (readonly [string, readonly number[], readonly number[]])[];

/** Every hidden state (0 = embeddings .. numLayers = after the final LayerNorm) and the logits. */
export interface EsmRun {
  readonly hiddens: number[][];
  readonly logits: number[];
}

/**
 * An ESM-2 inference forward of the model given by `init` and `params` on tokens (B, L). `unfused`
 * runs attention as separate matmul/softmax/rotary ops (as when probabilities are kept) instead of
 * the fused kernel.
 */
export async function runEsmForward(init: EsmConfigInit, params: WireParams, tokens: readonly number[], B: number, L: number, unfused: boolean): Promise<EsmRun> {
  const config = makeConfig(init);
  const host = new Map<string, ParamTensor>(params.map(([name, shape, data]) => [name, { shape: [...shape], data: Float32Array.from(data) }]));
  const model = uploadModel(config, host);
  try {
    return await tidyAsync(async () => {
      const layers = Array.from({ length: config.numLayers + 1 }, (_, i) => i);
      const out = noGrad(() => esmForward(model, prepareBatch(config, Int32Array.from(tokens), B, L), { reprLayers: layers, logits: true, attentions: unfused }));
      const hiddens: number[][] = [];
      for (const i of layers) hiddens.push(Array.from(await out.hiddens.get(i)!.f32()));
      return { hiddens, logits: Array.from(await out.logits!.f32()) };
    });
  } finally {
    disposeModel(model);
  }
}

/** A classification head as it crosses the page boundary: pooling, classes, tensors by name. */
export interface WireHead {
  readonly pooling: 'mean' | 'cls';
  readonly numClasses: number;
  readonly tensors: readonly (readonly [string, readonly number[]])[];
}

/** Fused integrated-gradient scores of one record: every neuron's attribution and the completeness triples. */
export interface IgRun {
  readonly values: number[];
  readonly completeness: number[];
}

/** igScores (kn) of one record on the classifier given by `init`, `params` and `head`. */
export async function runIgScores(init: EsmConfigInit, params: WireParams, head: WireHead, record: TaskRecord, steps: number, rule: QuadratureRule): Promise<IgRun> {
  const config = makeConfig(init);
  const host = new Map<string, ParamTensor>(params.map(([name, shape, data]) => [name, { shape: [...shape], data: Float32Array.from(data) }]));
  const model = uploadModel(config, host);
  const tensors = new Map(head.tensors.map(([name, data]) => [name, Float32Array.from(data)]));
  const h = headFromTensors(config.embedDim, head.numClasses, head.pooling, (n) => tensors.get(n));
  try {
    const names = Array.from({ length: head.numClasses }, (_, i) => `class${i}`);
    const s = await igScores(model, h, [record], names, { steps, rule, maxLength: 100 });
    return { values: Array.from(s.values), completeness: Array.from(s.completeness ?? []) };
  } finally {
    disposeModel(model);
    for (const t of h.params.values()) t.dispose();
  }
}
