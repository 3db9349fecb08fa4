/**
 * Global gradient-norm clipping, as torch.nn.utils.clip_grad_norm_ (L2, error_if_nonfinite off),
 * entirely on the GPU (kernels in shaders/adamw.wgsl): the norm is reduced into a one-element
 * buffer that the scaling kernel reads, so a training step needs no readback for it.
 */
import { rt } from '../context.js';
import { type KernelSpec, Uniforms } from '../kernel.js';
import { defaultWg, grid1d } from '../ops/grid.js';
import { filled } from '../ops/shape.js';
import { type Tensor, empty } from '../tensor.js';
import { OPTIM_MODULE } from './adamw.js';

/** Most partial sums (workgroups) per gradient: enough to fill a GPU, few enough to finish in one workgroup. */
const MAX_SLOTS = 256;

function kernel(entry: 'sumsq_partial' | 'norm_finish' | 'clip_scale'): KernelSpec {
  return { module: OPTIM_MODULE, entry, bindings: ['uniform', 'read', 'rw'], constants: { WG: defaultWg() } };
}

/**
 * Scales every parameter's gradient in place by min(1, maxNorm / (norm + 1e-6)), where norm is the
 * L2 norm of all gradients together; parameters without a gradient are skipped. Returns the norm
 * (before clipping) as a scalar tensor owned by the caller, readable later without forcing a sync now.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): Tensor {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm ${maxNorm} must be > 0`);
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null && g.size > 0);
  if (!grads.length) return filled([], 0);
  const wg = defaultWg();
  const slots = grads.map((g) => Math.min(MAX_SLOTS, Math.ceil(g.size / wg)));
  const total = slots.reduce((a, b) => a + b, 0);
  const partials = empty([total], 'f32', 'clip.partials'); // (S) per-workgroup sums of g^2
  const norm = empty([], 'f32', 'grad_norm'); // () global L2 norm
  let slot = 0;
  grads.forEach((g, i) => {
    rt().dispatch({
      kernel: kernel('sumsq_partial'),
      uniforms: new Uniforms().u32(g.size, slot, slots[i]!, 0).finish(),
      buffers: [g.buffer, partials.buffer],
      workgroups: [slots[i]!],
    });
    slot += slots[i]!;
  });
  rt().dispatch({
    kernel: kernel('norm_finish'),
    uniforms: new Uniforms().u32(total).f32(maxNorm).finish(),
    buffers: [partials.buffer, norm.buffer],
    workgroups: [1],
  });
  for (const g of grads) {
    rt().dispatch({
      kernel: kernel('clip_scale'),
      uniforms: new Uniforms().u32(g.size).f32(maxNorm).finish(),
      buffers: [norm.buffer, g.buffer],
      workgroups: grid1d(g.size, wg),
    });
  }
  partials.dispose();
  return norm;
}
