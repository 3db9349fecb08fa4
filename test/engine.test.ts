/**
 * The runtime's promises: shape errors before GPU work, GPU errors that name the kernel, one pipeline
 * per spec whatever the shape, batched submits, scoped release, gradient accumulation, no-grad.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  add,
  backward,
  empty,
  exp,
  keep,
  mul,
  noGrad,
  reshape,
  sum,
  tapeLength,
  tensor,
  tidy,
} from '../engine/index.js';
import { rt } from '../engine/context.js';
import { gpuObject } from '../engine/device.js';
import { Runtime } from '../engine/runtime.js';
import { bucketSize } from '../engine/pool.js';
import { blockBroadcast } from '../engine/ops/elementwise.js';
import { gpu } from './lib/gpu.js';

test.before(async () => {
  await gpu();
});

test('a shape error names the op and both shapes, before any GPU work', () => {
  const before = rt().kernelCounts();
  tidy(() => {
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tensor([1, 2, 3, 4], [4]);
    assert.throws(() => add(a, b), /add: cannot broadcast a \[2, 3\] with b \[4\]/);
    assert.throws(() => reshape(a, [4, 2]), /reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
    assert.throws(() => sum(a, 2), /sum: axis 2 out of range for x \[2, 3\]/);
  });
  assert.equal(rt().kernelCounts(), before, 'no kernel was dispatched');
});

test('an invalid kernel is reported with its name at the next sync point', async () => {
  const r = rt();
  const module = { name: 'broken', code: '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }' };
  r.dispatch({ kernel: { module, entry: 'main', bindings: [] }, buffers: [], workgroups: [1] });
  let message = '';
  try {
    await r.sync();
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /GPU validation error/);
  assert.match(message, /broken\.wgsl:main/);
  // The runtime stays usable after the error.
  const t = tensor([1, 2], [2]);
  assert.equal([...(await exp(t).f32())].map((v) => Math.round(v * 1000)), [2718, 7389]);
});

test('using a disposed tensor is an error naming it', () => {
  const t = tensor([1, 2, 3], [3], 'f32', 'weights');
  t.dispose();
  assert.throws(() => exp(t), /exp: input 0 \(Tensor\(weights, \[3\], f32\)\) was disposed/);
});

test('one pipeline per kernel spec, whatever the shapes', async () => {
  const r = rt();
  // Two specs: one element per invocation, and four where the size is a multiple of 4.
  tidy(() => mul(tensor([1, 2], [2]), tensor([3, 4], [2])));
  tidy(() => mul(tensor([1, 2, 3, 4], [4]), tensor([3, 4, 5, 6], [4])));
  const pipelines = r.pipelineCount;
  tidy(() => {
    for (const n of [1, 7, 300, 4097]) mul(tensor(new Float32Array(n), [n]), tensor(new Float32Array(n), [n]));
  });
  await r.sync();
  assert.is(r.pipelineCount, pipelines);
});

test('block broadcasts take the tile kernels, interleaved ones the general kernel', () => {
  assert.equal(blockBroadcast([1, 5, 33], [7, 5, 33]), { inner: 1, size: 165 });
  assert.equal(blockBroadcast([1, 9, 1], [6, 9, 13]), { inner: 13, size: 9 });
  assert.equal(blockBroadcast([13], [6, 9, 13]), { inner: 1, size: 13 });
  assert.equal(blockBroadcast([1], [6, 9]), { inner: 1, size: 1 });
  assert.equal(blockBroadcast([3, 1, 7, 1], [3, 5, 7, 2]), null);
  const count = (entry: string) => Object.entries(rt().kernelCounts()).filter(([k]) => k.endsWith(`:${entry}`)).reduce((s, [, n]) => s + n, 0);
  const before = ['binary_tile', 'binary_tile4', 'binary_forward'].map(count);
  tidy(() => {
    add(tensor(new Float32Array(3 * 3 * 5), [3, 3, 5]), tensor(new Float32Array(3 * 5), [1, 3, 5])); // 45 elements
    add(tensor(new Float32Array(3 * 4 * 5), [3, 4, 5]), tensor(new Float32Array(4 * 5), [1, 4, 5])); // vec4
    add(tensor(new Float32Array(3 * 4 * 5), [3, 4, 5]), tensor(new Float32Array(3 * 5), [3, 1, 5]));
  });
  assert.equal(['binary_tile', 'binary_tile4', 'binary_forward'].map(count), before.map((n) => n + 1));
});

test('dispatches share one submit until a sync point', async () => {
  const r = rt();
  await r.sync();
  const submits = r.submitCount;
  const x = tensor([0.5, 1, 2], [3]);
  const y = tidy(() => {
    let v = x;
    for (let i = 0; i < 50; i++) v = mul(v, x);
    return v;
  });
  assert.is(r.submitCount, submits, 'nothing submitted while recording');
  const got = await y.f32();
  assert.is(r.submitCount, submits + 1, 'one submit for 50 dispatches and the readback');
  assert.ok(Math.abs(got[2]! - 2 ** 51) / 2 ** 51 < 1e-6);
  x.dispose();
  y.dispose();
});

test('tidy releases every intermediate; live memory returns to where it was', async () => {
  const r = rt();
  await r.sync();
  const before = r.pool.snapshot().liveBytes;
  const out = tidy(() => {
    const a = tensor(new Float32Array(1000).fill(1), [10, 100]);
    const b = exp(a);
    const c = mul(b, a);
    return sum(c, 1);
  });
  assert.is(r.pool.snapshot().liveBytes - before, bucketSize(40), 'only the returned [10] tensor is alive');
  out.dispose();
  assert.is(r.pool.snapshot().liveBytes, before);
});

test('gradients accumulate over backward calls and the tape is cleared', async () => {
  const w = keep(tensor([1, 2, 3], [3]));
  w.requiresGrad = true;
  for (let i = 0; i < 2; i++) {
    tidy(() => backward(sum(mul(w, w))));
    assert.is(tapeLength(), 0);
  }
  assert.equal([...(await w.grad!.f32())], [4, 8, 12], 'd/dw sum(w*w) = 2w, twice');
  w.dispose();
});

test('noGrad records nothing', () => {
  const w = tensor([1, 2], [2]);
  w.requiresGrad = true;
  const y = noGrad(() => exp(w));
  assert.is(y.requiresGrad, false);
  assert.is(tapeLength(), 0);
  w.dispose();
  y.dispose();
});

test('a tensor over the binding limit is refused, naming it and its size', () => {
  const limit = rt().info.maxStorageBindingSize;
  const n = Math.floor(limit / 4) + 16;
  assert.throws(() => empty([n], 'f32', 'huge'), /tensor "huge" \[\d+\] needs \d+ bytes, over the device's \d+-byte binding limit/);
});

test('the profiler times each kernel with timestamp queries', async () => {
  const r = rt();
  await r.sync();
  const profiler = r.enableProfiler();
  const x = tensor(new Float32Array(4096).fill(0.5), [64, 64]);
  const y = tidy(() => sum(mul(exp(x), x), 1));
  await y.f32();
  const rows = await profiler.report();
  r.profiler = null;
  x.dispose();
  y.dispose();
  const labels = rows.map((row) => row.label);
  // 4096 elements: the four-per-invocation elementwise kernels.
  for (const k of ['elementwise.wgsl:unary_forward4', 'elementwise.wgsl:binary_flat4', 'reduce.wgsl:reduce_rows']) {
    assert.ok(labels.includes(k), `${k} timed (got ${labels.join(', ')})`);
  }
  assert.ok(rows.every((row) => row.count >= 1 && row.ms >= 0));
});

test('device loss is reported by the next dispatch and by pending reads, never a hang', async () => {
  // A second device on the same adapter, so the suite's device stays usable.
  const adapter = await (await gpuObject()).requestAdapter();
  const device = await adapter!.requestDevice({ label: 'doomed' });
  const r = new Runtime({ device, info: rt().info, lost: device.lost, pollSpins: true });
  const buf = r.alloc(64, 'doomed-buffer');
  const pending = r.read(buf, 64).then(
    () => 'resolved',
    (e: Error) => e.message,
  );
  device.destroy();
  const outcome = await Promise.race([pending, new Promise((res) => setTimeout(() => res('hang'), 10000))]);
  assert.ok(outcome !== 'hang', 'the read settled');
  await device.lost;
  await new Promise((res) => setTimeout(res, 0));
  const module = { name: 'noop', code: '@compute @workgroup_size(1) fn main() {}' };
  assert.throws(() => r.dispatch({ kernel: { module, entry: 'main', bindings: [] }, buffers: [], workgroups: [1] }), /GPU device-lost error in noop\.wgsl:main/);
  let message = '';
  await r.read(buf, 64).catch((e: Error) => (message = e.message));
  assert.match(message, /device-lost/);
});

test.run();
