/**
 * Waiting for the GPU must not spin the JS thread (engine/host_wait.ts): Dawn's Node binding polls in a
 * setImmediate loop while any of its promises is pending, which on lavapipe took a core from the
 * driver's threads. These tests read the JS thread's own CPU time from /proc (Linux, as CI is).
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rt, tensor, tidy } from '../engine/index.js';
import { HostWaits } from '../engine/host_wait.js';
import { matmul } from '../engine/ops/matmul.js';
import { gpu } from './lib/gpu.js';

/** CPU seconds of the calling thread (utime + stime, in clock ticks of 10 ms). */
function threadCpu(): number {
  const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

test('HostWaits counts pending promises, settles with them (rejections too) and then stops its timer', async () => {
  const w = new HostWaits(true);
  let resolve!: (v: number) => void;
  const a = w.track(new Promise<number>((r) => (resolve = r)));
  const b = w.track(Promise.reject(new Error('lost')));
  assert.is(w.inFlight, 2);
  await b.catch(() => undefined);
  await Promise.resolve();
  assert.is(w.inFlight, 1, 'the rejected wait settled');
  resolve(7);
  assert.is(await a, 7, 'the value passes through');
  await Promise.resolve();
  assert.is(w.inFlight, 0);
  const off = new HostWaits(false);
  const p = Promise.resolve(1);
  assert.is(off.track(p), p, 'browsers: the promise itself, nothing tracked');
  assert.is(off.inFlight, 0);
});

test('while a long GPU job is awaited the JS thread sleeps: under a quarter of a core', async () => {
  await gpu();
  const a = tensor(Float32Array.from({ length: 1024 * 1024 }, (_, i) => ((i * 7) % 13) / 13 - 0.5), [1024, 1024], 'f32', 'a'); // (M, K)
  let x = a;
  // Record the whole chain first (JS work), then time only the wait.
  tidy(() => {
    for (let i = 0; i < 8; i++) {
      const y = matmul(x, a); // (M, M)
      if (x !== a) x.dispose();
      x = y;
    }
    return x;
  });
  const c0 = threadCpu();
  const t0 = performance.now();
  await rt().sync();
  const wall = (performance.now() - t0) / 1000;
  const cpu = threadCpu() - c0;
  assert.ok(cpu <= 0.25 * wall + 0.03, `the JS thread used ${cpu.toFixed(2)} CPU-s during a ${wall.toFixed(2)} s wait`);
  assert.is(rt().hostWaitsInFlight, 0, 'nothing left pending after the sync');
  x.dispose();
  a.dispose();
});

test.run();
