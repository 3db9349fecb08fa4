/**
 * The op contract. Each differentiable op is one `OpDef`: a pure shape rule, a forward launch that
 * fills a preallocated output, and a backward rule built from other ops. `apply` runs them in order
 * (shape check before any GPU work), records a tape node when gradients are needed, and keeps what
 * the backward rule saved alive until the tape is cleared.
 *
 * Backward rules must return fresh tensors (never `dy` itself) and may return null for inputs that
 * need no gradient (`needs[i]` false).
 */
import { isGradEnabled, record } from '../tape.js';
import { keep } from '../scope.js';
import { type DType, type Shape, Tensor, empty, fmtShape, viewAs } from '../tensor.js';

/** Every differentiable op. Adding a name here fails compilation until registry.ts and ref/ cover it. */
export type OpName =
  | 'add' | 'sub' | 'mul' | 'div'
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'gelu' | 'relu' | 'sigmoid' | 'square' | 'pow' | 'affine'
  | 'sum' | 'mean' | 'max'
  | 'matmul'
  | 'reshape' | 'permute' | 'slice' | 'concat'
  | 'gather'
  | 'softmax'
  | 'attention'
  | 'layernorm'
  | 'rotary'
  | 'dropout'
  | 'crossEntropy';

/** Shape and dtype of a tensor, for shape rules that run without a GPU. */
export interface TensorMeta {
  readonly shape: Shape;
  readonly dtype: DType;
}

/** Values a forward pass keeps for its backward rule: typed per op, tensors retained automatically. */
export type Saved = { readonly [key: string]: Tensor | number | boolean | null | undefined | readonly number[] };

export interface OpDef<A, S extends Saved> {
  readonly name: OpName;
  /** When true the output is a view of input 0's storage (reshape) and forward launches nothing. */
  readonly aliasInput?: boolean;
  /** Output shape and dtype; throws ShapeError naming the shapes. Pure: no GPU work. */
  infer(inputs: readonly TensorMeta[], attrs: A): TensorMeta;
  /** Launches kernels that fill `out`; returns what backward needs. */
  forward(inputs: readonly Tensor[], attrs: A, out: Tensor): S;
  /** Gradients of the inputs, from ops, given the output's gradient. */
  backward(dy: Tensor, saved: S, attrs: A, needs: readonly boolean[]): readonly (Tensor | null)[];
}

/** A shape error: thrown before touching the GPU, message names the op and the shapes. */
export class ShapeError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'ShapeError';
  }
}

/** Formats input shapes for errors: "a [2, 3], b [4]". */
export function describe(inputs: readonly TensorMeta[], names: readonly string[]): string {
  return inputs.map((t, i) => `${names[i] ?? `input${i}`} ${fmtShape(t.shape)}`).join(', ');
}

/** Throws ShapeError unless every input's dtype is as listed. */
export function expectDtypes(op: string, inputs: readonly TensorMeta[], dtypes: readonly DType[]): void {
  dtypes.forEach((d, i) => {
    if (inputs[i] && inputs[i]!.dtype !== d) throw new ShapeError(op, `input ${i} must be ${d}, got ${inputs[i]!.dtype}`);
  });
}

/** Runs an op: shape rule, forward, and (when needed) a tape node. */
export function apply<A, S extends Saved>(def: OpDef<A, S>, inputs: readonly Tensor[], attrs: A): Tensor {
  for (const [i, x] of inputs.entries()) {
    if (x.isDisposed) throw new Error(`${def.name}: input ${i} (${x.toString()}) was disposed`);
  }
  const meta = def.infer(inputs, attrs);
  const out = def.aliasInput ? viewAs(inputs[0]!, meta.shape) : empty(meta.shape, meta.dtype, def.name);
  const saved = def.forward(inputs, attrs, out);
  const needs = inputs.map((x) => x.requiresGrad);
  const recording = isGradEnabled() && needs.some(Boolean);
  const owned = (t: Tensor) => t !== out && !inputs.includes(t);
  if (!recording) {
    for (const v of Object.values(saved)) if (v instanceof Tensor && owned(v)) v.dispose();
    return out;
  }
  // The tape holds aliases (sharing storage) so that a user's dispose() or a tidy scope cannot free
  // what backward needs.
  const aliases: Tensor[] = [];
  const kept = {} as Record<string, unknown>;
  for (const [k, v] of Object.entries(saved)) {
    if (v instanceof Tensor) {
      v.storage.retain();
      const alias = keep(new Tensor(v.shape, v.dtype, v.storage, `${def.name}.saved.${k}`));
      aliases.push(alias);
      kept[k] = alias;
      if (owned(v)) v.dispose();
    } else kept[k] = v;
  }
  out.requiresGrad = true;
  record({
    op: def.name,
    inputs,
    output: out,
    backward: (dy) => def.backward(dy, kept as S, attrs, needs),
    release: () => aliases.forEach((a) => a.dispose()),
  });
  return out;
}

/** Checks that a shape is well-formed (non-negative integers). */
export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, `invalid shape ${fmtShape(shape)}`);
  }
}
