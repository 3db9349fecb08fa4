/** Dispatch-grid helpers shared by the op families. */
import { rt } from '../context.js';

/**
 * Workgroups covering n threads of size wg, as [x, y]: y > 1 only past the per-dimension limit
 * (65535). Kernels rebuild the linear index as gid.x + gid.y * num_workgroups.x * WG.
 */
export function grid1d(n: number, wg: number): [number, number] {
  const groups = Math.ceil(n / wg);
  const max = rt().info.maxWorkgroupsPerDim;
  if (groups <= max) return [groups, 1];
  const x = max;
  return [x, Math.ceil(groups / x)];
}

/** The default 1-D workgroup size: 256 fits every adapter (SwiftShader's limit is 256). */
export function defaultWg(): number {
  return Math.min(256, rt().info.maxInvocations);
}

/**
 * Workgroup shape of the subgroup kernels (matmul, fused attention), or null where the device has no
 * subgroups of at least 4 lanes: WG lanes per workgroup (one subgroup on lavapipe's 8, at least 8),
 * RG lanes sharing a's loads through subgroupShuffle (8, or 4 on 4-lane subgroups such as SwiftShader's).
 */
export function subgroupTiling(): { wg: number; rg: number } | null {
  const info = rt().info;
  const lanes = info.subgroups ? info.subgroupMinSize : 0;
  if (lanes < 4) return null;
  return { wg: Math.max(8, Math.min(64, lanes)), rg: lanes >= 8 ? 8 : 4 };
}
