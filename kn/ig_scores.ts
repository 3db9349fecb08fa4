/**
 * Integrated-gradient scores of every neuron for a list of records (ig.ts does one example): examples
 * are scored into a GPU block of rows that is read back once per block, never per example.
 *
 * Axis letters: E examples, R rows of a score block, N neurons, P (module, layer) pairs.
 */
import { fillInPlace, tidyAsync } from '../engine/index.js';
import type { TaskRecord } from '../data/dataset.js';
import { NEURON_MODULES, type EsmModel } from '../model/esm.js';
import type { ClassifierHead } from '../model/head.js';
import { blockRows } from './activation.js';
import { type IgOptions, checkFrozen, igContext, igExample, igExampleScores } from './ig.js';
import { neuronLayout } from './layout.js';
import type { NeuronScores } from './scores.js';

/** IG scores (E, N) of the records' true classes, with the completeness rows (E, P, 3). */
export async function igScores(model: EsmModel, head: ClassifierHead, records: readonly TaskRecord[], classNames: readonly string[], opts: IgOptions): Promise<NeuronScores> {
  checkFrozen(model, head);
  if (classNames.length !== head.numClasses) throw new Error(`integrated gradients: ${classNames.length} class names for a ${head.numClasses}-class head`);
  const layout = neuronLayout(model.config);
  const N = layout.total;
  const P = NEURON_MODULES.length * layout.numLayers;
  const E = records.length;
  const R = blockRows(layout, E);
  const maxTokens = Math.min(opts.maxLength, Math.max(1, ...records.map((r) => r.sequence.length))) + 2;
  const ctx = igContext(model, head, opts, R, maxTokens);
  const values = new Float32Array(E * N); // (E, N)
  const completeness = ctx.withBaseline ? new Float32Array(E * P * 3) : undefined; // (E, P, 3)
  try {
    for (let start = 0; start < E; start += R) {
      const block = records.slice(start, start + R);
      if (start > 0) {
        fillInPlace(ctx.score, 0);
        fillInPlace(ctx.stats, 0);
      }
      for (const [i, record] of block.entries()) {
        await tidyAsync(() => igExampleScores(ctx, igExample(ctx, record, i, opts.maxLength)));
        opts.onProgress?.(start + i + 1, E);
      }
      values.set((await ctx.score.f32()).subarray(0, block.length * N), start * N);
      if (completeness) completeness.set((await ctx.stats.f32()).subarray(0, block.length * P * 3), start * P * 3);
    }
  } finally {
    ctx.dispose();
  }
  return {
    method: 'ig',
    layout,
    classNames,
    examples: records.map((r) => ({ id: r.id, label: r.label, residues: Math.min(r.sequence.length, opts.maxLength) })),
    values,
    completeness,
    meta: {
      ...opts.meta,
      steps: opts.steps,
      rule: opts.rule,
      baseline: opts.baseline ? 'mean activation' : 'zero',
      positions: opts.positions ?? 'all',
      internal_batch: ctx.chunks[0]!.m,
      path: opts.path ?? 'fused',
      max_length: opts.maxLength,
      modules: ctx.modules,
    },
  };
}
