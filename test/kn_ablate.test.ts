/**
 * Selection and ablation: preserving 100% of a module type reproduces the unablated logits bit for bit,
 * preserving 0% with zero replacement equals a model whose module weights and biases are zeroed, mean
 * replacement adds the means, suppression/amplification scale the chosen neurons, random selections
 * are seeded, and the density analysis finds planted key neurons.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NEURON_MODULES, type NeuronModule, disposeModel, uploadModel } from '../model/esm.js';
import { ablationEdit, editedMetrics, scaleEdit } from '../kn/ablate.js';
import { classifierLogits } from '../model/classifier.js';
import { neuronDensity } from '../kn/density.js';
import { neuronLayout, neuronOffset } from '../kn/layout.js';
import type { NeuronScores } from '../kn/scores.js';
import { keepCount, selectRandom, selectTop, topIndices } from '../kn/select.js';
import { evaluateClassifier } from '../train/evaluate.js';
import { rng } from '../engine/random.js';
import { gpu } from './lib/gpu.js';
import { disposeTiny, randomRecords, tinyClassifier, uploadTiny } from './lib/kn_fixtures.js';

const tiny = tinyClassifier(5, 2, 16, 3);
const layout = neuronLayout(tiny.config);
const records = randomRecords(12, 3, 11, 5, 10);
const names = ['a', 'b', 'c'];
const batching = { batchSize: 5, maxLength: 64 };

test.before(async () => {
  await gpu();
});

/** The weights and biases whose zeroing removes a module's output (ffn_in: gelu(0) = 0). */
const ZEROED: Record<NeuronModule, string> = {
  query: 'self_attn.q_proj', key: 'self_attn.k_proj', value: 'self_attn.v_proj', attn_out: 'self_attn.out_proj', ffn_in: 'fc1', ffn_out: 'fc2',
};

test('preserving 100% reproduces the unablated logits and metrics exactly', async () => {
  const { model, head } = uploadTiny(tiny);
  const plain = await evaluateClassifier(model, head, records, names, batching);
  const scores = Float64Array.from({ length: layout.total }, (_, i) => Math.sin(i));
  for (const module of NEURON_MODULES) {
    for (const replacement of ['zero', 'mean'] as const) {
      const edit = ablationEdit(layout, selectTop(layout, module, scores, 'ig', 1, 'layer'), replacement, scores);
      const r = await editedMetrics(model, head, layout, records, names, batching, [edit]);
      assert.equal(Array.from(r.logits), Array.from(plain.logits), `${module} ${replacement}`);
      assert.is(r.accuracy, plain.metrics.accuracy);
      assert.is(r.macro_f1, plain.metrics.macro_f1);
    }
  }
  disposeTiny({ model, head });
});

test('preserving 0% with zero replacement equals the model with that module zeroed', async () => {
  const { model, head } = uploadTiny(tiny);
  const scores = new Float64Array(layout.total);
  for (const module of NEURON_MODULES) {
    const ablated = await editedMetrics(model, head, layout, records, names, batching, [ablationEdit(layout, selectTop(layout, module, scores, 'ig', 0, 'global'), 'zero')]);
    const params = new Map(tiny.params);
    for (let l = 0; l < tiny.config.numLayers; l++) {
      for (const part of ['weight', 'bias']) {
        const name = `layers.${l}.${ZEROED[module]}.${part}`;
        params.set(name, { shape: params.get(name)!.shape, data: new Float32Array(params.get(name)!.data.length) });
      }
    }
    const zeroed = uploadModel(tiny.config, params, false);
    const want = await classifierLogits(zeroed, head, records, batching);
    disposeModel(zeroed);
    const worst = Math.max(...Array.from(want, (w, i) => Math.abs(w - ablated.logits[i]!)));
    assert.ok(worst < 1e-5, `${module}: logits differ by ${worst}`);
  }
  disposeTiny({ model, head });
});

test('mean replacement and x0/x2 edits change exactly the chosen neurons', async () => {
  const { model, head } = uploadTiny(tiny);
  // Mean replacement at 0% with the means set to 0 is zero replacement.
  const zeros = new Float64Array(layout.total);
  const sel = selectTop(layout, 'value', zeros, 'ig', 0, 'layer');
  const viaMean = await editedMetrics(model, head, layout, records, names, batching, [ablationEdit(layout, sel, 'mean', zeros)]);
  const viaZero = await editedMetrics(model, head, layout, records, names, batching, [ablationEdit(layout, sel, 'zero')]);
  assert.equal(Array.from(viaMean.logits), Array.from(viaZero.logits));
  // Suppressing neurons equals a zero ablation keeping all the others.
  const chosen = [3, 17, 20];
  const keep = new Uint8Array(layout.numLayers * layout.widths.value).fill(1);
  for (const i of chosen) keep[i] = 0;
  const suppressed = await editedMetrics(model, head, layout, records, names, batching, [scaleEdit(layout, 'value', chosen, 0)]);
  const ablated = await editedMetrics(model, head, layout, records, names, batching, [ablationEdit(layout, { module: 'value', method: 'x', ranking: 'layer', fraction: 0, seed: null, keep }, 'zero')]);
  assert.equal(Array.from(suppressed.logits), Array.from(ablated.logits));
  const amplified = await editedMetrics(model, head, layout, records, names, batching, [scaleEdit(layout, 'value', chosen, 2)]);
  assert.not.equal(Array.from(amplified.logits), Array.from(suppressed.logits));
  disposeTiny({ model, head });
});

test('selections: per-layer and global top fractions, seeded random subsets', () => {
  assert.equal([keepCount(64, 0), keepCount(64, 0.01), keepCount(64, 0.05), keepCount(64, 0.5), keepCount(64, 1)], [0, 1, 3, 32, 64]);
  assert.equal(topIndices([1, 5, 5, 2], 2), [1, 2], 'ties go to the lower index');
  const W = layout.widths.key;
  const scores = new Float64Array(layout.total);
  scores[neuronOffset(layout, 'key', 1) + 4] = 9; // the best key neuron is in layer 1
  scores[neuronOffset(layout, 'key', 1) + 5] = 8;
  const perLayer = selectTop(layout, 'key', scores, 'ig', 0.1, 'layer');
  const global = selectTop(layout, 'key', scores, 'ig', 1 / 32, 'global');
  assert.is(perLayer.keep.reduce((a, b) => a + b, 0), 2 * keepCount(W, 0.1), 'the same share of every layer');
  assert.equal([...global.keep.keys()].filter((i) => global.keep[i]), [W + 4], 'global: the top neuron wherever it is');
  const a = selectRandom(layout, 'key', 0.2, 'layer', 7);
  const b = selectRandom(layout, 'key', 0.2, 'layer', 7);
  const c = selectRandom(layout, 'key', 0.2, 'layer', 8);
  const bigger = selectRandom(layout, 'key', 0.5, 'layer', 7);
  assert.equal(Array.from(a.keep), Array.from(b.keep), 'same seed, same neurons');
  assert.not.equal(Array.from(a.keep), Array.from(c.keep), 'another seed, other neurons');
  assert.ok(a.keep.every((k, i) => !k || bigger.keep[i]), 'a larger fraction keeps a superset');
  assert.is(a.keep.reduce((x, y) => x + y, 0), perLayer.keep.length / W * keepCount(W, 0.2));
});

/** Scores whose top neurons are planted in `module` (with noise per example). */
function planted(module: NeuronModule, strength: number): NeuronScores {
  const rand = rng(3);
  const E = 12;
  const values = new Float32Array(E * layout.total);
  for (let e = 0; e < E; e++) {
    for (let i = 0; i < layout.total; i++) values[e * layout.total + i] = rand();
    for (let l = 0; l < layout.numLayers; l++) {
      for (let w = 0; w < 3; w++) values[e * layout.total + neuronOffset(layout, module, l) + w]! += strength;
    }
  }
  return { method: 'ig', layout, classNames: names, examples: Array.from({ length: E }, (_, e) => ({ id: `e${e}`, label: e % 3, residues: 5 })), values, meta: {} };
}

test('density: planted key neurons stand out with tight intervals; a planted value module does not make key stand out', () => {
  const top = 6 / layout.total;
  const d = neuronDensity(planted('key', 5), top, 50, 1);
  const key = d.modules.find((m) => m.module === 'key')!;
  assert.is(key.count, 6);
  assert.ok(key.share_lo > 0 && key.enrichment > 5, `key enrichment ${key.enrichment}`);
  assert.ok(d.keyStatement.startsWith('Yes'), d.keyStatement);
  assert.is(d.cells.length, NEURON_MODULES.length * layout.numLayers);
  assert.is(d.cells.reduce((a, c) => a + c.count, 0), d.topCount);
  assert.equal(neuronDensity(planted('key', 5), top, 50, 1), d, 'deterministic for one seed');
  const v = neuronDensity(planted('value', 5), top, 50, 1);
  assert.ok(v.keyStatement.startsWith('No'), v.keyStatement);
});

test.run();
