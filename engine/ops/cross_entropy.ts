/**
 * Cross-entropy loss (shaders/cross_entropy.wgsl) with PyTorch's semantics: logits [N, C], labels
 * [N] i32, optional class weights [C], `ignoreIndex` (default -100) and 'mean' or 'sum' reduction.
 * The scalar loss (shape []) is produced on the GPU (per-row logsumexp, then a one-workgroup sum), so
 * a training step needs no host round trip before reading it. Labels and weights get no gradient.
 *
 * Differences from PyTorch, both because the GPU cannot raise errors without a readback:
 * - a label outside [0, C) other than ignoreIndex is not an error: that row contributes nothing;
 * - 'mean' over no counted rows gives 0 (PyTorch: NaN), with a zero gradient.
 */
import crossEntropyWgsl from '../../shaders/cross_entropy.wgsl';
import { rt } from '../context.js';
import { type BindingKind, type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { type Tensor, empty, fmtShape } from '../tensor.js';
import { defaultWg, grid1d } from './grid.js';
import { type OpDef, ShapeError, apply, describe, expectDtypes } from './op.js';
import { rowLayout } from './softmax.js';

const MODULE: ShaderModuleSpec = { name: 'cross_entropy', code: crossEntropyWgsl };

/** How per-row losses become the scalar. */
export type Reduction = 'mean' | 'sum';

/** Attributes of the op; class weights, when present, are input 2. */
export interface CrossEntropyAttrs {
  readonly ignoreIndex: number;
  readonly reduction: Reduction;
}

/** Options of `crossEntropy`. */
export interface CrossEntropyOptions {
  /** Class weights [C]: row i counts w[y_i] in both the sum and (for 'mean') the denominator. */
  readonly weights?: Tensor;
  /** Rows with this label are left out (PyTorch's default -100). */
  readonly ignoreIndex?: number;
  /** 'mean' (default): sum_i w[y_i] nll_i / sum_i w[y_i] over counted rows; 'sum': the numerator. */
  readonly reduction?: Reduction;
}

type CrossEntropySaved = { logits: Tensor; labels: Tensor; weights: Tensor | null; lse: Tensor; norm: Tensor };

type Entry = 'ce_rows' | 'ce_reduce' | 'ce_backward';
const BINDINGS: Record<Entry, readonly BindingKind[]> = {
  ce_rows: ['uniform', 'read', 'read', 'read', 'rw', 'rw'],
  ce_reduce: ['uniform', 'read', 'rw', 'rw'],
  ce_backward: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw'],
};

function kernel(entry: Entry, weighted: boolean): KernelSpec {
  return {
    module: MODULE,
    entry,
    bindings: BINDINGS[entry],
    constants: entry === 'ce_reduce' ? { WG: defaultWg() } : { WG: defaultWg(), WEIGHTED: weighted ? 1 : 0 },
  };
}

function params(n: number, c: number, tpr: number, a: CrossEntropyAttrs): Uint8Array {
  return new Uniforms().u32(n, c, tpr).i32(a.ignoreIndex).u32(a.reduction === 'mean' ? 1 : 0, 0, 0, 0).finish();
}

const crossEntropyOp: OpDef<CrossEntropyAttrs, CrossEntropySaved> = {
  name: 'crossEntropy',
  infer(inputs, a) {
    const [logits, labels, weights] = inputs;
    const names = ['logits', 'labels', 'weights'];
    if (inputs.length < 2 || inputs.length > 3) {
      throw new ShapeError('crossEntropy', `takes logits, labels and optional weights, got ${inputs.length} inputs`);
    }
    if (logits!.shape.length !== 2 || logits!.shape[1] === 0) {
      throw new ShapeError('crossEntropy', `logits ${fmtShape(logits!.shape)} must be [N, C] with C >= 1`);
    }
    const [n, c] = logits!.shape as [number, number];
    if (labels!.shape.length !== 1 || labels!.shape[0] !== n) {
      throw new ShapeError('crossEntropy', `labels ${fmtShape(labels!.shape)} must be [N] = [${n}] (${describe(inputs, names)})`);
    }
    if (weights && (weights.shape.length !== 1 || weights.shape[0] !== c)) {
      throw new ShapeError('crossEntropy', `weights ${fmtShape(weights.shape)} must be [C] = [${c}] (${describe(inputs, names)})`);
    }
    expectDtypes('crossEntropy', inputs, ['f32', 'i32', 'f32']);
    if (!Number.isInteger(a.ignoreIndex) || Math.abs(a.ignoreIndex) > 2 ** 31 - 1) {
      throw new ShapeError('crossEntropy', `ignoreIndex must be a 32-bit integer, got ${a.ignoreIndex}`);
    }
    if (a.reduction !== 'mean' && a.reduction !== 'sum') {
      throw new ShapeError('crossEntropy', `reduction must be 'mean' or 'sum', got '${String(a.reduction)}'`);
    }
    return { shape: [], dtype: 'f32' };
  },
  forward([logits, labels, weights], a, out) {
    const [n, c] = logits!.shape as [number, number];
    const weighted = Boolean(weights);
    const lse = empty([n], 'f32', 'crossEntropy.lse');
    const terms = empty([n, 2], 'f32', 'crossEntropy.terms');
    const norm = empty([1], 'f32', 'crossEntropy.norm');
    const { tpr, workgroups } = rowLayout(n, c);
    const u = params(n, c, tpr, a);
    // Without weights, logits fill the weights binding; WEIGHTED = 0 means it is never read.
    const w = (weights ?? logits!).buffer;
    if (n) {
      rt().dispatch({
        kernel: kernel('ce_rows', weighted),
        uniforms: u,
        buffers: [logits!.buffer, labels!.buffer, w, lse.buffer, terms.buffer],
        workgroups,
      });
    }
    // Runs even for N = 0 so that the loss is written (0).
    rt().dispatch({ kernel: kernel('ce_reduce', weighted), uniforms: u, buffers: [terms.buffer, out.buffer, norm.buffer], workgroups: [1] });
    terms.dispose();
    return { logits: logits!, labels: labels!, weights: weights ?? null, lse, norm };
  },
  backward(dy, s, a, needs) {
    if (!needs[0]) return [null, null, null];
    const [n, c] = s.logits.shape as [number, number];
    const dLogits = empty([n, c], 'f32', 'd_logits');
    if (n) {
      rt().dispatch({
        kernel: kernel('ce_backward', Boolean(s.weights)),
        uniforms: params(n, c, 1, a),
        buffers: [s.logits.buffer, s.labels.buffer, (s.weights ?? s.logits).buffer, s.lse.buffer, s.norm.buffer, dy.buffer, dLogits.buffer],
        workgroups: grid1d(n * c, defaultWg()),
      });
    }
    return [dLogits, null, null];
  },
};

/** Registry entry (ops/registry.ts). */
export const crossEntropyOps = { crossEntropy: crossEntropyOp } as const;

/**
 * Cross-entropy of logits [N, C] against labels [N] (i32), as PyTorch's F.cross_entropy: per row
 * nll_i = -log softmax(logits_i)[y_i]; 'mean' = sum_i w[y_i] nll_i / sum_i w[y_i] over rows whose
 * label is not `ignoreIndex` (w = 1 without weights); 'sum' = the numerator. Returns a scalar of
 * shape []. A label outside [0, C) other than ignoreIndex contributes nothing (not an error), and
 * 'mean' over no counted rows is 0 (PyTorch: NaN).
 */
export function crossEntropy(logits: Tensor, labels: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const attrs: CrossEntropyAttrs = { ignoreIndex: opts.ignoreIndex ?? -100, reduction: opts.reduction ?? 'mean' };
  return apply(crossEntropyOp, opts.weights ? [logits, labels, opts.weights] : [logits, labels], attrs);
}
