/**
 * A planted motif model for the neuron-card tests: a one-layer ESM-2 with hand-set weights in which
 * ffn_in unit MOTIF_UNIT of layer 0 fires (about +1) at an H followed by an E and stays near 0 (at most
 * about -0.17 after the GELU) everywhere else, and records with HExxH planted at known positions in a
 * background that holds no H or E.
 *
 * How the unit sees "H then E" (D = 16, 2 heads of Dh = 8, F = 64):
 *   - embeddings are one-hot: H on dim 0, E on dim 1, every other token on one of dims 3..15, so after the
 *     first LayerNorm dim 0 says "H here" and dim 1 "E here" (3.87 against -0.26);
 *   - head 0's query and key are constant (biases only); rotary embedding turns them into a logit
 *     A sum_k cos(theta_k (j - i - 1)) over the frequencies theta_k = 1, 0.1, 0.01, 0.001 of its 4 pairs,
 *     largest at key j = i + 1 by a margin of 8 or more within 100 residues, so position i attends to i + 1;
 *   - the value copies "E here" (dim 1) and out_proj writes 0.25 of it into the free dim 2: after the
 *     attention, dim 2 of position i says "E next";
 *   - the unit is gelu(LN[0] + LN[2] - 4): both are about 2.7 at H-then-E, so it fires there only;
 *   - fc2 writes the unit into dim 3, so zeroing it moves the head's logits; every other unit has zero
 *     weights and bias, so its activation is exactly 0 and zeroing it changes nothing.
 * The classification head is random (seeded), O(1), three classes.
 */
import { rng } from '../../engine/random.js';
import type { TaskRecord } from '../../data/dataset.js';
import { makeConfig } from '../../model/config.js';
import { headSpec } from '../../model/head.js';
import { initParams } from '../../model/params.js';
import { ESM2_TOKENS } from '../../model/tokenizer.js';
import type { TinyClassifier } from './kn_fixtures.js';
import { gaussian } from '../../engine/random.js';

/** The planted ffn_in unit of layer 0. */
export const MOTIF_UNIT = 5;

/** Query amplitude per rotary pair: the attention logit margin is at least 0.2 x 40 = 8. */
const AMPLITUDE = 40;

/** The one-layer motif model on the host (upload with kn_fixtures' uploadTiny). */
export function motifClassifier(seed = 1, C = 3): TinyClassifier {
  const config = makeConfig({ numLayers: 1, embedDim: 16, attentionHeads: 2, name: 'kn-motif-1x16' });
  const { embedDim: D, ffnDim: F, headDim: Dh } = config;
  const params = initParams(config, seed, { mode: 'test' });
  for (const [name, p] of params) {
    if (name.endsWith('inv_freq')) continue;
    p.data.fill(name.endsWith('layer_norm.weight') || name.endsWith('norm_after.weight') ? 1 : 0);
  }
  const set = (name: string, i: number, v: number): void => {
    params.get(name)!.data[i] = v;
  };
  ESM2_TOKENS.forEach((t, id) => set('embed_tokens.weight', id * D + (t === 'H' ? 0 : t === 'E' ? 1 : 3 + (id % 13)), 1));
  const pre = 'layers.0';
  const invFreq = params.get(`${pre}.self_attn.rot_emb.inv_freq`)!.data; // (Dh/2)
  for (let k = 0; k < Dh / 2; k++) {
    // Query content at angle theta_k against a key at angle 0: after rotation the logit is
    // A cos(theta_k (1 + i - j)), so key j = i + 1 is where every pair peaks.
    const theta = invFreq[k]!;
    set(`${pre}.self_attn.q_proj.bias`, k, AMPLITUDE * Math.sqrt(Dh) * Math.cos(theta));
    set(`${pre}.self_attn.q_proj.bias`, k + Dh / 2, AMPLITUDE * Math.sqrt(Dh) * Math.sin(theta));
    set(`${pre}.self_attn.k_proj.bias`, k, 1);
  }
  set(`${pre}.self_attn.v_proj.weight`, 0 * D + 1, 1); // v[0] = LN(x)[1], "E here"
  set(`${pre}.self_attn.out_proj.weight`, 2 * D + 0, 0.25); // attn_out[2] = 0.25 ctx[0], "E next"
  set(`${pre}.fc1.weight`, MOTIF_UNIT * D + 0, 1);
  set(`${pre}.fc1.weight`, MOTIF_UNIT * D + 2, 1);
  set(`${pre}.fc1.bias`, MOTIF_UNIT, -4);
  set(`${pre}.fc2.weight`, 3 * F + MOTIF_UNIT, 1); // ffn_out[3] = unit
  const rand = rng(seed + 1000);
  const headParams = new Map<string, Float32Array>();
  for (const s of headSpec(D, C)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const scale = s.name.endsWith('weight') ? 2 / Math.sqrt(D) : 0.3;
    headParams.set(s.name, Float32Array.from({ length: n }, () => scale * gaussian(rand)));
  }
  return { config, params, headParams, numClasses: C, pooling: 'mean' };
}

/** Background residues: every standard amino acid but H and E. */
const BACKGROUND = 'ACDFGIKLMNPQRSTVWY';

/** A planted record and where its motif starts (0-based residue of the first H), or null. */
export interface PlantedRecord {
  readonly record: TaskRecord;
  readonly at: number | null;
}

/**
 * n records of `minLen`..`minLen + spread - 1` background residues, classes 0..C-1 in turn; records
 * whose class is `motifClass` get HExxH (xx background) at a random position, so the neuron's top windows
 * all come from that class. `ec` gives each record a full EC number whose sub-class is class.(1 or 2).
 */
export function plantedRecords(n: number, C: number, motifClass: number, seed: number, minLen = 30, spread = 30): PlantedRecord[] {
  const rand = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = minLen + Math.floor(rand() * spread);
    const seq = Array.from({ length: len }, () => BACKGROUND[Math.floor(rand() * BACKGROUND.length)]!);
    const label = i % C;
    let at: number | null = null;
    if (label === motifClass) {
      at = Math.floor(rand() * (len - 4));
      seq[at] = 'H';
      seq[at + 1] = 'E';
      seq[at + 4] = 'H';
    }
    const sub = 1 + (Math.floor(i / C) % 2);
    return { record: { id: `M${String(i).padStart(3, '0')}`, sequence: seq.join(''), label, source: 'test', ec: `${label + 1}.${sub}.1.1` }, at };
  });
}
