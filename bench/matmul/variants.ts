/**
 * The matmul kernel lab: numbered variants, each a WGSL file under the lab contract
 * (c (M, N) = a (M, K) . b (K, N), uniforms {m, n, k}, bindings uniform/a/b/c, entry `main`) and the
 * tile it covers per workgroup. `history` is the one-line lesson each variant taught.
 */
import v01 from './01_global_4x4.wgsl';
import v02 from './02_shared_64x64.wgsl';
import v03 from './03_rowpanel_8x1.wgsl';
import v04 from './04_vec4_4x4.wgsl';
import v05 from './05_subgroup_8x4.wgsl';
import v06 from './06_subgroup_8x2.wgsl';
import v07 from './07_subgroup_vec4a.wgsl';
import v08 from './08_subgroup_4x4v.wgsl';
import v09 from './09_bigtile_32x4.wgsl';
import v10 from './10_unrolled_32x4.wgsl';
import v11 from './11_unrolled_32x4_vec4.wgsl';

/** One lab variant. */
export interface Variant {
  readonly id: string;
  readonly code: string;
  /** Output rows (M) and columns (N) one workgroup covers; grid x walks N tiles, y walks M tiles. */
  readonly tileM: number;
  readonly tileN: number;
  readonly constants?: Readonly<Record<string, number>>;
  readonly history: string;
}

export const VARIANTS: readonly Variant[] = [
  { id: '01_global_4x4', code: v01, tileM: 64, tileN: 64, history: 'baseline: 4x4 tile per invocation, loads straight from storage' },
  { id: '02_shared_64x64', code: v02, tileM: 64, tileN: 64, history: 'workgroup-memory tiles: slower, its loads are per-lane too and barriers cost' },
  { id: '03_rowpanel_8x1', code: v03, tileM: 8, tileN: 64, constants: { WG: 64 }, history: 'uniform a addresses: no gain, lavapipe loads per lane inside any loop' },
  { id: '04_vec4_4x4', code: v04, tileM: 64, tileN: 64, history: 'vec4 loads: fewer load sequences per value' },
  { id: '05_subgroup_8x4', code: v05, tileM: 8, tileN: 32, history: 'a shared by subgroupBroadcast: one load per subgroup, not per lane' },
  { id: '06_subgroup_8x2', code: v06, tileM: 8, tileN: 16, history: '05 with fewer columns per lane: b loads dominate' },
  { id: '07_subgroup_vec4a', code: v07, tileM: 8, tileN: 16, history: '06 with vec4 a' },
  { id: '08_subgroup_4x4v', code: v08, tileM: 4, tileN: 32, history: '4 rows only: too little reuse of each b load' },
  { id: '09_bigtile_32x4', code: v09, tileM: 32, tileN: 32, history: '32x4 tile in loops: not unrolled, accumulators live in scratch' },
  { id: '10_unrolled_32x4', code: v10, tileM: 32, tileN: 32, history: '32x4 tile written out, K by 4: each b value feeds 32 rows' },
  { id: '11_unrolled_32x4_vec4', code: v11, tileM: 32, tileN: 32, history: '10 with vec4 loads (promoted with transposes, bias, batch)' },
];
