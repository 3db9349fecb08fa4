/**
 * ESM-2 model configuration: the published sizes, validated custom sizes, and readers for the two
 * checkpoint formats (fair-esm's `cfg.model` namespace and Hugging Face's config.json).
 *
 * Architecture constants follow fair-esm (esm/model/esm2.py, esm/data.py): the ESM-1b alphabet of 33 tokens
 * (<cls>=0, <pad>=1, <eos>=2, <unk>=3, 20 standard amino acids, X B U Z O . -, <null_1>, <mask>=32),
 * FFN width hard-coded to 4 * embedDim, torch.nn.LayerNorm's eps 1e-5, rotary position embeddings with base 10000.
 */

/** Everything the forward pass needs to know about a model's shape and special tokens. */
export interface EsmConfig {
  /** Published name (e.g. 'esm2_t6_8M_UR50D') or 'custom'. */
  readonly name: string;
  /** Transformer layers. */
  readonly numLayers: number;
  /** D: model width. */
  readonly embedDim: number;
  /** H: attention heads per layer. */
  readonly attentionHeads: number;
  /** Dh = D / H; even, because rotary embeddings rotate pairs (d, d + Dh/2). */
  readonly headDim: number;
  /** F: FFN width; fair-esm hard-codes 4 * D. */
  readonly ffnDim: number;
  /** V: vocabulary size (33 for the ESM-1b alphabet). */
  readonly vocabSize: number;
  /** Zero <mask> embeddings and rescale by (1 - maskRatioTrain) / (1 - observed mask ratio), also at inference. */
  readonly tokenDropout: boolean;
  /** 0.15 * 0.8: the share of tokens replaced by <mask> during ESM-2 training. */
  readonly maskRatioTrain: number;
  readonly padIdx: number;
  readonly maskIdx: number;
  readonly clsIdx: number;
  readonly eosIdx: number;
  /** LayerNorm epsilon (torch.nn.LayerNorm default 1e-5, used by every ESM-2 LayerNorm). */
  readonly layerNormEps: number;
  /** Rotary base: inv_freq = 1 / base^(2i / Dh). */
  readonly rotaryBase: number;
}

/** Sizes of the published ESM-2 checkpoints (fair-esm README and esm/pretrained.py), by name. */
export const ESM2_SIZES = {
  esm2_t6_8M_UR50D: { numLayers: 6, embedDim: 320, attentionHeads: 20 },
  esm2_t12_35M_UR50D: { numLayers: 12, embedDim: 480, attentionHeads: 20 },
  esm2_t30_150M_UR50D: { numLayers: 30, embedDim: 640, attentionHeads: 20 },
  esm2_t33_650M_UR50D: { numLayers: 33, embedDim: 1280, attentionHeads: 20 },
  esm2_t36_3B_UR50D: { numLayers: 36, embedDim: 2560, attentionHeads: 40 },
  esm2_t48_15B_UR50D: { numLayers: 48, embedDim: 5120, attentionHeads: 40 },
} as const;

/** One of the published model names. */
export type Esm2Name = keyof typeof ESM2_SIZES;

/** Fields a custom configuration may set; everything else takes the ESM-2 value. */
export interface EsmConfigInit {
  numLayers: number;
  embedDim: number;
  attentionHeads: number;
  ffnDim?: number;
  vocabSize?: number;
  tokenDropout?: boolean;
  padIdx?: number;
  maskIdx?: number;
  clsIdx?: number;
  eosIdx?: number;
  layerNormEps?: number;
  name?: string;
}

/** The ESM-2 defaults shared by every published size. */
const ESM2_DEFAULTS = {
  vocabSize: 33,
  tokenDropout: true,
  maskRatioTrain: 0.15 * 0.8,
  padIdx: 1,
  maskIdx: 32,
  clsIdx: 0,
  eosIdx: 2,
  layerNormEps: 1e-5,
  rotaryBase: 10000,
} as const;

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/**
 * A validated configuration from explicit sizes. Throws one error listing every problem, naming the field:
 * non-positive sizes, embedDim not divisible by attentionHeads, an odd head dim (rotary needs pairs),
 * special token indices outside the vocabulary or colliding.
 */
export function makeConfig(init: EsmConfigInit): EsmConfig {
  const c = {
    name: init.name ?? publishedName(init) ?? 'custom',
    numLayers: init.numLayers,
    embedDim: init.embedDim,
    attentionHeads: init.attentionHeads,
    headDim: init.embedDim / init.attentionHeads,
    ffnDim: init.ffnDim ?? 4 * init.embedDim,
    vocabSize: init.vocabSize ?? ESM2_DEFAULTS.vocabSize,
    tokenDropout: init.tokenDropout ?? ESM2_DEFAULTS.tokenDropout,
    maskRatioTrain: ESM2_DEFAULTS.maskRatioTrain,
    padIdx: init.padIdx ?? ESM2_DEFAULTS.padIdx,
    maskIdx: init.maskIdx ?? ESM2_DEFAULTS.maskIdx,
    clsIdx: init.clsIdx ?? ESM2_DEFAULTS.clsIdx,
    eosIdx: init.eosIdx ?? ESM2_DEFAULTS.eosIdx,
    layerNormEps: init.layerNormEps ?? ESM2_DEFAULTS.layerNormEps,
    rotaryBase: ESM2_DEFAULTS.rotaryBase,
  };
  const errs: string[] = [];
  for (const k of ['numLayers', 'embedDim', 'attentionHeads', 'ffnDim', 'vocabSize'] as const) {
    if (!isPositiveInt(c[k])) errs.push(`${k} must be a positive integer, got ${String(c[k])}`);
  }
  if (isPositiveInt(c.embedDim) && isPositiveInt(c.attentionHeads)) {
    if (c.embedDim % c.attentionHeads !== 0) {
      errs.push(`embedDim ${c.embedDim} is not divisible by attentionHeads ${c.attentionHeads}`);
    } else if (c.headDim % 2 !== 0) {
      errs.push(`head dim ${c.embedDim}/${c.attentionHeads} = ${c.headDim} is odd; rotary embeddings need an even head dim`);
    }
  }
  const specials = ['padIdx', 'maskIdx', 'clsIdx', 'eosIdx'] as const;
  for (const k of specials) {
    const v = c[k];
    if (!Number.isInteger(v) || v < 0 || (isPositiveInt(c.vocabSize) && v >= c.vocabSize)) {
      errs.push(`${k} ${String(v)} is outside the vocabulary [0, ${String(c.vocabSize)})`);
    }
  }
  for (let i = 0; i < specials.length; i++) {
    for (let j = i + 1; j < specials.length; j++) {
      if (c[specials[i]!] === c[specials[j]!]) errs.push(`${specials[i]} and ${specials[j]} are both ${c[specials[i]!]}`);
    }
  }
  if (!(typeof c.layerNormEps === 'number' && c.layerNormEps > 0 && Number.isFinite(c.layerNormEps))) {
    errs.push(`layerNormEps must be a positive number, got ${String(c.layerNormEps)}`);
  }
  if (errs.length > 0) throw new Error(`invalid ESM config: ${errs.join('; ')}`);
  return Object.freeze(c);
}

/** The published name whose sizes match, if every other field keeps its ESM-2 value. */
function publishedName(init: EsmConfigInit): Esm2Name | undefined {
  const same = <T>(v: T | undefined, d: T): boolean => v === undefined || v === d;
  if (!same(init.ffnDim, 4 * init.embedDim) || !same(init.vocabSize, ESM2_DEFAULTS.vocabSize) ||
    !same(init.tokenDropout, ESM2_DEFAULTS.tokenDropout) || !same(init.layerNormEps, ESM2_DEFAULTS.layerNormEps) ||
    !same(init.padIdx, ESM2_DEFAULTS.padIdx) || !same(init.maskIdx, ESM2_DEFAULTS.maskIdx) ||
    !same(init.clsIdx, ESM2_DEFAULTS.clsIdx) || !same(init.eosIdx, ESM2_DEFAULTS.eosIdx)) return undefined;
  for (const [name, s] of Object.entries(ESM2_SIZES) as [Esm2Name, (typeof ESM2_SIZES)[Esm2Name]][]) {
    if (s.numLayers === init.numLayers && s.embedDim === init.embedDim && s.attentionHeads === init.attentionHeads) return name;
  }
  return undefined;
}

/** The configuration of a published ESM-2 model; throws listing the known names. */
export function esm2Config(name: string): EsmConfig {
  const s = (ESM2_SIZES as Record<string, { numLayers: number; embedDim: number; attentionHeads: number }>)[name];
  if (!s) throw new Error(`unknown ESM-2 model '${name}'; known: ${Object.keys(ESM2_SIZES).join(', ')}`);
  return makeConfig({ ...s, name });
}

/**
 * From a fair-esm checkpoint's `model_data["cfg"]["model"]` (converted to a plain object), as
 * esm/pretrained.py `_load_model_and_alphabet_core_v2` reads it: encoder_layers, encoder_embed_dim,
 * encoder_attention_heads, token_dropout. fair-esm ignores encoder_ffn_embed_dim (ESM2 hard-codes 4 * D),
 * so this does too.
 */
export function configFromFairEsmCfg(cfg: Record<string, unknown>): EsmConfig {
  const errs: string[] = [];
  const int = (k: string): number => {
    const v = cfg[k];
    if (!isPositiveInt(v)) errs.push(`${k} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const numLayers = int('encoder_layers');
  const embedDim = int('encoder_embed_dim');
  const attentionHeads = int('encoder_attention_heads');
  const td = cfg['token_dropout'];
  if (typeof td !== 'boolean') errs.push(`token_dropout must be a boolean, got ${JSON.stringify(td)}`);
  if (errs.length > 0) throw new Error(`fair-esm cfg: ${errs.join('; ')}`);
  return makeConfig({ numLayers, embedDim, attentionHeads, tokenDropout: td as boolean });
}

/**
 * From a Hugging Face EsmForMaskedLM / EsmModel config.json. Missing optional fields take transformers'
 * EsmConfig defaults (layer_norm_eps 1e-12, token_dropout false), as transformers would; fields that make the
 * model something other than ESM-2 are errors naming the field: position_embedding_type must be 'rotary'
 * (its default 'absolute' is ESM-1b), emb_layer_norm_before must be false, hidden_act 'gelu', no ESMFold.
 */
export function configFromHfConfig(json: Record<string, unknown>): EsmConfig {
  const errs: string[] = [];
  const int = (k: string): number => {
    const v = json[k];
    if (!isPositiveInt(v)) errs.push(`${k} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const index = (k: string): number => {
    const v = json[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0)) errs.push(`${k} must be a token index, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const numLayers = int('num_hidden_layers');
  const embedDim = int('hidden_size');
  const attentionHeads = int('num_attention_heads');
  const ffnDim = int('intermediate_size');
  const vocabSize = int('vocab_size');
  const maskIdx = index('mask_token_id');
  const padIdx = index('pad_token_id');
  const pet = json['position_embedding_type'];
  if (pet !== 'rotary') errs.push(`position_embedding_type must be 'rotary' for ESM-2, got ${JSON.stringify(pet ?? 'absolute (default)')}`);
  const before = json['emb_layer_norm_before'];
  if (before !== undefined && before !== null && before !== false) errs.push(`emb_layer_norm_before must be false for ESM-2, got ${JSON.stringify(before)}`);
  const act = json['hidden_act'];
  if (act !== undefined && act !== 'gelu') errs.push(`hidden_act must be 'gelu', got ${JSON.stringify(act)}`);
  if (json['is_folding_model'] === true) errs.push('is_folding_model is true: ESMFold checkpoints are not supported');
  const td = json['token_dropout'] ?? false;
  if (typeof td !== 'boolean') errs.push(`token_dropout must be a boolean, got ${JSON.stringify(td)}`);
  const eps = json['layer_norm_eps'] ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0)) errs.push(`layer_norm_eps must be a positive number, got ${JSON.stringify(eps)}`);
  if (errs.length > 0) throw new Error(`Hugging Face config: ${errs.join('; ')}`);
  return makeConfig({
    numLayers, embedDim, attentionHeads, ffnDim, vocabSize, maskIdx, padIdx,
    tokenDropout: td as boolean, layerNormEps: eps as number,
  });
}
