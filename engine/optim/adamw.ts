/**
 * AdamW, as torch.optim.AdamW (amsgrad off, maximize off): decoupled weight decay, bias-corrected
 * moments, eps added after the square root of v-hat. One fused kernel per parameter
 * (shaders/adamw.wgsl) updates the parameter, m and v in place: a step allocates nothing on the GPU
 * and reads nothing back.
 *
 * State is per parameter, as in torch: m, v and a step count that advances only on steps where the
 * parameter has a gradient. It can be exported to host arrays (checkpoints) or GPU copies, and
 * loaded back; a resumed run then updates bit-identically to an uninterrupted one.
 */
import adamwWgsl from '../../shaders/adamw.wgsl';
import { rt } from '../context.js';
import { type KernelSpec, type ShaderModuleSpec, Uniforms } from '../kernel.js';
import { defaultWg, grid1d } from '../ops/grid.js';
import { fillInPlace } from '../ops/shape.js';
import { keep } from '../scope.js';
import { type Tensor, empty, fmtShape } from '../tensor.js';

/** The optimizer shader (AdamW update and gradient clipping). */
export const OPTIM_MODULE: ShaderModuleSpec = { name: 'adamw', code: adamwWgsl };

/** Hyperparameters other than the learning rate, which `step` takes. Defaults are torch's. */
export interface AdamWOptions {
  /** Default [0.9, 0.999]. */
  readonly betas?: readonly [number, number];
  /** Default 1e-8. */
  readonly eps?: number;
  /** Decoupled weight decay for parameters that do not set their own; default 0.01. */
  readonly weightDecay?: number;
}

/** A parameter with its own options, e.g. weightDecay 0 for biases and LayerNorm weights. */
export interface AdamWParam {
  readonly param: Tensor;
  readonly weightDecay?: number;
  /**
   * Multiplies the learning rate `step` is given, for this parameter (default 1): torch's param
   * groups with their own lr. Weight decay scales with it (lr * scale * weightDecay), as in torch.
   */
  readonly lrScale?: number;
}

/**
 * Optimizer state in parameter order. T is Float32Array (host copies, for checkpoint files) or
 * Tensor (GPU copies owned by the caller).
 */
export interface AdamWState<T extends Float32Array | Tensor = Float32Array> {
  /** Updates applied to each parameter so far (the t of the bias corrections). */
  readonly steps: readonly number[];
  /** First moments, shaped like the parameters. */
  readonly m: readonly T[];
  /** Second moments, shaped like the parameters. */
  readonly v: readonly T[];
}

const STEP_KERNEL = (): KernelSpec => ({
  module: OPTIM_MODULE,
  entry: 'adamw_step',
  bindings: ['uniform', 'read', 'rw', 'rw', 'rw'],
  constants: { WG: defaultWg() },
});

/**
 * The optimizer: `step(lr)` after backward (and clipping), then `zeroGrad()`. Construct it once;
 * m and v live on the GPU until `dispose()`.
 */
export class AdamW {
  /** The parameters, in the order of the state arrays. */
  readonly params: readonly Tensor[];
  private readonly weightDecay: readonly number[];
  private readonly lrScale: readonly number[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private readonly steps: number[];
  private disposed = false;

  constructor(params: readonly (Tensor | AdamWParam)[], options: AdamWOptions = {}) {
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    const eps = options.eps ?? 1e-8;
    const defaultDecay = options.weightDecay ?? 0.01;
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new Error(`AdamW: betas [${beta1}, ${beta2}] must be in [0, 1)`);
    if (!(eps >= 0)) throw new Error(`AdamW: eps ${eps} must be >= 0`);
    const entries = params.map((p) => ('param' in p ? p : { param: p }));
    this.params = entries.map((e) => e.param);
    this.weightDecay = entries.map((e) => e.weightDecay ?? defaultDecay);
    this.lrScale = entries.map((e) => e.lrScale ?? 1);
    this.params.forEach((p, i) => {
      if (p.dtype !== 'f32') throw new Error(`AdamW: parameter ${i} (${p.toString()}) is not f32`);
      if (this.params.indexOf(p) !== i) throw new Error(`AdamW: parameter ${i} (${p.toString()}) is listed twice`);
      if (!(this.weightDecay[i]! >= 0)) throw new Error(`AdamW: parameter ${i} has weight decay ${this.weightDecay[i]}`);
      if (!(this.lrScale[i]! > 0 && Number.isFinite(this.lrScale[i]!))) throw new Error(`AdamW: parameter ${i} has lr scale ${this.lrScale[i]}`);
    });
    [this.beta1, this.beta2, this.eps] = [beta1, beta2, eps];
    // Persistent state: kept out of any enclosing tidy scope, zero-filled on the GPU.
    const zeros = (p: Tensor, what: string) => {
      const t = keep(empty(p.shape, 'f32', `adamw.${what}(${p.label})`));
      fillInPlace(t, 0);
      return t;
    };
    this.m = this.params.map((p) => zeros(p, 'm'));
    this.v = this.params.map((p) => zeros(p, 'v'));
    this.steps = this.params.map(() => 0);
  }

  /** One update of every parameter that has a gradient, with learning rate lr (schedules live outside). */
  step(lr: number): void {
    this.checkAlive();
    if (!(lr >= 0 && Number.isFinite(lr))) throw new Error(`AdamW.step: learning rate ${lr} must be finite and >= 0`);
    const wg = defaultWg();
    this.params.forEach((p, i) => {
      const g = p.grad;
      if (!g) return;
      if (g.shape.join() !== p.shape.join()) {
        throw new Error(`AdamW.step: gradient ${fmtShape(g.shape)} does not match parameter ${i} ${fmtShape(p.shape)}`);
      }
      const t = ++this.steps[i]!;
      if (!p.size) return;
      const lri = lr * this.lrScale[i]!; // exactly lr when the scale is 1
      const u = new Uniforms()
        .u32(p.size)
        .f32(1 - lri * this.weightDecay[i]!, lri / (1 - this.beta1 ** t), Math.sqrt(1 - this.beta2 ** t))
        .f32(this.beta2, 1 - this.beta1, 1 - this.beta2, this.eps);
      rt().dispatch({
        kernel: STEP_KERNEL(),
        uniforms: u.finish(),
        buffers: [g.buffer, p.buffer, this.m[i]!.buffer, this.v[i]!.buffer],
        workgroups: grid1d(p.size, wg),
      });
    });
  }

  /** Drops every parameter's gradient (torch's set_to_none): the next backward starts from nothing. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The state as host arrays (a sync point), e.g. for a checkpoint file. */
  async exportState(): Promise<AdamWState<Float32Array>> {
    this.checkAlive();
    const m = await Promise.all(this.m.map((t) => t.f32()));
    const v = await Promise.all(this.v.map((t) => t.f32()));
    return { steps: [...this.steps], m, v };
  }

  /** The state as fresh GPU copies (no readback); the caller owns and disposes the tensors. */
  snapshotState(): AdamWState<Tensor> {
    this.checkAlive();
    const copy = (src: Tensor) => {
      const dst = empty(src.shape, 'f32', `${src.label}.copy`);
      if (src.size) rt().copy(src.buffer, 0, dst.buffer, 0, src.size * 4);
      return dst;
    };
    return { steps: [...this.steps], m: this.m.map(copy), v: this.v.map(copy) };
  }

  /** Replaces the state with an exported or snapshotted one (copied; the argument stays the caller's). */
  loadState(state: AdamWState<Float32Array | Tensor>): void {
    this.checkAlive();
    const n = this.params.length;
    if (state.steps.length !== n || state.m.length !== n || state.v.length !== n) {
      throw new Error(`AdamW.loadState: state for ${state.steps.length} parameters, optimizer has ${n}`);
    }
    const load = (dst: Tensor, src: Float32Array | Tensor, what: string) => {
      const size = src instanceof Float32Array ? src.length : src.size;
      if (size !== dst.size) throw new Error(`AdamW.loadState: ${what} has ${size} values, parameter has shape ${fmtShape(dst.shape)}`);
      if (!size) return;
      if (src instanceof Float32Array) rt().write(dst.buffer, src);
      else rt().copy(src.buffer, 0, dst.buffer, 0, size * 4);
    };
    for (let i = 0; i < n; i++) {
      const t = state.steps[i]!;
      if (!Number.isInteger(t) || t < 0) throw new Error(`AdamW.loadState: step count ${t} for parameter ${i}`);
      load(this.m[i]!, state.m[i]!, `m[${i}]`);
      load(this.v[i]!, state.v[i]!, `v[${i}]`);
      this.steps[i] = t;
    }
  }

  /** Frees m and v (the parameters and their gradients stay the caller's). */
  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('AdamW: used after dispose()');
  }
}
