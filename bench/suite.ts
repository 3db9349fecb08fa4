/**
 * One command for a GPU machine: `npm run bench -- suite [--json] [--no-peer] [--only matmul,ig]` prints the adapter's
 * description, whether it is a software adapter (engine isSoftwareAdapter: lavapipe, SwiftShader) and
 * its limits, then runs matmul, esm (t6_8M and the default model's shape, and a t33_650M forward), train
 * and ig with repetitions sized for a real GPU: the whole suite should finish within about 8 minutes
 * there (on lavapipe it takes far longer; use the single benches with their defaults instead).
 * Rows keep their bench's name; the peers are the single benches' (tfjs-webgpu on the same adapter,
 * PyTorch CPU when installed).
 */
import { isSoftwareAdapter } from '../engine/device.js';
import { rt } from '../engine/context.js';
import { type Bench, type BenchContext, option } from './lib/bench.js';

/** A step of the suite: a bench and the arguments sized for a GPU. */
interface Step {
  readonly name: string;
  readonly load: () => Promise<{ default: Bench }>;
  readonly args: readonly string[];
}

/** What the suite runs, in order. */
const STEPS: readonly Step[] = [
  { name: 'matmul', load: () => import('./matmul.js'), args: [] },
  { name: 'esm', load: () => import('./esm.js'), args: ['--repeats', '10', '--t33', '--t33-shape', '8x256', '--t33-repeats', '5'] },
  { name: 'train', load: () => import('./train.js'), args: ['--repeats', '10'] },
  { name: 'ig', load: () => import('./ig.js'), args: ['--repeats', '3'] },
];

/** The adapter's description and limits as lines for the log. */
export function adapterReport(): string[] {
  const i = rt().info;
  const soft = isSoftwareAdapter(i);
  return [
    `suite: adapter ${i.description || 'unknown'}`,
    `suite: software adapter: ${soft ? 'YES (a CPU rasteriser such as lavapipe or SwiftShader, not a GPU)' : 'no'}; fallback flag ${i.isFallback}`,
    `suite: features: shader-f16 ${i.f16}, subgroups ${i.subgroups} (sizes ${i.subgroupMinSize}-${i.subgroupMaxSize}), timestamp-query ${i.timestamps}`,
    `suite: limits: ${i.maxInvocations} invocations per workgroup, ${i.maxWorkgroupStorage} B workgroup storage, ` +
      `${i.maxStorageBuffersPerStage} storage buffers per stage, storage binding ${(i.maxStorageBindingSize / 2 ** 20).toFixed(0)} MiB, ` +
      `buffer ${(i.maxBufferSize / 2 ** 20).toFixed(0)} MiB, ${i.maxWorkgroupsPerDim} workgroups per dimension`,
  ];
}

/** The bench module (bench/run.ts loads it by name). */
const bench: Bench = {
  name: 'suite',
  description: 'matmul, esm (t6_8M, the default model, t33_650M), train and ig sized for a real GPU (~8 minutes there); prints the adapter first',
  async run(ctx) {
    for (const line of adapterReport()) ctx.log(line);
    if (isSoftwareAdapter(rt().info)) ctx.log('suite: WARNING: this is a software adapter; the suite is sized for a GPU and will run for a long time');
    const passThrough = ctx.args.filter((a) => a === '--no-peer');
    const only = option(ctx.args, '--only')?.split(',');
    const t0 = performance.now();
    for (const step of STEPS.filter((s) => !only || only.includes(s.name))) {
      const s0 = performance.now();
      ctx.log(`suite: ${step.name} ${[...step.args, ...passThrough].join(' ')}`);
      const sub: BenchContext = { args: [...step.args, ...passThrough], json: ctx.json, emit: ctx.emit, log: ctx.log };
      await (await step.load()).default.run(sub);
      ctx.log(`suite: ${step.name} took ${((performance.now() - s0) / 1000).toFixed(1)} s`);
    }
    ctx.log(`suite: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  },
};

export default bench;
