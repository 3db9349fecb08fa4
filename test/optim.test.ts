/**
 * AdamW and gradient clipping against the float64 reference (engine/ref/adamw.ts), checkpoint
 * resume bit-exactness, no readback or submit inside an update, and flat memory over 100 steps.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Tensor, add, backward, keep, mean, mul, rt, square, sub, tensor, tidy } from '../engine/index.js';
import { AdamW, type AdamWState } from '../engine/optim/adamw.js';
import { clipGradNorm } from '../engine/optim/clip.js';
import { arr, randn } from '../engine/ref/array.js';
import { rng } from '../engine/random.js';
import { adamwStepRef, clipGradNormRef } from '../engine/ref/adamw.js';
import { assertClose } from './lib/compare.js';
import { gpu } from './lib/gpu.js';

test.before(async () => {
  await gpu();
});

const SHAPES = [[33, 5], [7], [300], [2, 3, 65]] as const;
const DECAY = [0.01, 0, 0.1, 0.05];

/** Gradients for step s of parameter i: random, seeded, f32 values. */
function gradValues(s: number, i: number, size: number): Float32Array {
  return Float32Array.from(randn([size], rng(100 * s + i)).data);
}

/** Fails naming the first differing element; uvu's own diff of large arrays takes minutes. */
function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i])) assert.unreachable(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

function makeParams(seed: number): Tensor[] {
  return SHAPES.map((shape, i) => {
    const init = randn(shape, rng(seed + i), 0.5);
    const t = keep(tensor(init.data, shape, 'f32', `param${i}`));
    t.requiresGrad = true;
    return t;
  });
}

function setGrads(params: readonly Tensor[], s: number, skip = -1): void {
  params.forEach((p, i) => {
    p.grad?.dispose();
    p.grad = i === skip ? null : keep(tensor(gradValues(s, i, p.size), p.shape, 'f32', `grad${i}`));
  });
}

const OPTS = { betas: [0.9, 0.98] as const, eps: 1e-6, weightDecay: 0.01 };
const lrAt = (s: number) => 1e-2 * (1 + s) / 4;

function optimizer(params: readonly Tensor[]): AdamW {
  return new AdamW(params.map((param, i) => (DECAY[i] === 0.01 ? param : { param, weightDecay: DECAY[i]! })), OPTS);
}

test('AdamW matches the float64 reference over 6 steps, a parameter without gradient skipped', async () => {
  const params = makeParams(10);
  const ref = await Promise.all(params.map(async (p) => Float64Array.from(await p.f32())));
  const m = params.map((p) => new Float64Array(p.size));
  const v = params.map((p) => new Float64Array(p.size));
  const steps = params.map(() => 0);
  const opt = optimizer(params);
  for (let s = 0; s < 6; s++) {
    const skip = s === 2 ? 1 : -1;
    setGrads(params, s, skip);
    opt.step(lrAt(s));
    params.forEach((p, i) => {
      if (i === skip) return;
      adamwStepRef(ref[i]!, gradValues(s, i, p.size), m[i]!, v[i]!, ++steps[i]!, {
        lr: lrAt(s), beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: DECAY[i]!,
      });
    });
  }
  const state = await opt.exportState();
  assert.equal([...state.steps], steps);
  for (const [i, p] of params.entries()) {
    assertClose(await p.f32(), arr(p.shape, ref[i]), 2e-6, `param ${i}`);
    assertClose(state.m[i]!, arr(p.shape, m[i]), 2e-6, `m ${i}`);
    assertClose(state.v[i]!, arr(p.shape, v[i]), 2e-6, `v ${i}`);
  }
  opt.zeroGrad();
  assert.ok(params.every((p) => p.grad === null));
  opt.dispose();
  params.forEach((p) => p.dispose());
});

test('AdamW lrScale: a parameter with scale X follows the reference at lr x X, weight decay included', async () => {
  const params = makeParams(30);
  const ref = await Promise.all(params.map(async (p) => Float64Array.from(await p.f32())));
  const m = params.map((p) => new Float64Array(p.size));
  const v = params.map((p) => new Float64Array(p.size));
  const SCALE = [1, 4, 0.5, 10];
  const opt = new AdamW(params.map((param, i) => ({ param, weightDecay: DECAY[i]!, lrScale: SCALE[i]! })), OPTS);
  for (let s = 0; s < 3; s++) {
    setGrads(params, s);
    opt.step(lrAt(s));
    params.forEach((p, i) => adamwStepRef(ref[i]!, gradValues(s, i, p.size), m[i]!, v[i]!, s + 1, {
      lr: lrAt(s) * SCALE[i]!, beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: DECAY[i]!,
    }));
  }
  for (const [i, p] of params.entries()) assertClose(await p.f32(), arr(p.shape, ref[i]), 2e-6, `param ${i}`);
  opt.dispose();
  params.forEach((p) => p.dispose());
  const other = makeParams(31);
  assert.throws(() => new AdamW([{ param: other[0]!, lrScale: 0 }]), /lr scale 0/);
  other.forEach((p) => p.dispose());
});

/** Runs steps [from, to) of the fixed gradient sequence. */
function run(opt: AdamW, params: readonly Tensor[], from: number, to: number): void {
  for (let s = from; s < to; s++) {
    setGrads(params, s);
    opt.step(lrAt(s));
  }
}

for (const via of ['host arrays', 'GPU copies'] as const) {
  test(`AdamW resumed from exported state (${via}) equals an uninterrupted run bit for bit`, async () => {
    const a = makeParams(20);
    const optA = optimizer(a);
    run(optA, a, 0, 5);
    const b = makeParams(20);
    const optB = optimizer(b);
    run(optB, b, 0, 3);
    const state: AdamWState<Float32Array | Tensor> = via === 'host arrays' ? await optB.exportState() : optB.snapshotState();
    const saved = await Promise.all(b.map((p) => p.f32()));
    optB.dispose();
    const c = saved.map((values, i) => {
      const t = keep(tensor(values, SHAPES[i]!));
      t.requiresGrad = true;
      return t;
    });
    const optC = optimizer(c);
    optC.loadState(state);
    if (via === 'GPU copies') for (const t of [...state.m, ...state.v]) (t as Tensor).dispose();
    run(optC, c, 3, 5);
    for (let i = 0; i < a.length; i++) {
      const [x, y] = [await a[i]!.f32(), await c[i]!.f32()];
      assertSame(new Uint32Array(x.buffer), new Uint32Array(y.buffer), `param ${i}`);
    }
    for (const o of [optA, optC]) {
      o.zeroGrad();
      o.dispose();
    }
    [...a, ...b, ...c].forEach((p) => p.dispose());
  });
}

test('clipGradNorm matches the reference, clips on the GPU without a submit', async () => {
  for (const maxNorm of [1.5, 1e6]) {
    const params = makeParams(30);
    setGrads(params, 9);
    const grads = params.map((p, i) => Float64Array.from(gradValues(9, i, p.size)));
    const before = await Promise.all(params.map((p) => p.grad!.f32()));
    const wantNorm = clipGradNormRef(grads, maxNorm);
    const submits = rt().submitCount;
    const norm = clipGradNorm(params, maxNorm);
    assert.is(rt().submitCount, submits, 'clipping submitted work');
    assert.equal([...norm.shape], []);
    assertClose([await norm.item()], arr([1], [wantNorm]), 1e-6, 'norm');
    for (const [i, p] of params.entries()) {
      const got = await p.grad!.f32();
      if (maxNorm > wantNorm) assertSame(new Uint32Array(got.buffer), new Uint32Array(before[i]!.buffer), 'unclipped gradients');
      else assertClose(got, arr(p.shape, grads[i]), 1e-6, `clipped grad ${i}`);
    }
    norm.dispose();
    params.forEach((p) => p.dispose());
  }
});

test('100 AdamW steps with clipping learn and do not grow live GPU memory', async () => {
  const rand = rng(3);
  const x = keep(tensor(randn([64, 5], rand).data, [64, 5]));
  const target = keep(tensor(randn([64, 5], rand).data, [64, 5]));
  const w = keep(tensor(randn([64, 5], rand).data, [64, 5], 'f32', 'w'));
  const b = keep(tensor(new Float32Array(5), [5], 'f32', 'b'));
  w.requiresGrad = b.requiresGrad = true;
  const opt = new AdamW([w, { param: b, weightDecay: 0 }]);
  const lossAt = () => tidy(() => mean(square(sub(add(mul(x, w), b), target))));
  const first = lossAt();
  const initial = await first.item();
  first.dispose();
  let live = 0;
  let submits = 0;
  for (let s = 0; s < 100; s++) {
    tidy(() => backward(lossAt()));
    submits = rt().submitCount;
    clipGradNorm([w, b], 1).dispose();
    opt.step(0.05);
    opt.zeroGrad();
    if (s === 0) live = rt().pool.snapshot().liveBytes;
  }
  assert.ok(rt().submitCount - submits <= 1, 'clip + step should not submit (one arena flush at most)');
  assert.is(rt().pool.snapshot().liveBytes, live, 'live bytes grew');
  const last = lossAt();
  const final = await last.item();
  last.dispose();
  assert.ok(final < initial * 0.1, `loss ${initial} -> ${final}`);
  opt.dispose();
  [x, target, w, b].forEach((t) => t.dispose());
});

test('AdamW rejects bad input', () => {
  const p = keep(tensor([1, 2], [2]));
  assert.throws(() => new AdamW([p, p]), /listed twice/);
  const opt = new AdamW([p]);
  assert.throws(() => opt.step(Number.NaN), /learning rate NaN/);
  p.grad = keep(tensor([1, 2, 3], [3]));
  assert.throws(() => opt.step(0.1), /gradient \[3\] does not match parameter 0 \[2\]/);
  assert.throws(() => opt.loadState({ steps: [1], m: [new Float32Array(3)], v: [new Float32Array(2)] }), /m\[0\] has 3 values/);
  opt.dispose();
  assert.throws(() => opt.step(0.1), /after dispose/);
  p.dispose();
});

test.run();
