/**
 * Float64 CPU reference of the full ESM-2 forward: the oracle the GPU model is tested against layer by layer.
 * It follows fair-esm's ESM2.forward (esm/model/esm2.py), TransformerLayer (esm/modules.py) and
 * MultiheadAttention with rotary embeddings (esm/multihead_attention.py, esm/rotary_embedding.py) step by
 * step, in plain loops. Where fair-esm computes in float32 (softmax, the rotary table) this computes in
 * float64, except for the rotary angles, which are rounded to float32 by default because that rounding is
 * visible in the outputs.
 *
 * Linear outputs can be observed and edited through a hook, for integrated gradients and ablations:
 *   query, key, value  (B, L, D)  q_proj / k_proj / v_proj outputs, before query scaling and rotary
 *   attn_out           (B, L, D)  out_proj output, before the residual add
 *   ffn_in             (B, L, F)  gelu(fc1(x)), the input of fc2 (the FFN "neurons")
 *   ffn_out            (B, L, D)  fc2 output, before the residual add
 */
import type { EsmConfig } from '../config.js';
import { type ParamMap, rotaryInvFreq } from '../params.js';
import { refContactHead } from './contact.js';
import { applyRotary, geluInPlace, layerNorm, linear, maskedSoftmaxInPlace, param, type RotaryAngles, rotaryTables } from './ops.js';

/** The hookable linear outputs of a layer. */
export type LinearModule = 'query' | 'key' | 'value' | 'attn_out' | 'ffn_in' | 'ffn_out';

/** Every hookable module, in forward order. */
export const LINEAR_MODULES: readonly LinearModule[] = ['query', 'key', 'value', 'attn_out', 'ffn_in', 'ffn_out'];

/**
 * Called with each linear output right after it is computed; may modify `values` in place, and the forward
 * continues with the modified values. shape is [B, L, D] or [B, L, F] (ffn_in).
 */
export type NeuronHook = (layer: number, module: LinearModule, values: Float64Array, shape: readonly [number, number, number]) => void;

/** One layer's linear outputs, after any hook edits. */
export interface LayerLinears {
  readonly query: Float64Array; // (B, L, D)
  readonly key: Float64Array; // (B, L, D)
  readonly value: Float64Array; // (B, L, D)
  readonly attnOut: Float64Array; // (B, L, D)
  readonly ffnIn: Float64Array; // (B, L, F)
  readonly ffnOut: Float64Array; // (B, L, D)
}

/** Options of refEsmForward. */
export interface RefForwardOptions {
  /** Return per-head attention probabilities (fair-esm need_head_weights). */
  needHeadWeights?: boolean;
  /** Return contact probabilities; implies needHeadWeights, as in fair-esm. */
  returnContacts?: boolean;
  /** Which of hiddens 0..numLayers to keep (fair-esm repr_layers); all when absent. */
  reprLayers?: readonly number[];
  /** Keep every layer's linear outputs (memory: layers * B * L * (5D + F) doubles). */
  returnLinears?: boolean;
  /** Observe or edit linear outputs. */
  hook?: NeuronHook;
  /** Rotary angle precision; 'float32' (default) as fair-esm. */
  rotaryAngles?: RotaryAngles;
}

/** What refEsmForward returns. */
export interface RefForwardResult {
  readonly B: number;
  readonly L: number;
  /** (B, L, V) */
  readonly logits: Float64Array;
  /**
   * numLayers + 1 entries of (B, L, D), as fair-esm's `representations`: 0 is the embedding after token-dropout
   * scaling and pad zeroing, i is layer i's output, numLayers is after emb_layer_norm_after. Entries not
   * in reprLayers are undefined.
   */
  readonly hiddens: (Float64Array | undefined)[];
  /** (B, layers, H, L, L), zero on every row and column of a pad position (when asked). */
  readonly attentions?: Float64Array;
  /** (B, L-2, L-2) contact probabilities without cls and the last position (when asked). */
  readonly contacts?: Float64Array;
  /** Per-layer linear outputs (when returnLinears). */
  readonly linears?: LayerLinears[];
}

function checkTokens(config: EsmConfig, tokens: Int32Array, B: number, L: number): void {
  if (!(Number.isInteger(B) && Number.isInteger(L) && B > 0 && L > 0) || tokens.length !== B * L) {
    throw new Error(`ref: ${tokens.length} tokens for shape [${B}, ${L}]`);
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t < 0 || t >= config.vocabSize) throw new Error(`ref: token ${t} at [${Math.floor(i / L)}, ${i % L}] is outside [0, ${config.vocabSize})`);
  }
}

/**
 * Embedding as ESM2.forward builds it: x = embed_tokens(tokens) (embed_scale 1); with token dropout, <mask>
 * rows are zeroed and every row scaled by (1 - 0.15 * 0.8) / (1 - masks / non-pad tokens) of its sequence
 * (at inference too, so a sequence without masks is scaled by 0.88); finally pad rows are zeroed.
 * tokens (B, L) -> (B, L, D).
 */
export function refEmbed(config: EsmConfig, params: ParamMap, tokens: Int32Array, B: number, L: number): Float64Array {
  checkTokens(config, tokens, B, L);
  const { embedDim: D, vocabSize: V, padIdx, maskIdx } = config;
  const E = param(params, 'embed_tokens.weight', [V, D]); // (V, D)
  const x = new Float64Array(B * L * D); // (B, L, D)
  for (let b = 0; b < B; b++) {
    let nonPad = 0;
    let masks = 0;
    for (let t = 0; t < L; t++) {
      const tok = tokens[b * L + t]!;
      if (tok !== padIdx) nonPad++;
      if (tok === maskIdx) masks++;
    }
    if (nonPad === 0) throw new Error(`ref: sequence ${b} is all padding`);
    // fair-esm divides by (1 - observed ratio): a sequence of nothing but <mask> would divide by zero.
    if (config.tokenDropout && masks === nonPad) throw new Error(`ref: sequence ${b} is all <mask>; token dropout would divide by zero`);
    const scale = config.tokenDropout ? (1 - config.maskRatioTrain) / (1 - masks / nonPad) : 1;
    for (let t = 0; t < L; t++) {
      const tok = tokens[b * L + t]!;
      const zero = tok === padIdx || (config.tokenDropout && tok === maskIdx);
      for (let d = 0; d < D; d++) x[(b * L + t) * D + d] = zero ? 0 : E[tok * D + d]! * scale;
    }
  }
  return x;
}

/** Options of one layer. */
export interface RefLayerOptions {
  hook?: NeuronHook;
  rotaryAngles?: RotaryAngles;
  /** Receives the layer's linear outputs. */
  linears?: (l: LayerLinears) => void;
}

/**
 * One TransformerLayer: x + out_proj(attn(LN(x))), then x + fc2(gelu(fc1(LN(x)))). The query is scaled by
 * Dh^-0.5 before rotary (MultiheadAttention: `q *= self.scaling`, then rot_emb(q, k)); keys at pad positions
 * get -inf logits. Pad positions are still computed as queries, as in fair-esm.
 * x (B, L, D) -> { x (B, L, D), attn (B, H, L, L) }.
 */
export function refLayer(config: EsmConfig, params: ParamMap, layer: number, xIn: Float64Array, tokens: Int32Array, B: number, L: number, opts: RefLayerOptions = {}): { x: Float64Array; attn: Float64Array } {
  const { embedDim: D, ffnDim: F, attentionHeads: H, headDim: Dh, layerNormEps: eps } = config;
  const N = B * L;
  if (tokens.length !== N || xIn.length !== N * D) throw new Error(`ref layer ${layer}: ${tokens.length} tokens and ${xIn.length} values for [${B}, ${L}, ${D}]`);
  const p = `layers.${layer}.`;
  const w = (name: string, shape: readonly number[]): ArrayLike<number> => param(params, p + name, shape);
  const hook = (m: LinearModule, v: Float64Array, width: number): Float64Array => {
    opts.hook?.(layer, m, v, [B, L, width]);
    return v;
  };
  const pad = Array.from(tokens, (t) => t === config.padIdx); // (B, L)

  // --- self-attention block ---
  const h = layerNorm(xIn, N, D, w('self_attn_layer_norm.weight', [D]), w('self_attn_layer_norm.bias', [D]), eps); // (B, L, D)
  const q = hook('query', linear(h, N, D, w('self_attn.q_proj.weight', [D, D]), w('self_attn.q_proj.bias', [D]), D), D); // (B, L, D)
  const k = hook('key', linear(h, N, D, w('self_attn.k_proj.weight', [D, D]), w('self_attn.k_proj.bias', [D]), D), D); // (B, L, D)
  const v = hook('value', linear(h, N, D, w('self_attn.v_proj.weight', [D, D]), w('self_attn.v_proj.bias', [D]), D), D); // (B, L, D)
  const invFreq = params.get(p + 'self_attn.rot_emb.inv_freq')?.data ?? rotaryInvFreq(Dh, config.rotaryBase);
  if (invFreq.length !== Dh / 2) throw new Error(`ref: ${p}self_attn.rot_emb.inv_freq has ${invFreq.length} values, expected ${Dh / 2}`);
  const tab = rotaryTables(L, invFreq, opts.rotaryAngles ?? 'float32');
  const qr = q.map((val) => val * Dh ** -0.5); // (B, L, D) scaled, then rotated per head
  const kr = k.slice(); // (B, L, D)
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      for (let hh = 0; hh < H; hh++) {
        applyRotary(qr, (b * L + t) * D + hh * Dh, t, tab);
        applyRotary(kr, (b * L + t) * D + hh * Dh, t, tab);
      }
    }
  }
  const attn = new Float64Array(B * H * L * L); // (B, H, L, L)
  const ctx = new Float64Array(N * D); // (B, L, H * Dh)
  const row = new Float64Array(L); // (L) logits of one query
  for (let b = 0; b < B; b++) {
    const keyPad = pad.slice(b * L, (b + 1) * L);
    for (let hh = 0; hh < H; hh++) {
      for (let i = 0; i < L; i++) {
        const qo = (b * L + i) * D + hh * Dh;
        for (let j = 0; j < L; j++) {
          const ko = (b * L + j) * D + hh * Dh;
          let s = 0;
          for (let d = 0; d < Dh; d++) s += qr[qo + d]! * kr[ko + d]!;
          row[j] = s;
        }
        maskedSoftmaxInPlace(row, keyPad);
        attn.set(row, ((b * H + hh) * L + i) * L);
        for (let j = 0; j < L; j++) {
          const vo = (b * L + j) * D + hh * Dh;
          for (let d = 0; d < Dh; d++) ctx[qo + d] += row[j]! * v[vo + d]!;
        }
      }
    }
  }
  const attnOut = hook('attn_out', linear(ctx, N, D, w('self_attn.out_proj.weight', [D, D]), w('self_attn.out_proj.bias', [D]), D), D); // (B, L, D)
  const x = new Float64Array(N * D); // (B, L, D) residual stream
  for (let i = 0; i < x.length; i++) x[i] = xIn[i]! + attnOut[i]!;

  // --- feed-forward block ---
  const h2 = layerNorm(x, N, D, w('final_layer_norm.weight', [D]), w('final_layer_norm.bias', [D]), eps); // (B, L, D)
  const ffnIn = hook('ffn_in', geluInPlace(linear(h2, N, D, w('fc1.weight', [F, D]), w('fc1.bias', [F]), F)), F); // (B, L, F)
  const ffnOut = hook('ffn_out', linear(ffnIn, N, F, w('fc2.weight', [D, F]), w('fc2.bias', [D]), D), D); // (B, L, D)
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + ffnOut[i]!;

  opts.linears?.({ query: q, key: k, value: v, attnOut, ffnIn, ffnOut });
  return { x, attn };
}

/** emb_layer_norm_after. x (B * L, D) -> (B * L, D). */
export function refFinalNorm(config: EsmConfig, params: ParamMap, x: Float64Array): Float64Array {
  const D = config.embedDim;
  return layerNorm(x, x.length / D, D, param(params, 'emb_layer_norm_after.weight', [D]), param(params, 'emb_layer_norm_after.bias', [D]), config.layerNormEps);
}

/**
 * RobertaLMHead: layer_norm(gelu(dense(x))) @ embed_tokens.weight^T + bias; the output projection is the
 * tied embedding. x (B * L, D) -> (B * L, V).
 */
export function refLmHead(config: EsmConfig, params: ParamMap, x: Float64Array): Float64Array {
  const { embedDim: D, vocabSize: V } = config;
  const N = x.length / D;
  const h = geluInPlace(linear(x, N, D, param(params, 'lm_head.dense.weight', [D, D]), param(params, 'lm_head.dense.bias', [D]), D)); // (N, D)
  const n = layerNorm(h, N, D, param(params, 'lm_head.layer_norm.weight', [D]), param(params, 'lm_head.layer_norm.bias', [D]), config.layerNormEps); // (N, D)
  return linear(n, N, D, param(params, 'embed_tokens.weight', [V, D]), param(params, 'lm_head.bias', [V]), V); // (N, V)
}

/**
 * The full ESM-2 forward of fair-esm's ESM2.forward. tokens (B, L) row-major with shape [B, L]; every
 * sequence must hold at least one non-pad token (and, with token dropout, one that is not <mask>).
 */
export function refEsmForward(config: EsmConfig, params: ParamMap, tokens: Int32Array, shape: readonly [number, number], opts: RefForwardOptions = {}): RefForwardResult {
  const [B, L] = shape;
  const { numLayers, attentionHeads: H } = config;
  const needAttn = opts.needHeadWeights === true || opts.returnContacts === true;
  const keep = new Set(opts.reprLayers ?? Array.from({ length: numLayers + 1 }, (_, i) => i));
  for (const r of keep) if (!(Number.isInteger(r) && r >= 0 && r <= numLayers)) throw new Error(`ref: repr layer ${r} outside [0, ${numLayers}]`);
  const hiddens: (Float64Array | undefined)[] = new Array<Float64Array | undefined>(numLayers + 1).fill(undefined);
  const linears: LayerLinears[] | undefined = opts.returnLinears ? [] : undefined;
  const attentions = needAttn ? new Float64Array(B * numLayers * H * L * L) : undefined; // (B, layers, H, L, L)

  let x = refEmbed(config, params, tokens, B, L); // (B, L, D)
  if (keep.has(0)) hiddens[0] = x.slice();
  for (let l = 0; l < numLayers; l++) {
    const out = refLayer(config, params, l, x, tokens, B, L, {
      hook: opts.hook,
      rotaryAngles: opts.rotaryAngles,
      linears: linears ? (ll) => linears.push(ll) : undefined,
    });
    x = out.x;
    if (l + 1 < numLayers && keep.has(l + 1)) hiddens[l + 1] = x.slice();
    if (attentions) {
      for (let b = 0; b < B; b++) attentions.set(out.attn.subarray(b * H * L * L, (b + 1) * H * L * L), ((b * numLayers + l) * H) * L * L);
    }
  }
  x = refFinalNorm(config, params, x); // (B, L, D)
  if (keep.has(numLayers)) hiddens[numLayers] = x;
  const logits = refLmHead(config, params, x); // (B, L, V)

  if (attentions) {
    // ESM2.forward multiplies the stacked attentions by (1 - pad_i)(1 - pad_j): pad queries' rows, which
    // hold real probabilities, become zero too (pad key columns already are).
    const pad = Array.from(tokens, (t) => t === config.padIdx);
    for (let b = 0; b < B; b++) {
      for (let lh = 0; lh < numLayers * H; lh++) {
        for (let i = 0; i < L; i++) {
          for (let j = 0; j < L; j++) {
            if (pad[b * L + i] || pad[b * L + j]) attentions[((b * numLayers * H + lh) * L + i) * L + j] = 0;
          }
        }
      }
    }
  }
  const contacts = opts.returnContacts && attentions ? refContactHead(config, params, tokens, [B, L], attentions) : undefined;
  return { B, L, logits, hiddens, attentions, contacts, linears };
}

/** One edit of a neuron (an index along the last axis of a linear output). */
export interface NeuronEdit {
  readonly layer: number;
  readonly module: LinearModule;
  readonly neuron: number;
  /** Sequence positions to edit; every position when absent. */
  readonly positions?: readonly number[];
  /** Multiply by this (one factor, or one per batch row, e.g. integrated-gradient steps). */
  readonly scale?: number | readonly number[];
  /** Replace by this value (applied instead of scale). */
  readonly set?: number;
}

/** A hook applying neuron edits: scaling or replacing chosen neurons at chosen positions. */
export function neuronEditHook(edits: readonly NeuronEdit[]): NeuronHook {
  return (layer, module, values, [B, L, W]) => {
    for (const e of edits) {
      if (e.layer !== layer || e.module !== module) continue;
      if (!(Number.isInteger(e.neuron) && e.neuron >= 0 && e.neuron < W)) throw new Error(`neuron edit: neuron ${e.neuron} outside [0, ${W}) of layer ${layer} ${module}`);
      if (Array.isArray(e.scale) && e.scale.length !== B) throw new Error(`neuron edit: ${e.scale.length} scales for batch ${B}`);
      if (e.set === undefined && e.scale === undefined) throw new Error('neuron edit: neither scale nor set given');
      const positions = e.positions ?? Array.from({ length: L }, (_, t) => t);
      for (let b = 0; b < B; b++) {
        const s = e.scale === undefined ? 1 : typeof e.scale === 'number' ? e.scale : e.scale[b]!;
        for (const t of positions) {
          if (!(Number.isInteger(t) && t >= 0 && t < L)) throw new Error(`neuron edit: position ${t} outside [0, ${L})`);
          const i = (b * L + t) * W + e.neuron;
          values[i] = e.set ?? values[i]! * s;
        }
      }
    }
  };
}
