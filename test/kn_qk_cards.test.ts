/**
 * Query and key cards are rotary pairs (d, d + Dh/2): on a tiny model their windows are ranked by the
 * pair's norm (checked against the float64 reference's per-unit activations), their IG evidence is the
 * sum of the two units', neither changes when q and k of the pair are rotated by one angle (which
 * leaves the model's function unchanged but mixes the units), zeroing zeroes both units against a
 * random pair, and no two cards share a pair.
 *
 * Axis letters: B batch, L tokens, D model dim, Dh head dim, C classes, E examples, N neurons.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rng } from '../engine/random.js';
import type { TaskRecord } from '../data/dataset.js';
import { classifierLogits, softmaxRows } from '../model/classifier.js';
import { NEURON_MODULES } from '../model/esm.js';
import type { ParamTensor } from '../model/params.js';
import { neuronEditHook, refEsmForward } from '../model/ref/esm.js';
import { exampleTokens } from '../kn/examples.js';
import { type ChosenNeuron, type NeuronCard, chooseNeurons, explainNeurons, neuronCards } from '../kn/explain.js';
import { neuronLayout, neuronOffset } from '../kn/layout.js';
import { rotaryPartner } from '../kn/pairs.js';
import { collectPositions } from '../kn/positions.js';
import { refClassifierProbs } from '../kn/ref/ig.js';
import type { NeuronScores } from '../kn/scores.js';
import { gpu } from './lib/gpu.js';
import { type TinyClassifier, disposeTiny, randomRecords, refHead, tinyClassifier, uploadTiny } from './lib/kn_fixtures.js';

// 2 layers, D = 16, 2 heads: Dh = 8, rotary pairs (d, d + 4) within each head.
const tiny = tinyClassifier(31, 2, 16, 3);
const Dh = tiny.config.headDim;
const names = ['a', 'b', 'c'];
const records = randomRecords(12, 3, 37, 8, 10);
const batching = { maxLength: 1022, batchSize: 5 };
/** Query pair (1, 5) and key pair (10, 14), given by its second unit, of layer 1 (layer 0's values depend on the residue alone and tie across records). */
const chosen: ChosenNeuron[] = [
  { module: 'query', layer: 1, index: 1, classes: [0], score: 1 },
  { module: 'key', layer: 1, index: 14, classes: [1], score: 1 },
];
const UNITS = [[1, 5], [10, 14]];

test.before(async () => {
  await gpu();
});

/** The model with q_proj and k_proj rows d and v of `layer` rotated by `theta` in the (d, v) plane (weights and biases). */
function rotated(t: TinyClassifier, pairs: readonly { layer: number; d: number }[], theta: number): TinyClassifier {
  const params = new Map<string, ParamTensor<Float32Array>>([...t.params].map(([n, p]) => [n, { shape: p.shape, data: Float32Array.from(p.data) }]));
  const [c, s] = [Math.cos(theta), Math.sin(theta)];
  for (const { layer, d } of pairs) {
    const v = rotaryPartner(d, Dh);
    for (const proj of ['q_proj', 'k_proj']) {
      for (const kind of ['weight', 'bias']) {
        const p = params.get(`layers.${layer}.self_attn.${proj}.${kind}`)!;
        const cols = kind === 'weight' ? p.shape[1]! : 1; // weight (D, D), bias (D)
        for (let i = 0; i < cols; i++) {
          const a = p.data[d * cols + i]!;
          const b = p.data[v * cols + i]!;
          p.data[d * cols + i] = c * a - s * b;
          p.data[v * cols + i] = s * a + c * b;
        }
      }
    }
  }
  return { ...t, params };
}

/** Per-unit activations of the float64 reference: (n) rows of `module` unit w of `layer` at a record's residues. */
function hostUnits(t: TinyClassifier, rec: TaskRecord, module: 'query' | 'key', layer: number, w: number): number[] {
  const tokens = exampleTokens(rec, 1022);
  const L = tokens.length;
  const lin = refEsmForward(t.config, t.params, tokens, [1, L], { returnLinears: true }).linears![layer]![module]; // (1, L, D)
  const D = t.config.embedDim;
  return Array.from({ length: L - 2 }, (_, i) => lin[(i + 1) * D + w]!); // residue i is token i + 1
}

/** Each record's best residue by `values(r)` and the top `keep` records, best first (as NeuronAccumulator, barring ties). */
function hostTop(values: (r: number) => number[], keep: number): { record: string; position: number; value: number }[] {
  return records
    .map((rec, r) => {
      const v = values(r);
      const best = v.indexOf(Math.max(...v));
      return { record: rec.id, position: best + 1, value: v[best]! };
    })
    .sort((x, y) => y.value - x.value)
    .slice(0, keep);
}

const near = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

async function cardsOf(t: TinyClassifier, method: 'activation' | 'ig'): Promise<NeuronCard[]> {
  const u = uploadTiny(t);
  try {
    return await neuronCards(u.model, u.head, records, chosen, names, { batching, windows: 5, method, zeroRecords: 3 });
  } finally {
    disposeTiny(u);
  }
}

test('a query/key card is its pair: windows ranked by the pair norm of the float64 reference, named by the first unit', async () => {
  const cards = await cardsOf(tiny, 'activation');
  cards.forEach((card, k) => {
    const [d, v] = UNITS[k]!;
    const n = chosen[k]!;
    assert.equal([card.index, card.units], [d, [d, v]], `${n.module}: index is the pair's first unit`);
    const want = hostTop((r) => {
      const a = hostUnits(tiny, records[r]!, n.module as 'query' | 'key', n.layer, d!);
      const b = hostUnits(tiny, records[r]!, n.module as 'query' | 'key', n.layer, v!);
      return a.map((x, i) => Math.hypot(x, b[i]!));
    }, 5);
    assert.equal(card.windows.map((w) => [w.record, w.position]), want.map((w) => [w.record, w.position]), `${n.module} windows`);
    card.windows.forEach((w, i) => near(w.activation, want[i]!.value, 1e-4, `${n.module} window ${i} norm`));
  });
});

test("a query/key card's IG evidence is the sum of its two units' attributions; positions read pairs by default", async () => {
  const u = uploadTiny(tiny);
  try {
    const unitRefs = chosen.flatMap((n, k) => UNITS[k]!.map((index) => ({ module: n.module, layer: n.layer, index })));
    const perUnit = await collectPositions(u.model, u.head, records, unitRefs, { batching, attribution: true, qk: 'unit' });
    const paired = await collectPositions(u.model, u.head, records, chosen, { batching, attribution: true });
    const cards = await neuronCards(u.model, u.head, records, chosen, names, { batching, windows: 5, method: 'ig', zeroRecords: 3 });
    let largest = 0;
    cards.forEach((card, k) => {
      const sum = (r: number): number[] => {
        const e = perUnit[r]!;
        const n = e.residues;
        return Array.from({ length: n }, (_, i) => e.attributions![2 * k * n + i]! + e.attributions![(2 * k + 1) * n + i]!);
      };
      for (let r = 0; r < records.length; r++) {
        const e = perUnit[r]!;
        const p = paired[r]!;
        const n = e.residues;
        for (let i = 0; i < n; i++) {
          near(p.attributions![k * n + i]!, sum(r)[i]!, 1e-6, `record ${r} residue ${i} attribution`);
          near(p.activations[k * n + i]!, Math.hypot(e.activations[2 * k * n + i]!, e.activations[(2 * k + 1) * n + i]!), 1e-6, `record ${r} residue ${i} norm`);
          largest = Math.max(largest, Math.abs(sum(r)[i]!));
        }
      }
      const want = hostTop(sum, 5);
      assert.equal(card.windows.map((w) => [w.record, w.position]), want.map((w) => [w.record, w.position]), `card ${k} ranked by the summed attribution`);
      card.windows.forEach((w, i) => near(w.attribution!, want[i]!.value, 1e-6, `card ${k} window ${i}`));
    });
    assert.ok(largest > 1e-4, `attributions are not all ~0 (largest ${largest})`);
  } finally {
    disposeTiny(u);
  }
});

test('rotating q and k of a pair by one angle: same logits, other unit activations, the same cards', async () => {
  const turned = rotated(tiny, [{ layer: 1, d: 1 }, { layer: 1, d: 10 }], 0.9);
  // The function: float64 probabilities and the GPU's logits agree.
  const head = refHead(tiny);
  for (const rec of records.slice(0, 3)) {
    const tokens = exampleTokens(rec, 1022);
    const a = refClassifierProbs(tiny.config, tiny.params, head, tokens, 1, tokens.length);
    const b = refClassifierProbs(turned.config, turned.params, head, tokens, 1, tokens.length);
    a.forEach((p, c) => near(b[c]!, p, 1e-6, `${rec.id} class ${c} float64 probability (weights rounded to float32)`));
  }
  const logits = async (t: TinyClassifier): Promise<Float32Array> => {
    const u = uploadTiny(t);
    try {
      return await classifierLogits(u.model, u.head, records, batching);
    } finally {
      disposeTiny(u);
    }
  };
  const [la, lb] = [await logits(tiny), await logits(turned)];
  la.forEach((x, i) => near(lb[i]!, x, 1e-4, `logit ${i}`));
  // The units: the first unit's activation moves.
  const a = hostUnits(tiny, records[0]!, 'query', 1, 1);
  const b = hostUnits(turned, records[0]!, 'query', 1, 1);
  const moved = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
  assert.ok(moved > 0.1 * Math.max(...a.map(Math.abs)), `rotation moves unit 1's activations (by ${moved})`);
  // The cards: same windows, values and zeroing effects, by activation and by IG.
  for (const method of ['activation', 'ig'] as const) {
    const [before, after] = [await cardsOf(tiny, method), await cardsOf(turned, method)];
    before.forEach((c, k) => {
      const d = after[k]!;
      assert.equal(d.windows.map((w) => [w.record, w.position]), c.windows.map((w) => [w.record, w.position]), `${method} card ${k} windows`);
      c.windows.forEach((w, i) => {
        near(d.windows[i]!.activation, w.activation, 1e-4, `${method} card ${k} window ${i} activation`);
        if (method === 'ig') near(d.windows[i]!.attribution!, w.attribution!, 1e-4, `card ${k} window ${i} attribution`);
      });
      near(d.score, c.score, 0, 'score');
      near(d.zero_effect!.p_after, c.zero_effect!.p_after, 1e-4, `${method} card ${k} zeroing`);
      near(d.position_profile.regions.n_term!, c.position_profile.regions.n_term!, 1e-4, `${method} card ${k} profile`);
    });
  }
});

test('zeroing a query/key card zeroes both units of its pair, against a random pair of the same module and layer', async () => {
  const cards = await cardsOf(tiny, 'activation');
  const head = refHead(tiny);
  const meanP = (c: number, zeroed: readonly number[], n: ChosenNeuron): number => {
    const recs = records.filter((r) => r.label === c).slice(0, 3);
    const hook = neuronEditHook(zeroed.map((neuron) => ({ layer: n.layer, module: n.module, neuron, set: 0 })));
    let s = 0;
    for (const rec of recs) {
      const tokens = exampleTokens(rec, 1022);
      s += refClassifierProbs(tiny.config, tiny.params, head, tokens, 1, tokens.length, hook)[c]!;
    }
    return s / recs.length;
  };
  cards.forEach((card, k) => {
    const n = chosen[k]!;
    const c = n.classes[0]!;
    const z = card.zero_effect!;
    assert.is(z.records, 3);
    near(z.p_before, meanP(c, [], n), 1e-4, `card ${k} before`);
    near(z.p_after, meanP(c, UNITS[k]!, n), 1e-4, `card ${k} with both units zeroed`);
    const one = meanP(c, [UNITS[k]![0]!], n);
    assert.ok(Math.abs(z.p_after - one) > 1e-5, `card ${k}: zeroing one unit (${one}) is not zeroing the pair (${z.p_after})`);
    const [r, s] = z.random.units;
    assert.equal([z.random.index, s], [r, rotaryPartner(r!, Dh)], `card ${k}: the random control is a pair named by its first unit`);
    assert.ok(r! % Dh < Dh / 2 && r !== UNITS[k]![0], `card ${k}: random pair (${r}, ${s}) is another pair`);
    near(z.random.p_after, meanP(c, z.random.units, n), 1e-4, `card ${k} random pair zeroed`);
  });
});

/** Random per-example scores on the tiny layout, with both units of query layer 0 pair (1, 5) far on top. */
function scoresWithTopPair(): NeuronScores {
  const layout = neuronLayout(tiny.config);
  const N = layout.total;
  const rand = rng(5);
  const E = 6;
  const values = Float32Array.from({ length: E * N }, () => rand());
  for (let e = 0; e < E; e++) {
    const o = e * N + neuronOffset(layout, 'query', 0);
    values[o + 1] = 10;
    values[o + 5] = 9;
  }
  return { method: 'ig', layout, classNames: names, examples: Array.from({ length: E }, (_, i) => ({ id: `e${i}`, label: i % 3, residues: 5 })), values, meta: {} };
}

test('cards are chosen among pairs: one pair never gives two cards, and its score is the pair mean', async () => {
  const scores = scoresWithTopPair();
  const { neurons, topSets } = chooseNeurons(scores, Dh, 2, ['query']);
  for (const set of topSets) {
    assert.is(set[0], 'query:0:1', 'the top pair, by its first unit');
    assert.is.not(set[1], 'query:0:5', 'never the top pair\'s second unit');
  }
  near(neurons[0]!.score, 9.5, 1e-9, 'pair mean of 10 and 9');
  const u = uploadTiny(tiny);
  try {
    const ex = await explainNeurons(u.model, u.head, records, scores, { top: 3, windows: 3, zeroRecords: 2, batching });
    const seen = new Set<string>();
    for (const card of ex.neurons) {
      if (card.module === 'query' || card.module === 'key') {
        assert.ok(card.index % Dh < Dh / 2, `${card.module} ${card.layer}: index ${card.index} is a first unit`);
        assert.equal(card.units, [card.index, card.index + Dh / 2]);
      } else assert.equal(card.units, [card.index]);
      for (const w of card.units) {
        const key = `${card.module}:${card.layer}:${w}`;
        assert.not.ok(seen.has(key), `unit ${key} in two cards`);
        seen.add(key);
      }
    }
    assert.equal(new Set(ex.neurons.map((c) => c.module)), new Set(NEURON_MODULES));
    assert.match(String(ex.meta.query_key), /rotary pair/);
  } finally {
    disposeTiny(u);
  }
});

test.run();
