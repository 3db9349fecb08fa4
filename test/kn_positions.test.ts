/** Per-residue neuron evidence: the planted motif unit fires at H-then-E only; attributions are gradient x activation. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectPositions } from '../kn/positions.js';
import { exampleTokens } from '../kn/examples.js';
import { refClassifierProbs } from '../kn/ref/ig.js';
import { neuronEditHook } from '../model/ref/esm.js';
import { gpu } from './lib/gpu.js';
import { disposeTiny, randomRecords, refHead, tinyClassifier, uploadTiny } from './lib/kn_fixtures.js';
import { MOTIF_UNIT, motifClassifier, plantedRecords } from './lib/motif_model.js';

test('positions: the planted unit fires at the planted H and nowhere else; other units are 0', async () => {
  await gpu();
  const host = motifClassifier();
  const u = uploadTiny(host);
  try {
    const planted = plantedRecords(12, 3, 1, 7);
    const records = planted.map((p) => p.record);
    const ev = await collectPositions(u.model, u.head, records, [{ module: 'ffn_in', layer: 0, index: MOTIF_UNIT }, { module: 'ffn_in', layer: 0, index: 9 }], { batching: { maxLength: 1022, batchSize: 5 } });
    planted.forEach((p, r) => {
      const e = ev[r]!;
      const n = e.residues;
      assert.is(n, p.record.sequence.length);
      const row = Array.from(e.activations.subarray(0, n));
      const best = row.indexOf(Math.max(...row));
      if (p.at !== null) {
        assert.is(best, p.at, `record ${r}: fires at the planted H`);
        assert.ok(row[best]! > 0.9, `record ${r}: activation ${row[best]}`);
        row.forEach((v, i) => i !== p.at && assert.ok(v < 0.05, `record ${r} residue ${i}: ${v}`));
      } else assert.ok(Math.max(...row) < 0.05, `record ${r} has no motif: max ${Math.max(...row)}`);
      assert.ok(e.activations.subarray(n).every((v) => v === 0), 'unit 9 has zero weights');
    });
  } finally {
    disposeTiny(u);
  }
});

test('positions: per-residue gradient x activation equals a float64 central difference of scaling that one activation', async () => {
  await gpu();
  const host = tinyClassifier(3, 2, 16, 3);
  const u = uploadTiny(host);
  try {
    const records = randomRecords(4, 3, 11, 5, 4);
    const neurons = [{ module: 'ffn_in', layer: 1, index: 7 }, { module: 'value', layer: 0, index: 2 }, { module: 'ffn_in', layer: 0, index: 30 }] as const;
    const ev = await collectPositions(u.model, u.head, records, neurons, { batching: { maxLength: 1022, batchSize: 3 }, attribution: true });
    const h = 1e-4;
    let largest = 0;
    for (const [r, rec] of records.entries()) {
      const tokens = exampleTokens(rec, 1022);
      const L = tokens.length;
      const f = (k: number, t: number, s: number): number => {
        const nr = neurons[k]!;
        const hook = neuronEditHook([{ layer: nr.layer, module: nr.module, neuron: nr.index, positions: [t], scale: s }]);
        return refClassifierProbs(host.config, host.params, refHead(host), tokens, 1, L, hook)[rec.label]!;
      };
      const e = ev[r]!;
      for (let k = 0; k < neurons.length; k++) {
        for (let i = 0; i < e.residues; i++) {
          const want = (f(k, i + 1, 1 + h) - f(k, i + 1, 1 - h)) / (2 * h); // d f / d s at s = 1 is a . df/da
          const got = e.attributions![k * e.residues + i]!;
          assert.ok(Math.abs(got - want) <= 2e-5 + 1e-3 * Math.abs(want), `record ${r} neuron ${k} residue ${i}: ${got} vs ${want}`);
          largest = Math.max(largest, Math.abs(want));
        }
      }
    }
    assert.ok(largest > 1e-3, `attributions are not all ~0 (largest ${largest})`);
  } finally {
    disposeTiny(u);
  }
});

test.run();
