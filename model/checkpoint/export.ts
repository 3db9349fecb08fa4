/**
 * A model in the other two checkpoint forms, as bytes-to-be (no Node built-ins; model/checkpoint/node.ts
 * writes them): a Hugging Face folder that transformers' EsmForSequenceClassification loads, and a
 * fair-esm .pt (plus its contact-regression companion) in the layout esm/pretrained.py reads.
 *
 * Hugging Face: config.json as transformers' EsmConfig (model_type "esm", rotary positions, token
 * dropout, id2label/label2id) with the head's pooling in the extra key `classifier_pooling`, and
 * model.safetensors in EsmForMaskedLM's names plus the head as EsmClassificationHead's
 * classifier.dense.* and classifier.out_proj.* (HF pools <cls>, then dense, tanh, out_proj: the same
 * head as ours; a mean-pooled head keeps the names and says "mean" in classifier_pooling). lm_head.* is
 * written too, so the folder also loads as EsmForMaskedLM (EsmForSequenceClassification warns that it
 * does not use it). vocab.txt and tokenizer_config.json make AutoTokenizer work on the folder.
 *
 * fair-esm: {"model": state dict with the encoder.sentence_encoder. / encoder. prefixes and the tied
 * lm_head.weight sharing embed_tokens' storage, "cfg": {"model": Namespace(encoder_layers, ...)}}. The
 * classification head, which fair-esm has no place for, is the top-level dict "esm_kn_head" with the
 * labels and pooling in "esm_kn" (fair-esm reads only "model" and "cfg").
 * fair-esm's loader (esm/pretrained.py) needs every key of its ESM2 state dict and, for an "esm2..." file
 * name, the contact-regression companion, loading strictly when it has one. So a model without stored
 * rotary buffers gets the inv_freq fair-esm computes at construction (each layer's
 * self_attn.rot_emb.inv_freq, a persistent buffer), and a model without a contact head gets a companion
 * of zeros (exportNotes says so; our loader reads an all-zero regression back as no contact head).
 */
import { Namespace, OrderedDict } from '../../io/pickle_values.js';
import { FormatError } from '../../io/errors.js';
import type { HostTensor } from '../../io/tensor.js';
import type { EsmConfig } from '../config.js';
import { type ParamTensor, canonicalToHfName, paramSpec, rotaryInvFreq } from '../params.js';
import { ESM2_TOKENS } from '../tokenizer.js';
import type { LoadedCheckpoint, StoredHead } from './load.js';

/** What an export needs of a checkpoint. */
export type ExportSource = Pick<LoadedCheckpoint, 'config' | 'params' | 'head' | 'meta'>;

/** Checkpoint formats an export can write. */
export const EXPORT_FORMATS = ['hf', 'esm-kn', 'fair-esm'] as const;
/** One of EXPORT_FORMATS. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Our head's tensor names and Hugging Face EsmClassificationHead's. */
export const HF_HEAD_NAMES: readonly (readonly [ours: string, hf: string])[] = [
  ['head.dense.weight', 'classifier.dense.weight'],
  ['head.dense.bias', 'classifier.dense.bias'],
  ['head.out.weight', 'classifier.out_proj.weight'],
  ['head.out.bias', 'classifier.out_proj.bias'],
];

/** The top-level entry of a fair-esm export that holds the head's tensors (named head.*). */
export const FAIR_ESM_HEAD_ENTRY = 'esm_kn_head';
/** The top-level entry of a fair-esm export that holds the head's labels and pooling and the project's JSON. */
export const FAIR_ESM_META_ENTRY = 'esm_kn';

/** The files of the two folder forms (esm-kn.json is load.ts's PROJECT_JSON; export.test checks every export against this). */
const EXPORT_FOLDER_FILES: ReadonlySet<string> = new Set(['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json', 'esm-kn.json']);

/**
 * Whether `name` is a file some export writes, in any format and for any model size (a fair-esm
 * export's names carry the layer count and width): the only files `export --force` removes from the
 * folder it writes into, so that no other form's files stay behind. Other files are never touched.
 */
export function isExportFileName(name: string): boolean {
  return EXPORT_FOLDER_FILES.has(name) || /^esm2_t\d+_\d+d_esm-kn(-contact-regression)?\.pt$/.test(name);
}

/** The project's extra JSON (task, provenance, metrics) without the fields a format stores itself. */
export function exportMeta(meta: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { format: _f, version: _v, config: _c, head: _h, ...rest } = meta;
  return rest;
}

const host = (t: ParamTensor<Float32Array>): HostTensor => ({ dtype: 'f32', shape: t.shape, data: t.data });

/** A Hugging Face folder's files: config.json, tokenizer files, and the tensors of model.safetensors. */
export interface HfExport {
  readonly config: Record<string, unknown>;
  readonly tensors: [string, HostTensor][];
  readonly textFiles: ReadonlyMap<string, string>;
}

/** The Hugging Face form of a checkpoint. */
export function hfExport(ckpt: ExportSource): HfExport {
  const c = ckpt.config;
  const head = ckpt.head;
  const config: Record<string, unknown> = {
    architectures: [head ? 'EsmForSequenceClassification' : 'EsmForMaskedLM'],
    model_type: 'esm',
    vocab_size: c.vocabSize,
    hidden_size: c.embedDim,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.attentionHeads,
    intermediate_size: c.ffnDim,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.0,
    attention_probs_dropout_prob: 0.0,
    max_position_embeddings: 1026,
    initializer_range: 0.02,
    layer_norm_eps: c.layerNormEps,
    position_embedding_type: 'rotary',
    emb_layer_norm_before: false,
    token_dropout: c.tokenDropout,
    mask_token_id: c.maskIdx,
    pad_token_id: c.padIdx,
    is_folding_model: false,
    use_cache: true,
    torch_dtype: 'float32',
  };
  if (head) {
    config.id2label = Object.fromEntries(head.labels.map((l, i) => [String(i), l]));
    config.label2id = Object.fromEntries(head.labels.map((l, i) => [l, i]));
    config.problem_type = 'single_label_classification';
    config.classifier_dropout = null;
    config.classifier_pooling = head.pooling;
  }
  const meta = exportMeta(ckpt.meta);
  if (Object.keys(meta).length) config.esm_kn_meta = meta;
  const tensors: [string, HostTensor][] = [];
  for (const [name, t] of ckpt.params) if (name !== 'lm_head.weight') tensors.push([canonicalToHfName(name), host(t)]);
  for (const [ours, hf] of head ? HF_HEAD_NAMES : []) tensors.push([hf, host(head!.params.get(ours)!)]);
  const textFiles = new Map([
    ['vocab.txt', `${ESM2_TOKENS.join('\n')}\n`],
    ['tokenizer_config.json', `${JSON.stringify({ tokenizer_class: 'EsmTokenizer', model_max_length: 1026, cls_token: '<cls>', eos_token: '<eos>', pad_token: '<pad>', unk_token: '<unk>', mask_token: '<mask>' }, null, 2)}\n`],
  ]);
  return { config, tensors, textFiles };
}

/** Why fair-esm's ESM2 class cannot hold a configuration (it fixes everything but the sizes), or null. */
function fairEsmMismatch(c: EsmConfig): string | null {
  const fixed: [string, number, number][] = [
    ['ffnDim', c.ffnDim, 4 * c.embedDim], ['vocabSize', c.vocabSize, 33], ['layerNormEps', c.layerNormEps, 1e-5],
    ['padIdx', c.padIdx, 1], ['maskIdx', c.maskIdx, 32], ['clsIdx', c.clsIdx, 0], ['eosIdx', c.eosIdx, 2],
  ];
  const bad = fixed.filter(([, v, want]) => v !== want).map(([k, v, want]) => `${k} ${v} (fair-esm fixes ${want})`);
  return bad.length ? bad.join(', ') : null;
}

/** A fair-esm export: the .pt's top-level object and the contact-regression companion's. */
export interface FairEsmExport {
  /** File name stem; fair-esm's loader picks its ESM-2 path for names starting with "esm2". */
  readonly stem: string;
  readonly main: Map<string, unknown>;
  /** Zeros when the model has no contact head: fair-esm's loader requires the file (see exportNotes). */
  readonly companion: Map<string, unknown>;
}

/** The contact head's tensor names, as fair-esm's companion file holds them. */
export const CONTACT_REGRESSION_NAMES = ['contact_head.regression.weight', 'contact_head.regression.bias'] as const;

const hasContactRegression = (ckpt: ExportSource): boolean => CONTACT_REGRESSION_NAMES.every((n) => ckpt.params.has(n));

/**
 * What an export of `ckpt` in `format` fills in with placeholder values, one line each (the CLI prints
 * them to stderr); none when the format carries the model as it is.
 */
export function exportNotes(ckpt: ExportSource, format: ExportFormat): string[] {
  if (format !== 'fair-esm' || hasContactRegression(ckpt)) return [];
  return ['the model has no contact head: the -contact-regression.pt companion fair-esm requires holds zeros, so fair-esm\'s predicted contacts are meaningless (esm-kn reads it back as no contact head)'];
}

/** The fair-esm form of a checkpoint; `label` names the model in errors. */
export function fairEsmExport(ckpt: ExportSource, label: string): FairEsmExport {
  const c = ckpt.config;
  const why = fairEsmMismatch(c);
  if (why) throw new FormatError(label, `cannot be written in fair-esm's layout: ${why}`);
  const sd = new OrderedDict<string, HostTensor>();
  const keyOf = (name: string) => (name.startsWith('lm_head.') ? 'encoder.' : 'encoder.sentence_encoder.') + name;
  // fair-esm's state-dict order; rotary buffers a checkpoint lacks are fair-esm's own float32 values.
  for (const p of paramSpec(c)) {
    if (p.name.startsWith('contact_head.')) continue;
    // The same object for the tied weight (listed after its target): the writer gives both names one storage, as torch.save does.
    if (p.tiedTo) {
      sd.set(keyOf(p.name), sd.get(keyOf(p.tiedTo))!);
      continue;
    }
    const t = p.kind === 'rotary_buffer' && !ckpt.params.has(p.name) ? { shape: p.shape, data: rotaryInvFreq(c.headDim, c.rotaryBase) } : ckpt.params.get(p.name);
    if (!t) throw new FormatError(label, `has no ${p.name}, which fair-esm's state dict needs`);
    sd.set(keyOf(p.name), host(t));
  }
  const cfg = new Namespace({
    encoder_layers: c.numLayers, encoder_embed_dim: c.embedDim, encoder_ffn_embed_dim: c.ffnDim,
    encoder_attention_heads: c.attentionHeads, token_dropout: c.tokenDropout, arch: 'ESM2',
  });
  const main = new Map<string, unknown>([['model', sd], ['cfg', new Map([['model', cfg]])]]);
  const head: StoredHead | undefined = ckpt.head;
  if (head) {
    main.set(FAIR_ESM_HEAD_ENTRY, new OrderedDict<string, HostTensor>([...head.params].map(([n, t]) => [n, host(t)])));
    main.set(FAIR_ESM_META_ENTRY, new Map<string, unknown>([['labels', [...head.labels]], ['pooling', head.pooling], ['meta_json', JSON.stringify(exportMeta(ckpt.meta))]]));
  }
  const LH = c.numLayers * c.attentionHeads;
  const zeros: Record<string, ParamTensor<Float32Array>> = {
    'contact_head.regression.weight': { shape: [1, LH], data: new Float32Array(LH) }, // (1, layers * H)
    'contact_head.regression.bias': { shape: [1], data: new Float32Array(1) },
  };
  const stored = hasContactRegression(ckpt);
  const reg = new OrderedDict<string, HostTensor>(CONTACT_REGRESSION_NAMES.map((n) => [n, host(stored ? ckpt.params.get(n)! : zeros[n]!)]));
  return { stem: `esm2_t${c.numLayers}_${c.embedDim}d_esm-kn`, main, companion: new Map<string, unknown>([['model', reg]]) };
}
