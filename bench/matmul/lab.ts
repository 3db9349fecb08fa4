/**
 * The kernel lab: sweeps the numbered variants (variants.ts) and the promoted kernel (through the
 * engine's matmul op) over square sizes, checks each against float64 dot products on sampled entries,
 * and prints GFLOP/s by wall time and per CPU-second (the latter is steadier when other processes
 * share the 2 cores). Run: `npm run bench -- matmul --lab [--sizes 512,1024] [--only 05,13]`.
 */
import { rt } from '../../engine/context.js';
import { Uniforms } from '../../engine/kernel.js';
import { matmul } from '../../engine/ops/matmul.js';
import { rng } from '../../engine/random.js';
import { type Tensor, tensor } from '../../engine/tensor.js';
import { type BenchContext, fixed2, option } from '../lib/bench.js';
import { timeIt } from '../lib/timing.js';
import { VARIANTS, type Variant } from './variants.js';

function randomF32(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

/** Largest error over 64 sampled entries of c (M, N), relative to the sum of |products|. */
function sampleError(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number): number {
  const r = rng(5);
  let worst = 0;
  for (let s = 0; s < 64; s++) {
    const i = Math.floor(r() * m);
    const j = Math.floor(r() * n);
    let want = 0;
    let mag = 0;
    for (let q = 0; q < k; q++) {
      want += a[i * k + q]! * b[q * n + j]!;
      mag += Math.abs(a[i * k + q]! * b[q * n + j]!);
    }
    worst = Math.max(worst, Math.abs(c[i * n + j]! - want) / Math.max(mag, 1e-30));
  }
  return worst;
}

/** The promoted kernel, run through the op exactly as the model runs it. */
const PROMOTED: Variant = { id: 'promoted', code: '', tileM: 0, tileN: 0, history: 'shaders/matmul.wgsl through the matmul op' };

async function measure(v: Variant, s: number): Promise<{ gflops: number; perCpu: number; err: number }> {
  const ha = randomF32(s * s, 1);
  const hb = randomF32(s * s, 2);
  const a = tensor(ha, [s, s], 'f32', 'lab.a'); // (M, K)
  const b = tensor(hb, [s, s], 'f32', 'lab.b'); // (K, N)
  let c: Tensor = tensor(new Float32Array(s * s), [s, s], 'f32', 'lab.c'); // (M, N)
  let step: () => void;
  if (v === PROMOTED) {
    step = () => {
      c.dispose();
      c = matmul(a, b);
    };
  } else {
    const spec = { module: { name: `lab_${v.id}`, code: v.code }, entry: 'main', bindings: ['uniform', 'read', 'read', 'rw'] as const, constants: v.constants };
    const uniforms = new Uniforms().u32(s, s, s, 0).finish();
    const grid: [number, number] = [Math.ceil(s / v.tileN), Math.ceil(s / v.tileM)];
    step = () => rt().dispatch({ kernel: spec, uniforms, buffers: [a.buffer, b.buffer, c.buffer], workgroups: grid });
  }
  const t = await timeIt(step, () => rt().sync());
  const err = sampleError(ha, hb, await c.f32(), s, s, s);
  for (const x of [a, b, c]) x.dispose();
  const flop = 2 * s * s * s;
  return { gflops: flop / (t.wallMs * 1e6), perCpu: flop / (t.cpuMs * 1e6), err };
}

/** Runs the sweep and prints one line per variant and size. */
export async function runLab(ctx: BenchContext): Promise<void> {
  const sizes = (option(ctx.args, '--sizes') ?? '1024').split(',').map(Number);
  const only = option(ctx.args, '--only')?.split(',');
  ctx.log(`device: ${rt().info.description}`);
  for (const v of [...VARIANTS, PROMOTED]) {
    if (only && !only.some((o) => v.id.startsWith(o))) continue;
    for (const s of sizes) {
      const { gflops, perCpu, err } = await measure(v, s);
      const ok = err < 1e-5 ? 'ok' : `WRONG (rel err ${err.toExponential(1)})`;
      const rates = `${fixed2(gflops).padStart(7)} GFLOP/s ${fixed2(perCpu).padStart(6)} per CPU-s`;
      console.log(`${v.id.padEnd(22)} ${String(s).padStart(5)}^3 ${rates}  ${ok}  ${v.history}`);
    }
  }
}
