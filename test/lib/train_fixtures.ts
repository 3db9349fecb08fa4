/**
 * Fixtures for the training tests: an easy synthetic labelled task written as labelled FASTA, and the
 * options of a tiny fine-tuning run (2 layers, dim 32) that stays fast on a software GPU.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../../engine/random.js';
import type { FinetuneOptions } from '../../train/finetune.js';
import type { PretrainOptions } from '../../train/pretrain.js';
import { scratchDir } from './scratch.js';

/** Residues a background is drawn from (none of the marker residues below). */
const BACKGROUND = 'LAGVSERTIDPKQNFYMH';
/** Class c (ec_class c + 1) is enriched in MARKERS[c]. */
const MARKERS = ['W', 'C', 'K'];

/**
 * `n` records in labelled FASTA, classes EC1-EC3 in turn; a record of class c has 30% of its residues
 * equal to MARKERS[c] (so composition decides the class) and 16-35 residues. `nonEnzymes` extra
 * records with ec_class=0 are appended; task ec leaves them out.
 */
export function compositionFasta(n: number, seed: number, nonEnzymes = 0): string {
  const rand = rng(seed);
  let out = '';
  for (let i = 0; i < n + nonEnzymes; i++) {
    const c = i % MARKERS.length;
    const len = 16 + Math.floor(rand() * 20);
    const seq = Array.from({ length: len }, () => (rand() < 0.3 ? MARKERS[c]! : BACKGROUND[Math.floor(rand() * BACKGROUND.length)]!)).join('');
    out += i < n ? `>S${i} ec_class=${c + 1}\n${seq}\n` : `>N${i} ec_class=0 source=synthetic\n${seq}\n`;
  }
  return out;
}

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(prefix: string): string {
  return scratchDir(prefix);
}

/** Writes text to dir/name and returns the path. */
export function writeText(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Options of a tiny MLM run (2 layers, dim 32) on `data`, written to `out`; `over` replaces any of them. */
export function tinyPretrain(data: string, out: string, over: Partial<PretrainOptions> = {}): PretrainOptions {
  return {
    out, data, backbone: { custom: { numLayers: 2, embedDim: 32, attentionHeads: 4 } }, task: 'ec', splitSeed: 0, seed: 0,
    lr: 3e-3, warmupSteps: null, decay: 'linear', weightDecay: 0.01, clip: 1, accum: 1, epochs: 4, maxSteps: null,
    batchSize: 16, tokensPerBatch: null, maxLength: 40, evalEvery: 0, saveEvery: 200, patience: 0, ...over,
  };
}

/**
 * Options of a tiny fine-tuning run: tinyPretrain's plus mean pooling, no class weights, nothing
 * frozen, shuffled sampling, the head at the backbone's lr, first-window validation, real labels.
 */
export function tinyFinetune(data: string, out: string, over: Partial<FinetuneOptions> = {}): FinetuneOptions {
  return {
    ...tinyPretrain(data, out), pooling: 'mean', classWeights: 'none', freeze: 'none', trainLast: 0, dropout: 0,
    sampler: 'shuffle', headLrMult: 1, evalWindow: null, evalStride: null, shuffleLabels: null, keepHead: false, ...over,
  };
}

