/**
 * f32 matmul GFLOP/s: cubes 256..2048 and ESM-2-shaped products (t6_8M layers at 2048 tokens: D = 320,
 * F = 1280), forward and backward-style transposes, ours against @tensorflow/tfjs-backend-webgpu
 * on the same Dawn adapter. Both sides: warm-up, then N back-to-back products, then one value read back
 * from the last result (a sync point for both), median of 5 repeats.
 *
 *   npm run bench -- matmul [--json] [--only 1024] [--no-peer]
 *   npm run bench -- matmul --lab [--sizes 512,1024] [--only 11]   (the kernel lab, bench/matmul/)
 */
import { loadavg } from 'node:os';
import { rt } from '../engine/context.js';
import { type Bench, type BenchContext, fixed2, option, truncate } from './lib/bench.js';
import { type Product, matmulOperands, timeMatmul } from './lib/runs.js';
import { tfjsWebgpu } from './lib/tfjs.js';
import { type Timing, type TimingPlan, DEFAULT_PLAN, timeIt } from './lib/timing.js';
import { runLab } from './matmul/lab.js';

/** One product: op(a) (M, K) . op(b) (K, N), operands stored as the flags say. */

const cube = (s: number): Product => ({ name: `${s}x${s}x${s}`, m: s, k: s, n: s, transA: false, transB: false });

/** The cases, in print order. */
export const PRODUCTS: readonly Product[] = [
  cube(256),
  cube(512),
  cube(1024),
  cube(2048),
  { name: 'esm fc1 [2048,320]x[320,1280]', m: 2048, k: 320, n: 1280, transA: false, transB: false },
  { name: 'esm fc2 [2048,1280]x[1280,320]', m: 2048, k: 1280, n: 320, transA: false, transB: false },
  { name: 'esm proj [2048,320]x[320,320]', m: 2048, k: 320, n: 320, transA: false, transB: false },
  { name: 'esm fc1 linear [2048,320]x[1280,320]^T', m: 2048, k: 320, n: 1280, transA: false, transB: true },
  { name: 'esm fc1 dW [2048,1280]^Tx[2048,320]', m: 1280, k: 2048, n: 320, transA: true, transB: false },
  { name: 'esm fc2 dW [2048,320]^Tx[2048,1280]', m: 320, k: 2048, n: 1280, transA: true, transB: false },
];

const PLAN: TimingPlan = { ...DEFAULT_PLAN, warmup: 1 };


/** GFLOP/s by wall time, and GFLOP per second of process CPU time (steadier when the cores are shared). */
interface Rate {
  readonly wall: number;
  readonly perCpu: number;
}

function rate(p: Product, t: Timing): Rate {
  const flop = 2 * p.m * p.n * p.k;
  return { wall: flop / (t.wallMs * 1e6), perCpu: flop / (t.cpuMs * 1e6) };
}

/** Our rates for one product. */
async function ours(p: Product): Promise<Rate> {
  return rate(p, await timeMatmul(p, PLAN));
}

/** tfjs-backend-webgpu's rates for the same product, timed the same way. */
async function peer(p: Product): Promise<Rate> {
  const tf = await tfjsWebgpu();
  const [ha, sa, hb, sb] = matmulOperands(p);
  const a = tf.tensor(ha, sa); // (M, K) or (K, M)
  const b = tf.tensor(hb, sb); // (K, N) or (N, K)
  let last: ReturnType<typeof tf.matMul> | null = null;
  const step = () => {
    last?.dispose();
    last = tf.matMul(a, b, p.transA, p.transB); // (M, N)
  };
  const sync = async () => {
    const one = tf.slice(last!, [0, 0], [1, 1]);
    // Through the runtime's host wait, as our own reads go: the JS thread sleeps instead of spinning
    // in Dawn's poll, which would take a core from the adapter's threads (engine/host_wait.ts).
    await rt().hostWait(one.data());
    one.dispose();
  };
  const t = await timeIt(step, sync, PLAN);
  (last as { dispose(): void } | null)?.dispose();
  a.dispose();
  b.dispose();
  return rate(p, t);
}

async function run(ctx: BenchContext): Promise<void> {
  if (ctx.args.includes('--lab')) return runLab(ctx);
  const only = option(ctx.args, '--only');
  const withPeer = !ctx.args.includes('--no-peer');
  ctx.log(`device: ${rt().info.description}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const p of PRODUCTS) {
    if (only && !p.name.includes(only)) continue;
    const o = await ours(p);
    const v = withPeer ? await peer(p) : null;
    ctx.emit({ bench: 'matmul', case: p.name, ours: truncate(o.wall, 3), peer: v ? 'tfjs-webgpu' : null, peer_value: v ? truncate(v.wall, 3) : null, unit: 'GFLOP/s' });
    ctx.log(`    per CPU-second: ours ${fixed2(o.perCpu)}${v ? `, tfjs-webgpu ${fixed2(v.perCpu)}` : ''} GFLOP`);
  }
  ctx.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

const bench: Bench = { name: 'matmul', description: 'f32 matmul GFLOP/s vs tfjs-webgpu (cubes, ESM-2 shapes, transposes); --lab sweeps kernel variants', run };
export default bench;
