/**
 * The fine-tuning recipe's options. Window-averaged scoring (the classifier's one inference path)
 * equals the logits of each window computed one by one and averaged.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classifierLogits, windowStarts } from '../model/classifier.js';
import { gpu } from './lib/gpu.js';
import { disposeTiny, randomRecords, tinyClassifier, uploadTiny } from './lib/kn_fixtures.js';

test.before(async () => {
  await gpu();
});

test('windowStarts: stride steps, the last window flush with the end, one window when the sequence fits', () => {
  assert.equal(windowStarts(10, { size: 4, stride: 2 }), [0, 2, 4, 6]);
  assert.equal(windowStarts(11, { size: 4, stride: 2 }), [0, 2, 4, 6, 7]);
  assert.equal(windowStarts(9, { size: 4, stride: 4 }), [0, 4, 5]);
  assert.equal(windowStarts(4, { size: 4, stride: 2 }), [0]);
  assert.equal(windowStarts(3, { size: 4, stride: 2 }), [0]);
  assert.equal(windowStarts(5, { size: 4, stride: 9 }), [0, 1]);
  assert.throws(() => windowStarts(5, { size: 4, stride: 0 }), /stride 0 must be/);
});

test('window-averaged logits equal the mean of each window scored alone', async () => {
  const tiny = tinyClassifier(4, 1, 16, 3);
  const u = uploadTiny(tiny);
  try {
    const LENGTHS = [5, 12, 13, 20, 29, 40]; // shorter than, equal to and longer than the window
    const records = randomRecords(6, 3, 2, 40, 1).map((r, i) => ({ ...r, sequence: r.sequence.slice(0, LENGTHS[i]) }));
    const W = 12;
    const C = 3;
    for (const stride of [5, 6]) {
      const got = await classifierLogits(u.model, u.head, records, { batchSize: 4, maxLength: 8, window: { size: W, stride } });
      for (const [n, r] of records.entries()) {
        // Direct: the window offsets written out, each window a one-record batch of its own.
        const L = r.sequence.length;
        const starts: number[] = [];
        if (L <= W) starts.push(0);
        else {
          for (let s = 0; s + W < L; s += stride) starts.push(s);
          starts.push(L - W);
        }
        const want = new Float64Array(C);
        for (const s of starts) {
          const one = await classifierLogits(u.model, u.head, [{ id: 'w', sequence: r.sequence.slice(s, s + W) }], { batchSize: 1, maxLength: W });
          one.forEach((v, c) => (want[c]! += v / starts.length));
        }
        for (let c = 0; c < C; c++) {
          assert.ok(Math.abs(got[n * C + c]! - want[c]!) < 1e-5, `record ${n} (${L} residues, ${starts.length} windows, stride ${stride}) class ${c}: ${got[n * C + c]} vs ${want[c]}`);
        }
      }
    }
    // Without a window, the first maxLength residues as before.
    const first = await classifierLogits(u.model, u.head, records, { batchSize: 4, maxLength: 8 });
    const crop = await classifierLogits(u.model, u.head, records.map((r) => ({ ...r, sequence: r.sequence.slice(0, 8) })), { batchSize: 4, maxLength: 8 });
    assert.equal(Array.from(first), Array.from(crop));
  } finally {
    disposeTiny(u);
  }
});

test.run();
