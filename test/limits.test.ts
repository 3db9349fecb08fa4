/**
 * The engine's side of running within every adapter's limits: DeviceInfo reports subgroup sizes that
 * kernels read (never a hard-coded 8), and a kernel binding more storage buffers than the device allows
 * fails with a message naming it before any pipeline is created. The browser suites
 * (browser_*.test.ts) run the kernels under Chromium's tighter limits.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KernelSpec } from '../engine/kernel.js';
import { gpu } from './lib/gpu.js';

test('DeviceInfo reports the subgroup sizes the kernels choose their shapes from', async () => {
  const { info } = await gpu();
  if (info.subgroups) {
    assert.ok(info.subgroupMinSize >= 1 && info.subgroupMinSize <= info.subgroupMaxSize, `${info.subgroupMinSize}..${info.subgroupMaxSize}`);
  } else {
    assert.is(info.subgroupMinSize, 0);
  }
});

test('a kernel with more storage buffers than the device allows names itself and the limit', async () => {
  const r = await gpu();
  const n = r.info.maxStorageBuffersPerStage + 1;
  const spec: KernelSpec = { module: { name: 'too_many', code: '' }, entry: 'main', bindings: ['uniform', ...Array<'rw'>(n).fill('rw')] };
  const before = r.pipelineCount;
  assert.throws(
    () => r.dispatch({ kernel: spec, uniforms: new Uint8Array(16), buffers: [], workgroups: [1] }),
    (e: Error) => e.message === `too_many.wgsl:main binds ${n} storage buffers; this device (${r.info.description}) allows ${n - 1} per stage`,
  );
  assert.is(r.pipelineCount, before, 'no pipeline was created');
});

test.run();
