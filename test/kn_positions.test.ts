/** Per-residue neuron evidence: the planted motif unit fires at H-then-E only; attributions are gradient x activation. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectPositions } from '../kn/positions.js';
import { windowStarts } from '../model/classifier.js';
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

test('positions under a window reading: every residue, each from the window where it is most central, equal to that window read alone', async () => {
  await gpu();
  const host = tinyClassifier(3, 2, 16, 3);
  const u = uploadTiny(host);
  try {
    // Lengths 9 (one window), 20 and 37 (several, the last flush with the end): windows of 12 at stride 5.
    const records = randomRecords(3, 3, 5, 9, 1).map((r, i) => ({ ...r, sequence: r.sequence.repeat(5).slice(0, [9, 20, 37][i]!) }));
    const window = { size: 12, stride: 5 };
    const neurons = [{ module: 'ffn_in', layer: 1, index: 7 }, { module: 'key', layer: 0, index: 2 }] as const;
    const ev = await collectPositions(u.model, u.head, records, neurons, { batching: { maxLength: 12, batchSize: 4, window }, attribution: true });
    for (const [r, rec] of records.entries()) {
      const e = ev[r]!;
      const n = rec.sequence.length;
      assert.is(e.residues, n, `record ${r}: every residue`);
      const starts = windowStarts(n, window);
      const pieces = starts.map((s) => ({ ...rec, sequence: rec.sequence.slice(s, s + window.size) }));
      const alone = await collectPositions(u.model, u.head, pieces, neurons, { batching: { maxLength: 12, batchSize: 4 }, attribution: true });
      for (let i = 0; i < n; i++) {
        // The most central window: the largest distance to its nearer edge, ties to the earlier one.
        let w = -1;
        let margin = -1;
        starts.forEach((s, k) => {
          const j = i - s;
          const len = pieces[k]!.sequence.length;
          if (j >= 0 && j < len && Math.min(j, len - 1 - j) > margin) [w, margin] = [k, Math.min(j, len - 1 - j)];
        });
        const a = alone[w]!;
        // Batches differ in their other rows (padding), so equal up to float rounding.
        const close = (x: number, y: number) => Math.abs(x - y) <= 1e-6 + 1e-5 * Math.abs(y);
        for (let k = 0; k < neurons.length; k++) {
          const j = k * a.residues + i - starts[w]!;
          assert.ok(close(e.activations[k * n + i]!, a.activations[j]!), `record ${r} residue ${i} neuron ${k}: activation from window ${w}`);
          assert.ok(close(e.attributions![k * n + i]!, a.attributions![j]!), `record ${r} residue ${i} neuron ${k}: attribution from window ${w}`);
        }
      }
    }
    // A record no longer than a window is read whole in one pass, beside long ones or alone, even when
    // maxLength is shorter; a stride beyond the window is refused.
    const plain = await collectPositions(u.model, u.head, records.slice(0, 1), neurons, { batching: { maxLength: 12, batchSize: 4 } });
    for (const set of [records.slice(0, 2), records.slice(0, 1)]) {
      const got = await collectPositions(u.model, u.head, set, neurons, { batching: { maxLength: 5, batchSize: 4, window } });
      assert.is(got[0]!.residues, 9);
      assert.ok(Array.from(got[0]!.activations).every((v, i) => Math.abs(v - plain[0]!.activations[i]!) <= 1e-6 + 1e-5 * Math.abs(v)), `${set.length} records: the short one read whole`);
    }
    const refused = await collectPositions(u.model, u.head, records, neurons, { batching: { maxLength: 12, batchSize: 4, window: { size: 12, stride: 13 } } }).then(() => 'no error', (e: Error) => e.message);
    assert.match(refused, /window stride 13 is more than its size 12/);
  } finally {
    disposeTiny(u);
  }
});

test.run();
