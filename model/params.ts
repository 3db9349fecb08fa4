/**
 * The canonical ESM-2 parameter list: fair-esm's state-dict names after esm/pretrained.py strips the
 * `encoder.sentence_encoder.` / `encoder.` prefixes, with shapes, a name map from Hugging Face checkpoints,
 * one-error validation of a checkpoint's tensors, and seeded initialisation.
 *
 * Tied output projection: fair-esm's RobertaLMHead holds `weight=self.embed_tokens.weight` (esm/model/esm2.py),
 * so its state dict lists the one tensor twice, as `embed_tokens.weight` and `lm_head.weight`. Here
 * `lm_head.weight` is a spec entry with `tiedTo: 'embed_tokens.weight'`: optional in a checkpoint (checked for
 * shape when present), never created by initParams, counted once, and the forward reads embed_tokens.weight.
 *
 * Rotary buffers: each layer's `self_attn.rot_emb.inv_freq` [Dh/2] is a persistent buffer, not a parameter.
 * The published checkpoints carry it float16-rounded (the model was trained in float16), and transformers'
 * convert_esm.py copies it rather than recomputing it because recomputed values change the outputs visibly.
 * So it is an optional spec entry: used when a checkpoint has it, recomputed (float32, as fair-esm does at
 * construction) when not.
 */
import { gaussian, rng } from '../engine/index.js';
import type { EsmConfig } from './config.js';

/** What a tensor is, which decides its initialisation and whether it counts as a parameter. */
export type ParamKind = 'embedding' | 'linear_weight' | 'bias' | 'norm_weight' | 'norm_bias' | 'rotary_buffer';

/** One named tensor of the model. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: ParamKind;
  /** The tensor this one aliases (only lm_head.weight -> embed_tokens.weight). */
  readonly tiedTo?: string;
}

/** A tensor's values with its row-major shape; float32 from checkpoints, float64 allowed for the reference. */
export interface ParamTensor<A extends Float32Array | Float64Array = Float32Array | Float64Array> {
  readonly shape: readonly number[];
  readonly data: A;
}

/** Named tensors, keyed by canonical name. */
export type ParamMap = ReadonlyMap<string, ParamTensor>;

/** Every tensor of a model, in fair-esm's state-dict order. */
export function paramSpec(config: EsmConfig): ParamSpec[] {
  const { vocabSize: V, embedDim: D, ffnDim: F, headDim: Dh, numLayers, attentionHeads: H } = config;
  const out: ParamSpec[] = [];
  const linear = (name: string, outDim: number, inDim: number): void => {
    out.push({ name: `${name}.weight`, shape: [outDim, inDim], kind: 'linear_weight' });
    out.push({ name: `${name}.bias`, shape: [outDim], kind: 'bias' });
  };
  const norm = (name: string): void => {
    out.push({ name: `${name}.weight`, shape: [D], kind: 'norm_weight' });
    out.push({ name: `${name}.bias`, shape: [D], kind: 'norm_bias' });
  };
  out.push({ name: 'embed_tokens.weight', shape: [V, D], kind: 'embedding' });
  for (let i = 0; i < numLayers; i++) {
    const p = `layers.${i}`;
    linear(`${p}.self_attn.k_proj`, D, D); // (D, D)
    linear(`${p}.self_attn.v_proj`, D, D); // (D, D)
    linear(`${p}.self_attn.q_proj`, D, D); // (D, D)
    linear(`${p}.self_attn.out_proj`, D, D); // (D, D)
    out.push({ name: `${p}.self_attn.rot_emb.inv_freq`, shape: [Dh / 2], kind: 'rotary_buffer' });
    norm(`${p}.self_attn_layer_norm`);
    linear(`${p}.fc1`, F, D); // (F, D)
    linear(`${p}.fc2`, D, F); // (D, F)
    norm(`${p}.final_layer_norm`);
  }
  norm('emb_layer_norm_after');
  linear('lm_head.dense', D, D);
  norm('lm_head.layer_norm');
  out.push({ name: 'lm_head.weight', shape: [V, D], kind: 'embedding', tiedTo: 'embed_tokens.weight' });
  out.push({ name: 'lm_head.bias', shape: [V], kind: 'bias' });
  linear('contact_head.regression', 1, numLayers * H); // (1, layers * H)
  return out;
}

/** Trainable parameter count: buffers excluded, tied tensors counted once (as fair-esm's model.parameters()). */
export function countParams(spec: readonly ParamSpec[]): number {
  let n = 0;
  for (const p of spec) if (p.kind !== 'rotary_buffer' && !p.tiedTo) n += numel(p.shape);
  return n;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** Options for validateParams. */
export interface ValidateOptions {
  /** Prefix of the error message, e.g. 'checkpoint esm2.pt'. */
  source?: string;
  /** fair-esm loads without contact_head.regression.* (with a warning) when the regression file is absent. */
  allowMissingContactHead?: boolean;
}

/**
 * Checks a checkpoint's tensor names and shapes against the spec and throws one error naming every missing,
 * unexpected and misshaped tensor, e.g. "checkpoint esm2.pt: missing layers.3.fc1.bias; layers.0.self_attn.
 * k_proj.weight has shape [320, 321], expected [320, 320]". Tied tensors and rotary buffers may be absent.
 */
export function validateParams(spec: readonly ParamSpec[], provided: ReadonlyMap<string, readonly number[]>, opts: ValidateOptions = {}): void {
  const missing: string[] = [];
  const misshaped: string[] = [];
  const known = new Set<string>();
  for (const p of spec) {
    known.add(p.name);
    const shape = provided.get(p.name);
    if (shape === undefined) {
      const optional = p.tiedTo !== undefined || p.kind === 'rotary_buffer' ||
        (opts.allowMissingContactHead === true && p.name.startsWith('contact_head.'));
      if (!optional) missing.push(`missing ${p.name}`);
    } else if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
      misshaped.push(`${p.name} has shape ${fmt(shape)}, expected ${fmt(p.shape)}`);
    }
  }
  const unexpected = [...provided.keys()].filter((k) => !known.has(k)).sort().map((k) => `unexpected ${k}`);
  const problems = [...missing, ...unexpected, ...misshaped];
  if (problems.length > 0) throw new Error(`${opts.source ?? 'parameters'}: ${problems.join('; ')}`);
}

/**
 * Canonical <-> Hugging Face name rules (transformers' models/esm/modeling_esm.py and convert_esm.py).
 * `L` stands for the layer index. The table is read in both directions.
 */
const HF_RULES: readonly (readonly [canonical: string, hf: string])[] = [
  ['embed_tokens.weight', 'esm.embeddings.word_embeddings.weight'],
  ['layers.L.self_attn.q_proj.', 'esm.encoder.layer.L.attention.self.query.'],
  ['layers.L.self_attn.k_proj.', 'esm.encoder.layer.L.attention.self.key.'],
  ['layers.L.self_attn.v_proj.', 'esm.encoder.layer.L.attention.self.value.'],
  ['layers.L.self_attn.rot_emb.inv_freq', 'esm.encoder.layer.L.attention.self.rotary_embeddings.inv_freq'],
  ['layers.L.self_attn.out_proj.', 'esm.encoder.layer.L.attention.output.dense.'],
  ['layers.L.self_attn_layer_norm.', 'esm.encoder.layer.L.attention.LayerNorm.'],
  ['layers.L.fc1.', 'esm.encoder.layer.L.intermediate.dense.'],
  ['layers.L.fc2.', 'esm.encoder.layer.L.output.dense.'],
  ['layers.L.final_layer_norm.', 'esm.encoder.layer.L.LayerNorm.'],
  ['emb_layer_norm_after.', 'esm.encoder.emb_layer_norm_after.'],
  ['lm_head.dense.', 'lm_head.dense.'],
  ['lm_head.layer_norm.', 'lm_head.layer_norm.'],
  ['lm_head.weight', 'lm_head.decoder.weight'],
  ['lm_head.bias', 'lm_head.bias'],
  ['contact_head.regression.', 'esm.contact_head.regression.'],
];

/** Hugging Face tensors that ESM-2 does not use, with the reason they can be dropped. */
const HF_IGNORED: readonly (readonly [RegExp, string])[] = [
  [/^(esm\.)?embeddings\.position_ids$/, 'position index buffer; rotary models index positions implicitly'],
  [/^(esm\.)?embeddings\.position_embeddings\.weight$/, 'absolute position table that rotary ESM-2 never reads'],
  [/^(esm\.)?pooler\.dense\.(weight|bias)$/, 'EsmModel pooler, not part of ESM-2'],
];

/** A regex for a rule pattern: `.L.` captures the layer index, a trailing `.` captures weight|bias. */
function ruleRegex(pattern: string): RegExp {
  const esc = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('\\.L\\.', '\\.(\\d+)\\.');
  return new RegExp(`^${esc}${pattern.endsWith('.') ? '(weight|bias)' : ''}$`);
}

/** Compiled once: [canonical regex, HF regex] per rule. */
const HF_RULE_RES = HF_RULES.map((r) => [ruleRegex(r[0]), ruleRegex(r[1])] as const);

function translate(name: string, from: 0 | 1): string | undefined {
  for (let k = 0; k < HF_RULES.length; k++) {
    const rule = HF_RULES[k]!;
    const m = HF_RULE_RES[k]![from].exec(name);
    if (!m) continue;
    let out = rule[1 - from]!;
    let g = 1;
    if (out.includes('.L.')) out = out.replace('.L.', `.${m[g++]}.`);
    if (out.endsWith('.')) out += m[g];
    return out;
  }
  return undefined;
}

/** What a Hugging Face key means here. */
export type HfNameMapping =
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'ignore'; readonly reason: string }
  | { readonly kind: 'unknown' };

/**
 * Maps one Hugging Face EsmForMaskedLM / EsmModel key to its canonical name. Keys saved from a bare EsmModel
 * lack the `esm.` prefix and are accepted too.
 */
export function mapHfName(key: string): HfNameMapping {
  for (const [re, reason] of HF_IGNORED) if (re.test(key)) return { kind: 'ignore', reason };
  const name = translate(key, 1) ?? (key.startsWith('esm.') ? undefined : translate(`esm.${key}`, 1));
  return name === undefined ? { kind: 'unknown' } : { kind: 'param', name };
}

/** The Hugging Face EsmForMaskedLM key of a canonical name; throws for names outside the spec. */
export function canonicalToHfName(name: string): string {
  const hf = translate(name, 0);
  if (hf === undefined) throw new Error(`no Hugging Face name for '${name}'`);
  return hf;
}

/**
 * Renames a Hugging Face state dict to canonical names. Ignorable extras are dropped and listed; unknown keys
 * are kept under their own names so validateParams reports them as unexpected in its single error.
 */
export function renameHfStateDict<T>(entries: Iterable<readonly [string, T]>): { params: Map<string, T>; ignored: string[] } {
  const params = new Map<string, T>();
  const ignored: string[] = [];
  for (const [key, value] of entries) {
    const m = mapHfName(key);
    if (m.kind === 'ignore') ignored.push(key);
    else params.set(m.kind === 'param' ? m.name : key, value);
  }
  return { params, ignored };
}

/**
 * Renames a fair-esm checkpoint state dict to canonical names as esm/pretrained.py's upgrade_state_dict does:
 * a leading `encoder.sentence_encoder.` or `encoder.` is removed (the regression file's
 * `contact_head.regression.*` keys carry no prefix). fair-esm's pattern anchors only its first alternative
 * and replaces every match, but ESM-2 keys contain `encoder` only in the prefix, so anchoring both is the same.
 */
export function renameFairEsmStateDict<T>(entries: Iterable<readonly [string, T]>): Map<string, T> {
  const out = new Map<string, T>();
  for (const [key, value] of entries) out.set(key.replace(/^(encoder\.sentence_encoder\.|encoder\.)/, ''), value);
  return out;
}

/** Rounds to the nearest float16 value (ties to even), returned as a number; Node 20 lacks Math.f16round. */
export function roundToFloat16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity; // 65520 is the midpoint above the largest half, 65504
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const quantum = 2 ** (Math.max(e, -14) - 10); // subnormals below 2^-14 share the quantum 2^-24
  const q = a / quantum;
  const f = Math.floor(q);
  const r = q - f > 0.5 || (q - f === 0.5 && f % 2 === 1) ? f + 1 : f;
  return Math.sign(x) * r * quantum;
}

/**
 * Rotary inverse frequencies inv_freq[i] = 1 / base^(2i / Dh), i < Dh/2, computed in float32 as fair-esm's
 * RotaryEmbedding does at construction (esm/rotary_embedding.py), optionally rounded through float16 as the
 * published checkpoints store them.
 */
export function rotaryInvFreq(headDim: number, base = 10000, precision: 'float32' | 'float16' = 'float32'): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const expo = Math.fround((2 * i) / headDim);
    const v = Math.fround(1 / Math.fround(base ** expo));
    out[i] = precision === 'float16' ? roundToFloat16(v) : v;
  }
  return out;
}

/** How initParams draws values. */
export interface InitOptions {
  /**
   * 'fresh': normal(0, 0.02) weights and embeddings (pad row zero, as nn.Embedding(padding_idx) does),
   * zero biases, LayerNorm weight 1 and bias 0: a new model.
   * 'test': every tensor random and O(1) after its layer (weights normal(0, 1/sqrt(fan_in)), biases
   * normal(0, 0.2), LayerNorm weights 1 + normal(0, 0.2)), so tests exercise every path.
   */
  mode?: 'fresh' | 'test';
}

/** Standard normal draws (the engine's Box-Muller gaussian) from a seeded uniform source. */
function normalSource(seed: number): () => number {
  const u = rng(seed);
  return () => gaussian(u);
}

/**
 * A full, deterministic parameter set for `config` (tied lm_head.weight excluded; rotary buffers included,
 * in float32 as a freshly built fair-esm model has them).
 */
export function initParams(config: EsmConfig, seed: number, opts: InitOptions = {}): Map<string, ParamTensor<Float32Array>> {
  const test = opts.mode === 'test';
  const normal = normalSource(seed);
  const out = new Map<string, ParamTensor<Float32Array>>();
  for (const p of paramSpec(config)) {
    if (p.tiedTo) continue;
    const data = new Float32Array(numel(p.shape));
    const fill = (f: () => number): void => {
      for (let i = 0; i < data.length; i++) data[i] = f();
    };
    switch (p.kind) {
      case 'embedding':
        fill(() => normal() * (test ? 1 : 0.02));
        if (!test) data.fill(0, config.padIdx * config.embedDim, (config.padIdx + 1) * config.embedDim);
        break;
      case 'linear_weight': {
        const std = test ? 1 / Math.sqrt(p.shape[1]!) : 0.02;
        fill(() => normal() * std);
        break;
      }
      case 'bias':
      case 'norm_bias':
        if (test) fill(() => 0.2 * normal());
        break;
      case 'norm_weight':
        fill(() => (test ? 1 + 0.2 * normal() : 1));
        break;
      case 'rotary_buffer':
        data.set(rotaryInvFreq(config.headDim, config.rotaryBase));
        break;
    }
    out.set(p.name, { shape: p.shape, data });
  }
  return out;
}
