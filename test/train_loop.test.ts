/**
 * A whole training step (ESM-2 forward, classification head, cross-entropy, backward, gradient
 * clipping, AdamW) on a tiny model: the loss falls, live GPU memory does not grow over 100 steps,
 * and a step submits work only at its one sync point (reading the loss). The loop itself (trainLoop)
 * reads the weights back once for a step that both saves a best checkpoint and saves last/.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward, keep, mul, sum, tensor, tidyAsync } from '../engine/index.js';
import { rt } from '../engine/context.js';
import { crossEntropy } from '../engine/ops/cross_entropy.js';
import { AdamW } from '../engine/optim/adamw.js';
import { clipGradNorm } from '../engine/optim/clip.js';
import { makeConfig } from '../model/config.js';
import { esmForward, prepareBatch, uploadModel, disposeModel } from '../model/esm.js';
import { classify, initHead, meanPoolWeights } from '../model/head.js';
import { initParams } from '../model/params.js';
import { trainLoop } from '../train/loop.js';
import { initialState } from '../train/state.js';
import { gpu } from './lib/gpu.js';
import { tempDir } from './lib/train_fixtures.js';

test.before(async () => {
  await gpu();
});

test('100 training steps: loss falls, no memory growth, one submit per step', async () => {
  const config = makeConfig({ numLayers: 2, embedDim: 32, attentionHeads: 4, name: 'tiny' });
  const model = uploadModel(config, initParams(config, 3), true);
  const head = initHead(config.embedDim, 3, 'mean', 4);
  const params = [...model.params.values(), ...head.params.values()];
  const opt = new AdamW(params, { weightDecay: 0.01 });
  // Fixed batch: the class is which residue (L, A, G) fills most of the sequence; lengths vary so
  // padding and the key mask are exercised.
  const B = 6;
  const L = 12;
  const tokens = new Int32Array(B * L).fill(1);
  const lengths = [10, 7, 10, 4, 9, 10];
  const labels = [0, 1, 2, 0, 1, 2];
  lengths.forEach((n, b) => {
    tokens[b * L] = 0;
    for (let i = 1; i <= n; i++) tokens[b * L + i] = i % 3 === 0 ? 7 + (i % 5) : 4 + labels[b]!;
    tokens[b * L + n + 1] = 2;
  });
  const losses: number[] = [];
  const live: number[] = [];
  const submits: number[] = [];
  for (let step = 0; step < 100; step++) {
    const before = rt().submitCount;
    const loss = await tidyAsync(async () => {
      const batch = prepareBatch(config, tokens, B, L);
      const logits = classify(head, esmForward(model, batch).last, meanPoolWeights(lengths, L));
      const l = crossEntropy(logits, tensor(labels, [B], 'i32'));
      backward(l);
      clipGradNorm(params, 1.0);
      opt.step(3e-3);
      opt.zeroGrad();
      return l.item();
    });
    submits.push(rt().submitCount - before);
    losses.push(loss);
    live.push(rt().pool.snapshot().liveBytes);
  }
  assert.ok(losses[99]! < 0.2 * losses[0]!, `loss fell from ${losses[0]} to ${losses[99]}`);
  assert.is(live[99], live[4], `live bytes after step 5 (${live[4]}) and after step 100 (${live[99]})`);
  assert.ok(Math.max(...submits.slice(1)) <= 2, `submits per step: ${Math.max(...submits.slice(1))}`);
  opt.dispose();
  disposeModel(model);
  for (const t of head.params.values()) t.dispose();
});

test('a step that evaluates (a new best) and saves reads the weights back once, not twice', async () => {
  const config = makeConfig({ numLayers: 1, embedDim: 8, attentionHeads: 2, name: 'tiny' });
  const w = keep(tensor([1, -2, 3, -4], [4], 'f32', 'w'));
  w.requiresGrad = true;
  const snapshots: number[] = [];
  let step = 0;
  let evals = 0;
  const state = await trainLoop(
    {
      params: [{ name: 'w', tensor: w, weightDecay: 0 }],
      batchesInEpoch: () => 4,
      microBatch: () => ({ weight: 1, tokens: 4 }),
      loss: () => sum(mul(w, w), 0), // ()
      evaluate: async () => {
        evals++;
        return { score: evals, scalars: {}, metrics: {}, summary: '' }; // every evaluation is a new best
      },
      snapshot: async () => {
        snapshots.push(step);
        return { config, params: new Map([['w', { shape: [4], data: await w.f32() }]]) };
      },
    },
    { out: tempDir('loop-snapshots'), schedule: { lr: 0.1, warmupSteps: 0, totalSteps: 6, decay: 'constant' }, accum: 1, clip: 0, epochs: null, evalEvery: 2, saveEvery: 3, patience: 0 },
    { command: 'test', options: {}, provenance: {} },
    initialState(),
    null,
    { onStep: (i) => (step = i.step) },
  );
  assert.is(state.step, 6);
  assert.is(evals, 3, 'evaluated at steps 2, 4 and 6');
  // Best at 2, 4, 6 and last at 3, 6: step 6 reuses the evaluation's read-back.
  assert.is(snapshots.length, 4, `snapshots taken: ${snapshots.length}`);
  w.dispose();
});

test.run();
