/**
 * Masked-language-modelling batches as ESM-2 was trained (BERT's recipe, as in fairseq's
 * MaskTokensDataset): 15% of each sequence's residue positions are chosen, and of those 80% become
 * <mask>, 10% a random residue and 10% stay unchanged. The loss is taken at chosen positions only:
 * targets hold the original token there and IGNORE_INDEX everywhere else. <cls>, <eos> and <pad>
 * are never chosen. Pure code, seeded.
 */
import { rng } from '../engine/index.js';
import { ESM2_TOKENS, MASK } from '../model/tokenizer.js';
import { IGNORE_INDEX } from '../model/batching.js';

/** Token ids of the 20 standard amino acids: what a "random residue" is drawn from. */
export const STANDARD_RESIDUE_IDS: readonly number[] = [...'ACDEFGHIKLMNPQRSTVWY'].map((a) => ESM2_TOKENS.indexOf(a));

// Residue letter tokens (standard and X B U Z O) may be chosen; specials and gap symbols may not.
const MAY_MASK = ESM2_TOKENS.map((t) => /^[A-Z]$/.test(t));

/** Masking probabilities; the defaults are ESM-2's. */
export interface MlmOptions {
  /** Seed of this batch's choices; derive it from (seed, epoch, batch) with mixSeed. */
  seed: number;
  /** Share of residue positions chosen (default 0.15). */
  maskProb?: number;
  /** Share of chosen positions replaced by <mask> (default 0.8). */
  maskTokenProb?: number;
  /** Share of chosen positions replaced by a random standard residue (default 0.1); the rest stay. */
  randomTokenProb?: number;
}

/** The token rows to mask: any encoded batch ([B, L] tokens and per-row lengths). */
export interface TokenRows {
  readonly tokens: Int32Array;
  readonly lengths: Int32Array;
  readonly batch: number;
  readonly length: number;
}

/** A masked batch. */
export interface MlmBatch {
  /** Model input, [B, L]: the tokens with chosen positions masked, randomised or kept. */
  tokens: Int32Array;
  /** [B, L]: the original token at chosen positions, IGNORE_INDEX elsewhere. */
  targets: Int32Array;
  /** [B] tokens per row including <cls> and <eos>. */
  lengths: Int32Array;
  /** B */
  batch: number;
  /** L */
  length: number;
  /** Number of chosen positions (the loss's denominator). */
  chosen: number;
}

/**
 * Masks a batch. Each row with n residues gets floor(maskProb * n + u) chosen positions (u uniform
 * in [0, 1), so the expected count is exactly maskProb * n, as fairseq does), drawn uniformly
 * without replacement. A very short row can get none.
 */
export function maskBatch(rows: TokenRows, options: MlmOptions): MlmBatch {
  const maskProb = options.maskProb ?? 0.15;
  const maskTokenProb = options.maskTokenProb ?? 0.8;
  const randomTokenProb = options.randomTokenProb ?? 0.1;
  if (!(maskProb >= 0 && maskProb <= 1 && maskTokenProb >= 0 && randomTokenProb >= 0 && maskTokenProb + randomTokenProb <= 1)) {
    throw new Error(`MLM probabilities out of range: maskProb ${maskProb}, maskTokenProb ${maskTokenProb}, randomTokenProb ${randomTokenProb}`);
  }
  const { batch: B, length: L } = rows;
  if (rows.tokens.length !== B * L || rows.lengths.length !== B) {
    throw new Error(`MLM batch shapes disagree: tokens ${rows.tokens.length} for [B ${B}, L ${L}], lengths ${rows.lengths.length}`);
  }
  const rand = rng(options.seed);
  const tokens = Int32Array.from(rows.tokens); // [B, L]
  const targets = new Int32Array(B * L).fill(IGNORE_INDEX); // [B, L]
  let chosen = 0;
  for (let b = 0; b < B; b++) {
    const eligible: number[] = [];
    for (let t = 0; t < rows.lengths[b]!; t++) if (MAY_MASK[rows.tokens[b * L + t]!]) eligible.push(b * L + t);
    const k = Math.min(eligible.length, Math.floor(maskProb * eligible.length + rand()));
    // Partial Fisher-Yates: the first k entries become a uniform sample without replacement.
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rand() * (eligible.length - i));
      [eligible[i], eligible[j]] = [eligible[j]!, eligible[i]!];
      const pos = eligible[i]!;
      targets[pos] = rows.tokens[pos]!;
      const r = rand();
      if (r < maskTokenProb) tokens[pos] = MASK;
      else if (r < maskTokenProb + randomTokenProb) tokens[pos] = STANDARD_RESIDUE_IDS[Math.floor(rand() * STANDARD_RESIDUE_IDS.length)]!;
    }
    chosen += k;
  }
  return { tokens, targets, lengths: Int32Array.from(rows.lengths), batch: B, length: L, chosen };
}
