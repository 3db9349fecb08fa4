/**
 * The basis-free density checks (kn/basis_free.ts) and the key-density contrasts of kn/density.ts on
 * hand-checkable cases: key's whole-module zeroing drop against each other type's (difference, interval,
 * one-sided p with the +1 correction, Holm, query untested), silence when zeroing changes nothing;
 * density by activation among attn_out and ffn_out (a planted module wins, a planted key is invisible
 * there by design, two-sided p); the signed-mass contrast of neuronDensity finding a planted key and
 * staying silent on noise. Pure code.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { activationDensity, zeroingContrasts } from '../kn/basis_free.js';
import { neuronDensity } from '../kn/density.js';
import { neuronLayout, neuronOffset } from '../kn/layout.js';
import type { NeuronScores } from '../kn/scores.js';
import { rng } from '../engine/random.js';
import { NEURON_MODULES, type NeuronModule } from '../model/esm.js';
import { tinyClassifier } from './lib/kn_fixtures.js';

const layout = neuronLayout(tinyClassifier(5, 2, 16, 3).config);
const names = ['a', 'b', 'c'];

test('zeroing contrasts: key hurts more than value and less than ffn_in; query is tied; Holm over the testable ones', () => {
  const truth = Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1]);
  const wrong = (t: Int32Array) => Int32Array.from(t, (c) => (c + 1) % 3);
  const keyPred = Int32Array.from(truth, (c, r) => (r < 6 ? (c + 1) % 3 : c)); // 2 of 8 right
  const zeroed = [
    { module: 'query' as const, predictions: keyPred },
    { module: 'key' as const, predictions: keyPred },
    { module: 'value' as const, predictions: truth }, // 8 of 8 right
    { module: 'ffn_in' as const, predictions: wrong(truth) }, // 0 of 8 right
  ];
  const B = 199;
  const rows = zeroingContrasts(truth, zeroed, B, 4);
  assert.equal(rows.map((r) => r.other), ['query', 'value', 'ffn_in']);
  const [q, v, f] = rows;
  assert.is(q!.testable, false);
  assert.is(q!.difference, 0);
  assert.ok(Number.isNaN(q!.p_adjusted) && !q!.significant);
  // value zeroed: every record right; key zeroed: records 0-5 wrong. d_r = 1 for r < 6, else 0.
  assert.is(v!.difference, 6 / 8);
  assert.ok(v!.ci_low > 0 && v!.ci_high <= 1, `${v!.ci_low} ${v!.ci_high}`);
  assert.is(v!.p_value, 1 / (1 + B), 'no resample has a difference <= 0');
  // ffn_in zeroed: every record wrong; d_r = -1 for r >= 6 (key gets those right), 0 otherwise.
  assert.is(f!.difference, -2 / 8);
  assert.is(f!.p_value, 1, 'every resample <= 0');
  // Holm over two tests: the smaller p times 2, the larger max(itself, that).
  assert.is(v!.p_adjusted, 2 / (1 + B));
  assert.is(f!.p_adjusted, 1);
  assert.equal([v!.significant, f!.significant], [true, false]);
  assert.equal(zeroingContrasts(truth, zeroed, B, 4), rows, 'deterministic for one seed');
  // Nothing changes when zeroing: no contrast is significant.
  const silent = zeroingContrasts(truth, NEURON_MODULES.map((module) => ({ module, predictions: truth })), B, 4);
  assert.ok(silent.every((r) => r.difference === 0 && r.p_value === 1 && !r.significant));
});

/** Activation-like scores with `module`'s first 3 units of every layer raised by `strength` (noise per example). */
function planted(module: NeuronModule | null, strength: number, method: NeuronScores['method'] = 'activation', seed = 9, E = 12): NeuronScores {
  const rand = rng(seed);
  const values = new Float32Array(E * layout.total);
  for (let e = 0; e < E; e++) {
    for (let i = 0; i < layout.total; i++) values[e * layout.total + i] = rand();
    if (!module) continue;
    for (let l = 0; l < layout.numLayers; l++) {
      for (let w = 0; w < 3; w++) values[e * layout.total + neuronOffset(layout, module, l) + w]! += strength;
    }
  }
  return { method, layout, classNames: names, examples: Array.from({ length: E }, (_, e) => ({ id: `e${e}`, label: e % 3, residues: 5 })), values, meta: {} };
}

test('density by activation: among attn_out and ffn_out only; a planted writer wins, a planted key changes nothing there', () => {
  const W = layout.widths.attn_out; // 16, as ffn_out
  const group = 2 * layout.numLayers * W; // 64 neurons
  const top = 6 / group;
  const a = activationDensity(planted('attn_out', 5), top, 99, 2);
  assert.equal(a.modules, ['attn_out', 'ffn_out']);
  assert.is(a.top_count, 6);
  const [attn, ffn] = a.shares;
  assert.is(attn!.count, 6, 'the 6 planted attn_out units fill the top set');
  assert.is(ffn!.count, 0);
  assert.is(attn!.share, 6 / (layout.numLayers * W));
  assert.is(a.difference, attn!.share - ffn!.share);
  assert.ok(a.ci_low > 0, `interval ${a.ci_low}..${a.ci_high}`);
  assert.is(a.p_value, 2 / 100, 'two-sided: 2 (1 + 0) / (1 + 99)');
  assert.match(a.note, /untestable by construction/);
  const k = activationDensity(planted('key', 5), top, 99, 2);
  assert.equal(k, activationDensity(planted(null, 0), top, 99, 2), 'key activations do not enter the comparison');
  assert.ok(k.p_value > 0.05, `noise: p ${k.p_value}`);
});

test('key density: the signed-mass contrast is a third tested quantity; it finds a planted key and is silent on noise', () => {
  const top = 6 / layout.total;
  const d = neuronDensity(planted('key', 5, 'ig'), top, 99, 1, undefined, undefined, ['query']);
  const mass = d.keyDensity.contrasts.filter((c) => c.quantity === 'mass');
  assert.equal(mass.map((c) => c.other), NEURON_MODULES.filter((m) => m !== 'key'));
  assert.ok(mass.every((c) => (c.other === 'query' ? !c.testable : c.testable)));
  // Per neuron: key's 6 planted units add 5 each to its 32 units' noise; ffn_in's 128 units are noise only.
  const perNeuron = (m: NeuronModule) => d.mass.find((x) => x.module === m)!.signed / (layout.numLayers * layout.widths[m]);
  for (const c of mass) assert.ok(Math.abs(c.difference - (perNeuron('key') - perNeuron(c.other))) < 1e-9, `${c.other}: key's signed mass per neuron minus the other's`);
  const v = mass.find((c) => c.other === 'value')!;
  assert.ok(v.significant && v.p_adjusted < 0.05, `value: p ${v.p_adjusted}`);
  assert.is(d.keyDensity.significant, true);
  assert.is(d.keyDensity.mass_significant, true);
  assert.match(d.keyDensity.statement, /by signed attribution mass per neuron \(basis-free, the same test\) also/);
  // No plant, 20 draws of noise (24 examples each): the verdict never fires, and the mass family
  // (Holm over 5 contrasts) calls something in at most 4 of 20 (5% expected; small per-class
  // bootstraps run a little liberal).
  let families = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const noise = neuronDensity(planted(null, 0, 'ig', seed, 24), top, 99, seed, undefined, undefined, ['query']);
    assert.is(noise.keyDensity.mass_significant, false, `seed ${seed}`);
    assert.is(noise.keyDensity.significant, false, `seed ${seed}`);
    if (noise.keyDensity.contrasts.some((c) => c.quantity === 'mass' && c.significant)) families++;
  }
  assert.ok(families <= 4, `noise: the mass family fired in ${families} of 20 draws`);
});

test.run();
