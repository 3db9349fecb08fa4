/**
 * ESM-2 on the engine: the forward pass of fair-esm's ESM2 (esm/model/esm2.py) built from engine ops,
 * so the same code runs inference, fine-tuning (gradients flow to every parameter) and neuron hooks.
 *
 * Axis letters: B batch, L tokens (with <cls>/<eos>), D model dim, H heads, Dh head dim, F FFN dim,
 * V vocabulary.
 */
import {
  add,
  attention,
  fusedAttentionSupported,
  fusedLinear,
  gather,
  gelu,
  isGradEnabled,
  keep,
  layernorm,
  linear,
  type LinearEpilogue,
  matmul,
  mul,
  permute,
  reshape,
  rotary,
  scale,
  softmax,
  type Tensor,
  tensor,
} from '../engine/index.js';
import type { EsmConfig } from './config.js';
import { type ParamMap, paramSpec } from './params.js';

/** The linear maps whose outputs are "neurons" (knowledge-neuron study), named alike everywhere. */
export const NEURON_MODULES = ['query', 'key', 'value', 'attn_out', 'ffn_in', 'ffn_out'] as const;
export type NeuronModule = (typeof NEURON_MODULES)[number];

/** Width of a module's output: D for the attention maps and ffn_out, F for ffn_in. */
export function moduleWidth(config: EsmConfig, m: NeuronModule): number {
  return m === 'ffn_in' ? config.ffnDim : config.embedDim;
}

/**
 * A hook sees each module output [B, L, W] and may return a replacement of the same shape (return
 * the argument to leave it). query is the q_proj output before the head_dim^-0.5 scaling; ffn_in is
 * after the GELU.
 */
export type NeuronHook = (layer: number, module: NeuronModule, out: Tensor) => Tensor;

/** A model on the GPU: its configuration and named parameters (fair-esm names). */
export interface EsmModel {
  readonly config: EsmConfig;
  readonly params: ReadonlyMap<string, Tensor>;
  /**
   * Per layer, the checkpoint's stored rotary inv_freq (ESM-2 keeps float16-rounded values, and
   * recomputing them shifts outputs); layers without one use fair-esm's float32 formula.
   */
  readonly invFreq: ReadonlyMap<number, readonly number[]>;
}

/**
 * Uploads host parameters (all of paramSpec, lm_head.weight tied to embed_tokens.weight). The contact
 * head may be absent (many checkpoints carry none): no GPU code reads it, contacts use the host copy.
 */
export function uploadModel(config: EsmConfig, host: ParamMap, requiresGrad = false): EsmModel {
  const params = new Map<string, Tensor>();
  const invFreq = new Map<number, readonly number[]>();
  for (const spec of paramSpec(config)) {
    if (spec.kind === 'rotary_buffer') {
      const stored = host.get(spec.name);
      const layerIndex = Number(/^layers\.(\d+)\./.exec(spec.name)?.[1]);
      if (stored) invFreq.set(layerIndex, Array.from(stored.data));
      continue;
    }
    if (spec.tiedTo) continue;
    const p = host.get(spec.name);
    if (!p && spec.name.startsWith('contact_head.')) continue;
    if (!p) throw new Error(`model parameters: missing ${spec.name}`);
    const t = keep(tensor(p.data, spec.shape, 'f32', spec.name));
    t.requiresGrad = requiresGrad;
    params.set(spec.name, t);
  }
  return { config, params, invFreq };
}

/** Releases a model's GPU memory. */
export function disposeModel(m: EsmModel): void {
  for (const t of m.params.values()) t.dispose();
}

/** Token-level inputs of one batch, prepared on the host. */
export interface EsmBatch {
  readonly B: number;
  readonly L: number;
  /** (B, L) i32 token ids. */
  readonly tokens: Tensor;
  /** (B, L, 1) f32 embedding multiplier: token-dropout rescaling, 0 at <mask> and <pad>. */
  readonly embedScale: Tensor;
  /** (B, L) f32 key mask for attention: 1 for real tokens, 0 for <pad>. */
  readonly keyMask: Tensor;
}

/**
 * Builds the batch tensors from host tokens (B, L). fair-esm applies token dropout's rescaling at
 * inference too: x *= (1 - 0.15*0.8) / (1 - observed <mask> share of the non-pad tokens).
 */
export function prepareBatch(config: EsmConfig, tokens: Int32Array, B: number, L: number): EsmBatch {
  if (tokens.length !== B * L) throw new Error(`prepareBatch: ${tokens.length} tokens for B=${B}, L=${L}`);
  const s = new Float32Array(B * L);
  const keyMask = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    let real = 0;
    let masked = 0;
    for (let l = 0; l < L; l++) {
      const t = tokens[b * L + l]!;
      if (t !== config.padIdx) real++;
      if (t === config.maskIdx) masked++;
    }
    const factor = config.tokenDropout ? (1 - config.maskRatioTrain) / (1 - (real ? masked / real : 0)) : 1;
    for (let l = 0; l < L; l++) {
      const t = tokens[b * L + l]!;
      const pad = t === config.padIdx;
      keyMask[b * L + l] = pad ? 0 : 1;
      s[b * L + l] = pad || (config.tokenDropout && t === config.maskIdx) ? 0 : factor;
    }
  }
  return {
    B,
    L,
    tokens: tensor(tokens, [B, L], 'i32', 'tokens'),
    embedScale: tensor(s, [B, L, 1], 'f32', 'embed_scale'),
    keyMask: tensor(keyMask, [B, L], 'f32', 'key_mask'),
  };
}

/** What a forward pass should return besides the final hidden state. */
export interface ForwardOptions {
  /** Hidden states to return: 0 = embeddings, numLayers = after emb_layer_norm_after. */
  readonly reprLayers?: readonly number[];
  /** Compute LM logits (B, L, V). */
  readonly logits?: boolean;
  /**
   * Keep attention probabilities (B, H, L, L) per layer (contacts need them). Runs the unfused
   * attention, which materialises them; otherwise the fused kernel (engine/ops/attention.ts) never does.
   */
  readonly attentions?: boolean;
  readonly hook?: NeuronHook;
  /**
   * Resume from a hidden state: run layers `layer`..end on `hidden` (B, L, D), the output of layer
   * `layer - 1` (0 = embeddings) from an earlier pass. Lets integrated gradients compute the layers
   * below a module once.
   */
  readonly from?: { readonly layer: number; readonly hidden: Tensor };
}

export interface ForwardResult {
  /** (B, L, D) after emb_layer_norm_after. */
  readonly last: Tensor;
  readonly hiddens: Map<number, Tensor>;
  readonly logits?: Tensor;
  readonly attentions?: Tensor[];
}

function p(m: EsmModel, name: string): Tensor {
  const t = m.params.get(name);
  if (!t) throw new Error(`model has no parameter ${name}`);
  return t;
}

/** A linear module's weight (out, in) and bias (out). */
function linearParams(m: EsmModel, module: string): [Tensor, Tensor] {
  return [p(m, `${module}.weight`), p(m, `${module}.bias`)];
}

/**
 * Splits heads: (B, L, D) -> (B, H, L, Dh). B is read from x, so a hook may widen one module to a
 * batch of m variants (integrated gradients) while the rest of the layer stays at batch 1 and
 * broadcasts.
 */
function heads(x: Tensor, L: number, H: number, Dh: number): Tensor {
  return permute(reshape(x, [x.shape[0]!, L, H, Dh]), [0, 2, 1, 3]);
}

/** The key mask for a batch of `rows`: the batch's own, or its single row repeated (hook-widened batch). */
function keyMaskFor(batch: EsmBatch, rows: number): Tensor {
  if (rows === batch.B) return batch.keyMask;
  if (batch.B !== 1) throw new Error(`a hook widened batch ${batch.B} to ${rows}; only batch 1 may be widened`);
  return reshape(matmul(ones(rows), batch.keyMask), [rows, batch.L]); // (rows, L)
}

function ones(rows: number): Tensor {
  return tensor(new Float32Array(rows).fill(1), [rows, 1], 'f32', 'ones');
}

/** Batch of attention output: the wider of probs and values. */
function ctx0(probs: Tensor, vh: Tensor): number {
  return Math.max(probs.shape[0]!, vh.shape[0]!);
}

/**
 * Attention from separate ops, materialising the probabilities (B', H, L, L): used when a caller wants
 * them (`attentions`, pushed to attn) or the fused kernels do not serve this device or head dim.
 */
function unfusedAttention(q: Tensor, k: Tensor, v: Tensor, batch: EsmBatch, H: number, Dh: number, invFreq: readonly number[] | undefined, attn: Tensor[] | null): Tensor {
  const { L } = batch;
  const qh = rotary(heads(scale(q, Dh ** -0.5), L, H, Dh), invFreq); // (B, H, L, Dh)
  const kh = rotary(heads(k, L, H, Dh), invFreq); // (B, H, L, Dh)
  const vh = heads(v, L, H, Dh); // (B, H, L, Dh)
  const scores = matmul(qh, kh, { transB: true }); // (B', H, L, L), B' = B or a hook's wider batch
  const probs = softmax(scores, keyMaskFor(batch, scores.shape[0]!)); // (B', H, L, L), <pad> keys get 0
  if (attn) attn.push(keep(probs));
  return reshape(permute(matmul(probs, vh), [0, 2, 1, 3]), [ctx0(probs, vh), L, H * Dh]); // (B', L, D)
}

/** The key mask for fused attention at batch `rows`: the batch's own; batch 1's broadcasts. */
function fusedMask(batch: EsmBatch, rows: number): Tensor {
  if (rows !== batch.B && batch.B !== 1) throw new Error(`a hook widened batch ${batch.B} to ${rows}; only batch 1 may be widened`);
  return batch.keyMask;
}

/** One pre-LayerNorm transformer layer (fair-esm TransformerLayer). */
function layer(m: EsmModel, i: number, x: Tensor, batch: EsmBatch, opts: ForwardOptions, attn: Tensor[] | null): Tensor {
  const { attentionHeads: H, headDim: Dh, layerNormEps: eps } = m.config;
  const pre = `layers.${i}`;
  const hook = opts.hook ?? ((_l: number, _m: NeuronModule, t: Tensor) => t);
  const lin = (x: Tensor, name: string) => linear(x, ...linearParams(m, `${pre}.${name}`));
  const fused = (x: Tensor, name: string, epi: LinearEpilogue) => fusedLinear(x, ...linearParams(m, `${pre}.${name}`), epi);

  const h = layernorm(x, p(m, `${pre}.self_attn_layer_norm.weight`), p(m, `${pre}.self_attn_layer_norm.bias`), eps); // (B, L, D)
  const q = hook(i, 'query', lin(h, 'self_attn.q_proj')); // (B, L, D)
  const k = hook(i, 'key', lin(h, 'self_attn.k_proj')); // (B, L, D)
  const v = hook(i, 'value', lin(h, 'self_attn.v_proj')); // (B, L, D)
  // fair-esm scales q by Dh^-0.5 and then rotates q and k; both paths do the same.
  const invFreq = m.invFreq.get(i);
  const rows = Math.max(q.shape[0]!, k.shape[0]!, v.shape[0]!); // B', wider than B when a hook widened one
  const ctx = attn || !fusedAttentionSupported(Dh)
    ? unfusedAttention(q, k, v, batch, H, Dh, invFreq, attn)
    : attention(q, k, v, H, { scale: Dh ** -0.5, invFreq, mask: fusedMask(batch, rows) }); // (B', L, D)
  // Without a tape the inference-only fused epilogues apply (the residual one only without a hook,
  // which must see the projection before the residual is added).
  const fuse = !isGradEnabled();
  const x1 = fuse && !opts.hook
    ? fused(ctx, 'self_attn.out_proj', { residual: x }) // (B, L, D)
    : add(x, hook(i, 'attn_out', lin(ctx, 'self_attn.out_proj'))); // (B, L, D)

  const h2 = layernorm(x1, p(m, `${pre}.final_layer_norm.weight`), p(m, `${pre}.final_layer_norm.bias`), eps); // (B, L, D)
  const f = hook(i, 'ffn_in', fuse ? fused(h2, 'fc1', { gelu: true }) : gelu(lin(h2, 'fc1'))); // (B, L, F)
  return fuse && !opts.hook
    ? fused(f, 'fc2', { residual: x1 }) // (B, L, D)
    : add(x1, hook(i, 'ffn_out', lin(f, 'fc2'))); // (B, L, D)
}

/**
 * The ESM-2 forward. Call inside `tidy` (results you keep are returned from it) and inside `noGrad`
 * for inference, which also fuses GELU and the residual adds into the linear layers' kernels. Hidden
 * state 0 is the scaled embedding, as fair-esm's representations[0].
 */
export function esmForward(m: EsmModel, batch: EsmBatch, opts: ForwardOptions = {}): ForwardResult {
  const c = m.config;
  const want = new Set(opts.reprLayers ?? []);
  const hiddens = new Map<number, Tensor>();
  const attn = opts.attentions ? [] : null;
  // (B, L, D): embedding, token-dropout rescale, <pad> rows zeroed.
  const start = opts.from?.layer ?? 0;
  let x = opts.from ? opts.from.hidden : mul(gather(p(m, 'embed_tokens.weight'), batch.tokens), batch.embedScale);
  if (want.has(0) && start === 0) hiddens.set(0, x);
  for (let i = start; i < c.numLayers; i++) {
    x = layer(m, i, x, batch, opts, attn);
    if (want.has(i + 1) && i + 1 < c.numLayers) hiddens.set(i + 1, x);
  }
  const last = layernorm(x, p(m, 'emb_layer_norm_after.weight'), p(m, 'emb_layer_norm_after.bias'), c.layerNormEps);
  if (want.has(c.numLayers)) hiddens.set(c.numLayers, last);
  let logits: Tensor | undefined;
  if (opts.logits) {
    // RobertaLMHead: dense -> gelu -> layer_norm -> tied embedding + bias.
    const dense = linearParams(m, 'lm_head.dense');
    const h = isGradEnabled() ? gelu(linear(last, ...dense)) : fusedLinear(last, ...dense, { gelu: true }); // (B, L, D)
    const n = layernorm(h, p(m, 'lm_head.layer_norm.weight'), p(m, 'lm_head.layer_norm.bias'), c.layerNormEps);
    logits = linear(n, p(m, 'embed_tokens.weight'), p(m, 'lm_head.bias')); // (B, L, V)
  }
  return { last, hiddens, logits, attentions: attn ?? undefined };
}
