/**
 * The GPU ESM-2 against the independent float64 reference (model/ref/esm.ts), layer by layer, on a
 * small random model with padding, <mask> tokens (token-dropout rescaling) and stored inv_freq.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Tensor, mul, noGrad, tensor, tidyAsync } from '../engine/index.js';
import type { NeuronModule } from '../model/esm.js';
import { makeConfig } from '../model/config.js';
import { disposeModel, esmForward, prepareBatch, uploadModel } from '../model/esm.js';
import { initParams, rotaryInvFreq } from '../model/params.js';
import { neuronEditHook, refEsmForward } from '../model/ref/esm.js';
import { assertClose } from './lib/compare.js';
import { gpu } from './lib/gpu.js';

const config = makeConfig({ numLayers: 2, embedDim: 64, attentionHeads: 4, name: 'test-2x64' });
const params = initParams(config, 11, { mode: 'test' });
// Two sequences: one padded, one with two <mask> tokens (cls 0, pad 1, eos 2, mask 32, residues 4..23).
const B = 2;
const L = 13;
const tokens = Int32Array.from([
  0, 4, 9, 15, 6, 22, 5, 7, 2, 1, 1, 1, 1,
  0, 11, 32, 8, 19, 4, 4, 32, 13, 17, 21, 6, 2,
]);

test.before(async () => {
  await gpu();
});

test('every hidden state and the logits match the float64 reference', async () => {
  const want = refEsmForward(config, params, tokens, [B, L], {});
  const model = uploadModel(config, params);
  await tidyAsync(async () => {
    const out = noGrad(() => esmForward(model, prepareBatch(config, tokens, B, L), { reprLayers: [0, 1, 2], logits: true }));
    for (const k of [0, 1, 2]) {
      assertClose(await out.hiddens.get(k)!.f32(), { shape: [B, L, 64], data: want.hiddens[k]! }, 2e-5, `hidden ${k}`);
    }
    assertClose(await out.logits!.f32(), { shape: [B, L, 33], data: want.logits }, 5e-5, 'logits');
  });
  disposeModel(model);
});

test('stored float16-rounded inv_freq is used as fair-esm uses it', async () => {
  const stored = new Map(params);
  for (let i = 0; i < config.numLayers; i++) {
    const data = rotaryInvFreq(config.headDim, 10000, 'float16');
    stored.set(`layers.${i}.self_attn.rot_emb.inv_freq`, { shape: [data.length], data });
  }
  const want = refEsmForward(config, stored, tokens, [B, L], {});
  const model = uploadModel(config, stored);
  await tidyAsync(async () => {
    const out = noGrad(() => esmForward(model, prepareBatch(config, tokens, B, L), { reprLayers: [2] }));
    assertClose(await out.hiddens.get(2)!.f32(), { shape: [B, L, 64], data: want.hiddens[2]! }, 2e-5, 'last hidden');
  });
  disposeModel(model);
});

test('a hook that halves key neuron 5 of layer 1 matches the reference edit', async () => {
  const want = refEsmForward(config, params, tokens, [B, L], { hook: neuronEditHook([{ layer: 1, module: 'key', neuron: 5, scale: 0.5 }]) });
  const model = uploadModel(config, params);
  const factors = new Float32Array(64).fill(1);
  factors[5] = 0.5;
  const hook = (layer: number, module: NeuronModule, t: Tensor) =>
    layer === 1 && module === 'key' ? mul(t, tensor(factors, [64])) : t;
  await tidyAsync(async () => {
    const out = noGrad(() => esmForward(model, prepareBatch(config, tokens, B, L), { logits: true, hook }));
    assertClose(await out.logits!.f32(), { shape: [B, L, 33], data: want.logits }, 5e-5, 'logits with hook');
  });
  disposeModel(model);
});

test('results do not depend on batching: a sequence alone equals it in a padded batch', async () => {
  const model = uploadModel(config, params);
  const alone = tokens.slice(0, 9);
  await tidyAsync(async () => {
    const a = noGrad(() => esmForward(model, prepareBatch(config, alone, 1, 9), { logits: true })).logits!;
    const b = noGrad(() => esmForward(model, prepareBatch(config, tokens, B, L), { logits: true })).logits!;
    const got = await a.f32();
    const batched = (await b.f32()).slice(0, 9 * 33);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - batched[i]!));
    assert.ok(worst < 1e-4, `max difference ${worst}`);
  });
  disposeModel(model);
});

test.run();
