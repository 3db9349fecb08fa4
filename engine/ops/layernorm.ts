/**
 * Layer normalisation over the last axis (shaders/layernorm.wgsl): x [..., D], gamma and beta [D],
 * biased variance as PyTorch. One fused forward kernel also writes per-row mean and rstd for the
 * backward; the backward is one row kernel for dx and a two-stage column reduction for dgamma and
 * dbeta (parallel over D and over chunks of rows).
 */
import layernormWgsl from '../../shaders/layernorm.wgsl';
import { rt } from '../context.js';
import { type BindingKind, type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { type Tensor, empty, fmtShape } from '../tensor.js';
import { defaultWg, grid1d } from './grid.js';
import { type OpDef, ShapeError, apply, expectDtypes } from './op.js';
import { rowLayout } from './softmax.js';

const MODULE: ShaderModuleSpec = { name: 'layernorm', code: layernormWgsl };

/**
 * Elements per invocation in the row kernels. Fewer invocations per row than softmax's 32 means fewer
 * levels of the barrier tree, which on lavapipe cost more than the longer loops: at D = 320 (4 per
 * row instead of 16) the forward took 12 ms of CPU instead of 18-26 for 2048 rows.
 */
const ELEMS_PER_INVOCATION = 128;

/** Fewest rows per chunk of the dgamma/dbeta column sums; below this a chunk is mostly overhead. */
const MIN_CHUNK = 16;

/** eps is added to the variance before the square root. */
export interface LayernormAttrs {
  readonly eps: number;
}
type LayernormSaved = { x: Tensor; gamma: Tensor; mean: Tensor; rstd: Tensor };

type Entry =
  | 'layernorm_forward'
  | 'layernorm_forward4'
  | 'layernorm_backward_x'
  | 'layernorm_backward_x4'
  | 'layernorm_param_partial'
  | 'layernorm_param_reduce';
const BINDINGS: Record<Entry, readonly BindingKind[]> = {
  layernorm_forward: ['uniform', 'read', 'read', 'read', 'rw', 'rw', 'rw'],
  layernorm_forward4: ['uniform', 'read', 'read', 'read', 'rw', 'rw', 'rw'],
  layernorm_backward_x: ['uniform', 'read', 'read', 'read', 'read', 'read', 'rw'],
  layernorm_backward_x4: ['uniform', 'read', 'read', 'read', 'read', 'read', 'rw'],
  layernorm_param_partial: ['uniform', 'read', 'read', 'read', 'read', 'rw'],
  layernorm_param_reduce: ['uniform', 'read', 'rw', 'rw'],
};

function kernel(entry: Entry): KernelSpec {
  return { module: MODULE, entry, bindings: BINDINGS[entry], constants: { WG: defaultWg() } };
}

/** Rows R and row length D of x [..., D]. */
function rowsOf(x: Tensor): [number, number] {
  const d = x.shape[x.rank - 1]!;
  return [x.size / d, d];
}

function rowUniforms(rows: number, d: number, tpr: number, eps: number): Uint8Array {
  return new Uniforms().u32(rows, d, tpr).f32(eps).finish();
}

/** Launches the two-stage column sums: dgamma = sum_r dy * xhat, dbeta = sum_r dy. */
function paramGrads(s: LayernormSaved, dy: Tensor): [Tensor, Tensor] {
  const [rows, d] = rowsOf(s.x);
  const wg = defaultWg();
  // ~sqrt(R) chunks of ~sqrt(R) rows balance the two stages (R = 8192: 91 chunks of 91 rows).
  const chunk = Math.max(MIN_CHUNK, Math.ceil(Math.sqrt(rows)));
  const chunks = Math.max(1, Math.ceil(rows / chunk));
  const columnGroups = Math.ceil(d / wg);
  if (columnGroups > rt().info.maxWorkgroupsPerDim) {
    throw new ShapeError('layernorm', `D = ${d} is too long for the parameter-gradient grid`);
  }
  const u = new Uniforms().u32(rows, d, chunk, chunks).finish();
  const partial = empty([2, chunks, d], 'f32', 'layernorm.partial');
  const dGamma = empty([d], 'f32', 'd_gamma');
  const dBeta = empty([d], 'f32', 'd_beta');
  rt().dispatch({
    kernel: kernel('layernorm_param_partial'),
    uniforms: u,
    buffers: [s.x.buffer, s.mean.buffer, s.rstd.buffer, dy.buffer, partial.buffer],
    workgroups: [columnGroups, chunks],
  });
  rt().dispatch({
    kernel: kernel('layernorm_param_reduce'),
    uniforms: u,
    buffers: [partial.buffer, dGamma.buffer, dBeta.buffer],
    workgroups: grid1d(d, wg),
  });
  partial.dispose();
  return [dGamma, dBeta];
}

const layernormOp: OpDef<LayernormAttrs, LayernormSaved> = {
  name: 'layernorm',
  infer(inputs, a) {
    const [x, gamma, beta] = inputs;
    if (inputs.length !== 3) throw new ShapeError('layernorm', `takes x, gamma and beta, got ${inputs.length} inputs`);
    expectDtypes('layernorm', inputs, ['f32', 'f32', 'f32']);
    const d = x!.shape[x!.shape.length - 1];
    if (d === undefined || d === 0) throw new ShapeError('layernorm', `x ${fmtShape(x!.shape)} has no last axis to normalise`);
    for (const [name, p] of [['gamma', gamma!], ['beta', beta!]] as const) {
      if (p.shape.length !== 1 || p.shape[0] !== d) {
        throw new ShapeError('layernorm', `${name} ${fmtShape(p.shape)} does not match x ${fmtShape(x!.shape)} last axis ${d}`);
      }
    }
    if (!(a.eps >= 0)) throw new ShapeError('layernorm', `eps must be >= 0, got ${a.eps}`);
    return { shape: x!.shape, dtype: 'f32' };
  },
  forward([x, gamma, beta], a, out) {
    const [rows, d] = rowsOf(x!);
    const mean = empty([rows], 'f32', 'layernorm.mean');
    const rstd = empty([rows], 'f32', 'layernorm.rstd');
    const { tpr, workgroups } = rowLayout(rows, d, ELEMS_PER_INVOCATION);
    if (rows) {
      rt().dispatch({
        // vec4 loads where D allows (every row then starts on a 16-byte boundary).
        kernel: kernel(d % 4 === 0 ? 'layernorm_forward4' : 'layernorm_forward'),
        uniforms: rowUniforms(rows, d, tpr, a.eps),
        buffers: [x!.buffer, gamma!.buffer, beta!.buffer, out.buffer, mean.buffer, rstd.buffer],
        workgroups,
      });
    }
    return { x: x!, gamma: gamma!, mean, rstd };
  },
  backward(dy, s, a, needs) {
    const [rows, d] = rowsOf(s.x);
    let dx: Tensor | null = null;
    if (needs[0]) {
      dx = empty(s.x.shape, 'f32', 'd_layernorm');
      const { tpr, workgroups } = rowLayout(rows, d, ELEMS_PER_INVOCATION);
      if (rows) {
        rt().dispatch({
          kernel: kernel(d % 4 === 0 ? 'layernorm_backward_x4' : 'layernorm_backward_x'),
          uniforms: rowUniforms(rows, d, tpr, a.eps),
          buffers: [s.x.buffer, s.gamma.buffer, s.mean.buffer, s.rstd.buffer, dy.buffer, dx.buffer],
          workgroups,
        });
      }
    }
    if (!needs[1] && !needs[2]) return [dx, null, null];
    const [dGamma, dBeta] = paramGrads(s, dy);
    if (!needs[1]) dGamma.dispose();
    if (!needs[2]) dBeta.dispose();
    return [dx, needs[1] ? dGamma : null, needs[2] ? dBeta : null];
  },
};

/** Registry entry (ops/registry.ts). */
export const layernormOps = { layernorm: layernormOp } as const;

/**
 * Layer normalisation over the last axis of x [..., D]: (x - mean) / sqrt(var + eps) * gamma + beta
 * with gamma, beta [D] and the biased variance (as PyTorch's nn.LayerNorm).
 */
export function layernorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  return apply(layernormOp, [x, gamma, beta], { eps });
}
