/**
 * The backbone a run starts from (a checkpoint in any format, a fresh published size or a fresh custom
 * size), which of its parameters train, their weight decay, and reading the model back for saving.
 */
import { type Tensor } from '../engine/index.js';
import { type LoadedCheckpoint, loadCheckpoint } from '../model/checkpoint/node.js';
import { type EsmConfig, ESM2_SIZES, esm2Config, makeConfig } from '../model/config.js';
import { type EsmModel, uploadModel } from '../model/esm.js';
import { type ParamKind, type ParamTensor, initParams, paramSpec } from '../model/params.js';
import { resolveModel } from '../model/assets.node.js';
import { OptionError } from './errors.js';

/** Where the backbone comes from. */
export type BackboneSpec =
  | { readonly checkpoint: string }
  | { readonly size: string }
  | { readonly custom: { readonly numLayers: number; readonly embedDim: number; readonly attentionHeads: number } };

/** A backbone on the host. */
export interface Backbone {
  readonly config: EsmConfig;
  /** Every tensor uploadModel needs (a missing contact head is filled with zeros, see hasContactHead). */
  readonly params: Map<string, ParamTensor<Float32Array>>;
  /** False when the source had no contact head: the zeros filled in are then not saved. */
  readonly hasContactHead: boolean;
  /** One line for provenance: the checkpoint path and format, or "fresh <name> (seed N)". */
  readonly source: string;
  /**
   * The esm-kn provenance a checkpoint carries (an esm-kn folder, or an export of one to the Hugging
   * Face or fair-esm form; its own backbone's nested in it), so a run from it records the whole chain
   * of stages; absent for a checkpoint without one and for fresh backbones.
   */
  readonly lineage?: Record<string, unknown>;
}

/** Which backbone parameters train. */
export type Freeze = 'none' | 'head-only' | 'all-but-last';

/** The freeze modes, in help-text order. */
export const FREEZE_MODES: readonly Freeze[] = ['none', 'head-only', 'all-but-last'];

/** A trainable tensor with its name, weight decay and learning-rate multiplier. */
export interface NamedParam {
  readonly name: string;
  readonly tensor: Tensor;
  readonly weightDecay: number;
  /** Multiplies the schedule's learning rate for this tensor (default 1; e.g. --head-lr-mult). */
  readonly lrScale?: number;
}

/**
 * A published ESM-2 name from a full name or a short form naming its size ('8M', 't6_8M',
 * 'esm2_t6_8M'); throws listing the names.
 */
export function esm2Name(arg: string): string {
  const names = Object.keys(ESM2_SIZES);
  const hits = names.includes(arg) ? [arg] : names.filter((n) => `${n}_`.includes(`_${arg}_`) || n.startsWith(`${arg}_`));
  const hit = hits.length === 1 ? hits[0] : undefined;
  if (!hit) throw new OptionError(`unknown ESM-2 size '${arg}' (known: ${names.join(', ')}; short forms such as 8M or t12_35M work too)`);
  return hit;
}

/** A loaded checkpoint as a backbone (its head, if any, is not part of it). */
export function backboneFromCheckpoint(ckpt: LoadedCheckpoint): Backbone {
  const p = ckpt.meta.provenance;
  const lineage = p && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, unknown>) : undefined;
  return { config: ckpt.config, params: ckpt.params, hasContactHead: ckpt.hasContactHead, source: `${ckpt.format} checkpoint ${ckpt.path}`, ...(lineage ? { lineage } : {}) };
}

/** The configuration of a fresh backbone (null for a checkpoint); a bad size is an OptionError. */
export function freshConfig(spec: BackboneSpec): EsmConfig | null {
  if ('checkpoint' in spec) return null;
  try {
    return 'size' in spec ? esm2Config(esm2Name(spec.size)) : makeConfig({ ...spec.custom });
  } catch (e) {
    throw new OptionError((e as Error).message);
  }
}

/** Loads or initialises the backbone; `seed` seeds a fresh initialisation. */
export async function loadBackbone(spec: BackboneSpec, seed: number): Promise<Backbone> {
  const config = freshConfig(spec);
  if (!config) return backboneFromCheckpoint(await loadCheckpoint(resolveModel((spec as { checkpoint: string }).checkpoint)));
  const shape = `${config.numLayers} layers, dim ${config.embedDim}, ${config.attentionHeads} heads`;
  return { config, params: initParams(config, seed), hasContactHead: true, source: `fresh ${config.name} (${shape}), init seed ${seed}` };
}

/** What the parameters are used for: the classifier's backbone or masked-language modelling. */
export type Purpose = 'classify' | 'mlm';

/**
 * Whether a backbone parameter trains. The contact head never does (no loss reaches it); the LM head
 * only in MLM; with 'all-but-last' the last `trainLast` layers and the final LayerNorm after them.
 */
export function backboneTrains(config: EsmConfig, name: string, purpose: Purpose, freeze: Freeze = 'none', trainLast = 0): boolean {
  if (name.startsWith('contact_head.')) return false;
  if (name.startsWith('lm_head.')) return purpose === 'mlm';
  if (freeze === 'none') return true;
  if (freeze === 'head-only') return false;
  if (name.startsWith('emb_layer_norm_after.')) return trainLast > 0;
  const layer = /^layers\.(\d+)\./.exec(name);
  return layer !== null && Number(layer[1]) >= config.numLayers - trainLast;
}

/** Biases and LayerNorm parameters get no weight decay (as BERT, RoBERTa and ESM fine-tuning do). */
export function decayOf(kind: ParamKind, weightDecay: number): number {
  return kind === 'bias' || kind === 'norm_bias' || kind === 'norm_weight' ? 0 : weightDecay;
}

/**
 * Uploads the backbone and marks the parameters that train; returns the model and those parameters in
 * fair-esm order, each with its weight decay.
 */
export function uploadBackbone(
  b: Backbone,
  purpose: Purpose,
  weightDecay: number,
  freeze: Freeze = 'none',
  trainLast = 0,
): { model: EsmModel; trainable: NamedParam[] } {
  const model = uploadModel(b.config, b.params, false);
  const trainable: NamedParam[] = [];
  for (const spec of paramSpec(b.config)) {
    const t = model.params.get(spec.name);
    if (!t || !backboneTrains(b.config, spec.name, purpose, freeze, trainLast)) continue;
    t.requiresGrad = true;
    trainable.push({ name: spec.name, tensor: t, weightDecay: decayOf(spec.kind, weightDecay) });
  }
  return { model, trainable };
}

/**
 * The model's parameters read back to the host (a sync point), with the stored rotary buffers, and
 * without the contact head when the source had none.
 */
export async function readBackbone(model: EsmModel, hasContactHead: boolean): Promise<Map<string, ParamTensor<Float32Array>>> {
  const out = new Map<string, ParamTensor<Float32Array>>();
  for (const [name, t] of model.params) {
    if (!hasContactHead && name.startsWith('contact_head.')) continue;
    out.set(name, { shape: t.shape, data: await t.f32() });
  }
  for (const [layer, inv] of model.invFreq) {
    out.set(`layers.${layer}.self_attn.rot_emb.inv_freq`, { shape: [inv.length], data: Float32Array.from(inv) });
  }
  return out;
}
