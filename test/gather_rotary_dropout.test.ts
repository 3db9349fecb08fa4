/**
 * What the case tables cannot express for gather, rotary and dropout: shape errors that name the
 * shapes, out-of-range indices, bit-reproducible and ordered gather gradients, the rotary table
 * cache bound, and dropout's mask statistics and seeding.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward, permute, reshape, rt, scale, tensor, tidyAsync } from '../engine/index.js';
import { dropout, dropoutSeed } from '../engine/ops/dropout.js';
import { gather, sortPlan } from '../engine/ops/gather.js';
import type { TensorMeta } from '../engine/ops/op.js';
import { OPS } from '../engine/ops/registry.js';
import { ROTARY_CACHE_LIMIT, clearRotaryCache, rotary, rotaryCacheSize, rotaryHeads } from '../engine/ops/rotary.js';
import { arr, randn } from '../engine/ref/array.js';
import { rng } from '../engine/random.js';
import { dropoutMask } from '../engine/ref/dropout.js';
import { gatherRef } from '../engine/ref/gather.js';
import { assertClose } from './lib/compare.js';
import { gpu } from './lib/gpu.js';

test.before(async () => {
  await gpu();
});

const meta = (shape: number[], dtype: 'f32' | 'i32' = 'f32'): TensorMeta => ({ shape, dtype });

/** Fails naming the first differing element; uvu's own diff of million-element arrays takes minutes. */
function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i])) assert.unreachable(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

function throwsWith(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (e) {
    assert.is((e as Error).message, message);
    return;
  }
  assert.unreachable(`expected "${message}"`);
}

test('shape errors name the shapes', () => {
  throwsWith(() => OPS.rotary.infer([meta([2, 3, 5])], {}), 'rotary: x [2, 3, 5] has odd last axis 5');
  throwsWith(() => OPS.rotary.infer([meta([4])], {}), 'rotary: x [4] must be [..., L, Dh]');
  throwsWith(() => OPS.rotary.infer([meta([3, 4], 'i32')], {}), 'rotary: x [3, 4] must be f32, got i32');
  throwsWith(() => OPS.gather.infer([meta([33]), meta([2], 'i32')], {}), 'gather: table [33] must be [V, D]');
  throwsWith(() => OPS.gather.infer([meta([33, 8]), meta([2, 5])], {}), 'gather: indices [2, 5] must be i32, got f32');
  throwsWith(() => OPS.gather.infer([meta([33, 8], 'i32'), meta([2], 'i32')], {}), 'gather: table [33, 8] must be f32, got i32');
  throwsWith(() => OPS.dropout.infer([meta([3])], { p: 1, seed: 0 }), 'dropout: p = 1 must be in [0, 1) (x [3])');
  throwsWith(() => OPS.dropout.infer([meta([3])], { p: -0.1, seed: 0 }), 'dropout: p = -0.1 must be in [0, 1) (x [3])');
  throwsWith(() => OPS.dropout.infer([meta([3])], { p: 0.1, seed: 1.5 }), 'dropout: seed 1.5 must be an integer in [0, 2^32)');
});

test('shape errors come before any GPU work', async () => {
  await tidyAsync(async () => {
    const x = tensor(new Float32Array(30), [2, 3, 5]);
    const before = rt().kernelCounts();
    assert.throws(() => rotary(x), /odd last axis 5/);
    assert.throws(() => gather(x, x), /table \[2, 3, 5\] must be \[V, D\]/);
    assert.equal(rt().kernelCounts(), before);
  });
});

test('gather skips out-of-range indices: zero rows, no gradient', async () => {
  const idx = [0, -1, 4, 5, 3, 2147483647, -2147483648, 4, 0];
  const table = randn([5, 7], rng(1));
  const dy = randn([idx.length, 7], rng(2));
  const ix = arr([idx.length], idx);
  await tidyAsync(async () => {
    const t = tensor(table.data, table.shape);
    t.requiresGrad = true;
    const y = gather(t, tensor(idx, [idx.length], 'i32'));
    assertClose(await y.f32(), gatherRef.gather.forward([table, ix], {}), 1e-7, 'forward');
    backward(y, tensor(dy.data, dy.shape));
    assertClose(await t.grad!.f32(), gatherRef.gather.vjp([table, ix], {}, dy)[0]!, 1e-6, 'd_table');
  });
});

/** The f32 gradient summed in ascending position order, as the kernel promises. */
function orderedF32Grad(idx: Int32Array, dy: Float32Array, v: number, d: number): Float32Array {
  const out = new Float32Array(v * d);
  idx.forEach((row, n) => {
    if (row < 0 || row >= v) return;
    for (let k = 0; k < d; k++) out[row * d + k] = Math.fround(out[row * d + k]! + dy[n * d + k]!);
  });
  return out;
}

async function gatherGrad(v: number, d: number, idx: Int32Array, dy: Float32Array): Promise<Float32Array> {
  return tidyAsync(async () => {
    const t = tensor(new Float32Array(v * d), [v, d]);
    t.requiresGrad = true;
    const y = gather(t, tensor(idx, [idx.length], 'i32'));
    backward(y, tensor(dy, [idx.length, d]));
    return t.grad!.f32();
  });
}

for (const [v, d, n] of [
  [33, 64, 5000],
  [70000, 2, 1500],
] as const) {
  test(`gather backward V=${v} D=${d} N=${n} (${sortPlan(v).passes} radix passes) sums in position order, bit-reproducibly`, async () => {
    const rand = rng(v);
    // Skewed like padded batches: half the positions hold index 1.
    const idx = Int32Array.from({ length: n }, () => (rand() < 0.5 ? 1 : Math.floor(rand() * (v + 2)) - 1));
    const dy = Float32Array.from(randn([n, d], rand).data);
    const a = await gatherGrad(v, d, idx, dy);
    const b = await gatherGrad(v, d, idx, dy);
    assertSame(new Uint32Array(a.buffer), new Uint32Array(b.buffer), 'two runs differ');
    assertSame(new Uint32Array(a.buffer), new Uint32Array(orderedF32Grad(idx, dy, v, d).buffer), 'not the ordered f32 sum');
  });
}

test('gather of empty indices: empty output, zero gradient', async () => {
  await tidyAsync(async () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    t.requiresGrad = true;
    const y = gather(t, tensor([], [0, 4], 'i32'));
    assert.equal([...y.shape], [0, 4, 2]);
    backward(y, tensor([], [0, 4, 2]));
    assert.equal([...(await t.grad!.f32())], [0, 0, 0, 0, 0, 0]);
  });
});

test('rotary: position 0 is the identity; [B, H, L, Dh] equals [B*H, L, Dh]', async () => {
  await tidyAsync(async () => {
    const x0 = randn([3, 1, 16], rng(5));
    const y0 = await rotary(tensor(x0.data, x0.shape)).f32();
    assertSame(y0, Float32Array.from(x0.data), 'L=1');
    const x = tensor(randn([2, 3, 7, 8], rng(6)).data, [2, 3, 7, 8]);
    const a = await rotary(x).f32();
    const b = await rotary(reshape(x, [6, 7, 8])).f32();
    assertSame(a, b, 'BHLD vs (B*H)LD');
  });
});

test('rotary: the cos/sin table cache stays bounded and frees its memory', async () => {
  clearRotaryCache();
  await rt().sync();
  const live = rt().pool.snapshot().liveBytes;
  await tidyAsync(async () => {
    for (let l = 1; l <= ROTARY_CACHE_LIMIT + 5; l++) rotary(tensor(new Float32Array(l * 4), [l, 4])).dispose();
    assert.is(rotaryCacheSize(), ROTARY_CACHE_LIMIT);
    // A hit keeps the entry: L = ROTARY_CACHE_LIMIT + 5 is the newest.
    const y = rotary(tensor(new Float32Array(8 * 4).fill(1), [8, 4]));
    assert.ok((await y.f32()).every(Number.isFinite));
  });
  assert.ok(rt().pool.snapshot().liveBytes > live);
  clearRotaryCache();
  assert.is(rotaryCacheSize(), 0);
  assert.is(rt().pool.snapshot().liveBytes, live);
});

/** The keep mask the GPU applied, read from dropout(ones). */
async function gpuMask(n: number, p: number, seed: number): Promise<Uint8Array> {
  return tidyAsync(async () => {
    const y = await dropout(tensor(new Float32Array(n).fill(1), [n]), { p, seed }).f32();
    const scale = Math.fround(1 / (1 - p));
    return Uint8Array.from(y, (v) => {
      if (v !== 0 && v !== scale) throw new Error(`dropout output ${v} is neither 0 nor ${scale}`);
      return v ? 1 : 0;
    });
  });
}

const N = 1 << 20;
const fraction = (m: Uint8Array) => m.reduce((a, b) => a + b, 0) / m.length;

for (const p of [0.1, 0.5]) {
  test(`dropout p=${p}: keep fraction is 1-p, the mask is the reference's bit for bit`, async () => {
    const mask = await gpuMask(N, p, 1234);
    const sigma = Math.sqrt((p * (1 - p)) / N);
    const kept = fraction(mask);
    assert.ok(Math.abs(kept - (1 - p)) < 5 * sigma, `kept ${kept}, expected ${1 - p}`);
    // Neighbouring elements are independent: P(both kept) = (1-p)^2.
    let pairs = 0;
    for (let i = 0; i + 1 < N; i++) pairs += mask[i]! & mask[i + 1]!;
    assert.ok(Math.abs(pairs / (N - 1) - (1 - p) ** 2) < 0.005, `adjacent keep rate ${pairs / (N - 1)}`);
    assertSame(mask, dropoutMask(N, { p, seed: 1234 }), 'GPU mask vs reference');
  });
}

test('dropout: same seed same mask, different seeds differ', async () => {
  const p = 0.5;
  const a = await gpuMask(N, p, 77);
  const b = await gpuMask(N, p, 77);
  const c = await gpuMask(N, p, 78);
  assertSame(a, b, 'seed 77 twice');
  let agree = 0;
  for (let i = 0; i < N; i++) agree += a[i] === c[i] ? 1 : 0;
  // Independent masks agree on p^2 + (1-p)^2 = half the elements.
  assert.ok(Math.abs(agree / N - 0.5) < 0.005, `seeds 77 and 78 agree on ${agree / N}`);
  assert.is.not(dropoutSeed(7, 100, 3), dropoutSeed(7, 101, 3));
  assert.is(dropoutSeed(7, 100, 3), dropoutSeed(7, 100, 3));
});

test('dropout p=0 is an exact copy', async () => {
  await tidyAsync(async () => {
    const x = Float32Array.from(randn([1001], rng(9)).data);
    const y = await dropout(tensor(x, [1001]), { p: 0, seed: 5 }).f32();
    assertSame(new Uint32Array(y.buffer), new Uint32Array(x.buffer), 'p=0 output');
  });
});

test('rotaryHeads equals rotary on split heads, scaled, with a stored inv_freq', async () => {
  const [B, L, H, Dh] = [2, 11, 3, 16];
  const x = randn([B, L, H * Dh], rng(8));
  const invFreq = Array.from({ length: Dh / 2 }, (_, j) => Math.fround(1 / 10000 ** ((2 * j) / Dh)) * 1.001);
  await tidyAsync(async () => {
    const t = tensor(x.data, x.shape); // (B, L, H Dh)
    const split = rotary(permute(reshape(scale(t, 0.25), [B, L, H, Dh]), [0, 2, 1, 3]), invFreq); // (B, H, L, Dh)
    const want = await permute(split, [0, 2, 1, 3]).f32(); // (B, L, H, Dh)
    assertClose(await rotaryHeads(t, H, 0.25, invFreq).f32(), arr([B, L, H * Dh], want), 1e-6, 'rotaryHeads');
    assert.throws(() => rotaryHeads(t, 4, 1), /must be \[B, L, H Dh\] with H = 4 and Dh a multiple of 8/);
  });
});

test.run();
