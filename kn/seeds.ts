/**
 * The study's one --seed split into independent rng streams, one per analysis, so that no two analyses
 * reuse a draw: before, the ablation tests' paired bootstrap of cell c, metric m drew from
 * rng(seed * 1000003 + 2c + m) and the density's resample b from rng(seed * 100003 + b), which for
 * seed 0 are the same streams. Each stream seed is mixSeed(seed, analysis tag, index...): deterministic,
 * recreatable on its own, and distinct across analyses (the tag is hashed in). Pure code.
 */
import { mixSeed } from '../model/batching.js';

/** One tag per analysis that draws from the study's seed (never reuse or renumber a tag: results would change). */
export const SEED_STREAMS = { ablationTests: 1, density: 2, basisFree: 3 } as const;

/** Seed of the paired bootstrap of one ablation test (cell index, metric index). */
export function ablationTestSeed(seed: number, cellIndex: number, metricIndex: number): number {
  return mixSeed(seed, SEED_STREAMS.ablationTests, cellIndex, metricIndex);
}

/** Seed of one density bootstrap resample of the scored examples. */
export function densityResampleSeed(seed: number, resample: number): number {
  return mixSeed(seed, SEED_STREAMS.density, resample);
}

/** Seed of one bootstrap of the basis-free checks (kn/basis_free.ts): 'zeroing' contrast index, or 'activation' resample index. */
export function basisFreeSeed(seed: number, kind: 'zeroing' | 'activation', index: number): number {
  return mixSeed(seed, SEED_STREAMS.basisFree, kind === 'zeroing' ? 0 : 1, index);
}
