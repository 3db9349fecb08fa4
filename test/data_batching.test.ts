/**
 * Batching (reproducible from seed and epoch, little padding, crops, the class-balanced sampler against
 * a direct count) and ESM-2 MLM masking (proportions, specials untouched).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { selectTask, type TaskRecord } from '../data/dataset.js';
import { balancedDraw, encodePlan, IGNORE_INDEX, makeBatches, mixSeed, paddingEfficiency, planBatches, type BatchOptions, type BatchPlan } from '../model/batching.js';
import { maskBatch, STANDARD_RESIDUE_IDS } from '../data/mlm.js';
import { readDataFile, readSplitFile, splitPath } from '../data/files.node.js';
import { applySplit } from '../data/split.js';
import { rng } from '../engine/random.js';
import { CLS, encodeBatch, encodeSequence, EOS, MASK, PAD } from '../model/tokenizer.js';

let train: TaskRecord[] | null = null;
/** The committed ec training split: 10,680 real sequences of 4-1022 residues. */
async function ecTrain(): Promise<TaskRecord[]> {
  if (!train) {
    const ds = selectTask(await readDataFile(), 'ec');
    train = applySplit(ds, await readSplitFile(splitPath('ec', 0), ds)).train;
  }
  return train;
}

const every = (plans: BatchPlan[]): number[] => plans.flatMap((p) => p.indices).sort((a, b) => a - b);

test('train batches: every record once per epoch, reproducible from (seed, epoch), new order each epoch', async () => {
  const recs = await ecTrain();
  const opts: BatchOptions = { mode: 'train', seed: 3, batchSize: 16, maxLength: 300 };
  const e0 = planBatches(recs, opts, 0);
  assert.equal(every(e0), recs.map((_, i) => i));
  assert.equal(planBatches(recs, opts, 0), e0);
  const e1 = planBatches(recs, opts, 1);
  assert.equal(every(e1), recs.map((_, i) => i));
  assert.not.equal(e1.map((p) => p.indices), e0.map((p) => p.indices));
  assert.not.equal(planBatches(recs, { ...opts, seed: 4 }, 0).map((p) => p.indices), e0.map((p) => p.indices));
  assert.ok(e0.every((p) => p.indices.length <= 16));
});

test('length bucketing keeps padding small; unsorted batches pad far more', async () => {
  const recs = await ecTrain();
  const bucketed = paddingEfficiency(makeBatches(recs, { mode: 'train', batchSize: 32 }, 0));
  // The same batch size without sorting: rows of 32 in shuffled order.
  const rand = rng(1);
  const shuffled = recs.map((r) => ({ r, k: rand() })).sort((a, b) => a.k - b.k).map((x) => x.r);
  const unsorted = paddingEfficiency(Array.from({ length: Math.ceil(shuffled.length / 32) }, (_, i) => encodeBatch(shuffled.slice(32 * i, 32 * i + 32).map((r) => ({ label: r.id, sequence: r.sequence })))));
  const evaluation = paddingEfficiency(makeBatches(recs, { mode: 'eval', batchSize: 32 }));
  assert.ok(bucketed > 0.95, `bucketed efficiency ${bucketed.toFixed(3)}`);
  assert.ok(unsorted < 0.6, `unsorted efficiency ${unsorted.toFixed(3)}`);
  assert.ok(evaluation > 0.99, `eval efficiency ${evaluation.toFixed(3)}`);
});

test('token budget: B * L never exceeds it; too small a budget is an error naming the record', async () => {
  const recs = (await ecTrain()).slice(0, 3000);
  const batches = makeBatches(recs, { mode: 'train', tokenBudget: 4096, maxLength: 1022 }, 2);
  assert.ok(batches.every((b) => b.batch * b.length <= 4096));
  assert.is(batches.reduce((a, b) => a + b.batch, 0), recs.length);
  assert.ok(batches.some((b) => b.batch > 10), 'short sequences share a batch');
  assert.throws(() => planBatches(recs, { mode: 'eval', tokenBudget: 500, maxLength: 1022 }), /tokenBudget 500 cannot hold record '\w+' \(\d+ tokens after cropping to maxLength 1022\)/);
  assert.throws(() => planBatches(recs, { mode: 'eval', batchSize: 0 }), /batchSize must be a positive integer/);
  assert.throws(() => planBatches(recs, { mode: 'train', batchSize: 64, chunkSize: 32 }), /chunkSize 32 is smaller than batchSize 64/);
});

test('token layout: <cls> residues <eos> then <pad>; labels and ids follow the records', () => {
  const recs = [
    { id: 'a', sequence: 'MKV', label: 3 },
    { id: 'b', sequence: 'MKVLW', label: 1 },
    { id: 'c', sequence: 'M' },
  ];
  const [b] = makeBatches(recs, { mode: 'eval', batchSize: 8 });
  assert.equal(b!.ids, ['c', 'a', 'b']);
  assert.equal([...b!.labels], [IGNORE_INDEX, 3, 1]);
  assert.equal([...b!.lengths], [3, 5, 7]);
  assert.is(b!.length, 7);
  assert.equal([...b!.tokens.subarray(0, 7)], [CLS, ...encodeSequence('M').subarray(1, 2), EOS, PAD, PAD, PAD, PAD]);
  assert.equal([...b!.tokens.subarray(14, 21)], [...encodeSequence('MKVLW')]);
});

test('crops: random window in training, seeded per (seed, epoch); first maxLength residues in evaluation', async () => {
  const recs = (await ecTrain()).filter((r) => r.sequence.length > 600).slice(0, 200);
  const maxLength = 256;
  const check = (mode: 'train' | 'eval', epoch: number): number[] => {
    const starts: number[] = [];
    for (const b of makeBatches(recs, { mode, seed: 7, batchSize: 8, maxLength }, epoch)) {
      assert.ok(b.length <= maxLength + 2);
      b.ids.forEach((id, k) => {
        const seq = recs.find((r) => r.id === id)!.sequence;
        const s = b.starts[k]!;
        assert.ok(s >= 0 && s + maxLength <= seq.length);
        assert.equal([...b.tokens.subarray(k * b.length, (k + 1) * b.length)], [...encodeSequence(seq.slice(s, s + maxLength))]);
        starts[recs.findIndex((r) => r.id === id)] = s;
      });
    }
    return starts;
  };
  const e0 = check('train', 0);
  assert.equal(check('train', 0), e0, 'same crops for the same (seed, epoch)');
  assert.ok(new Set(e0).size > 100, 'crop offsets vary');
  const e1 = check('train', 1);
  assert.ok(e1.filter((s, i) => s !== e0[i]).length > 150, 'new crops next epoch');
  assert.ok(check('eval', 0).every((s) => s === 0));
  // A record's crop does not depend on how the records are batched.
  const plan = planBatches(recs, { mode: 'train', seed: 7, batchSize: 1, maxLength }, 0);
  const single = new Map(plan.map((p) => [p.indices[0]!, p.starts[0]!]));
  assert.ok(e0.every((s, i) => single.get(i) === s));
});

test('balanced sampler: deterministic per (seed, epoch), classes balanced over an epoch, records cycled, as many batches as shuffle', () => {
  // 39 records, classes 0/1/2 with 30/6/3 records (10:2:1), 5-44 residues.
  const counts = [30, 6, 3];
  const labels = counts.flatMap((n, c) => new Array<number>(n).fill(c));
  const recs = labels.map((label, i) => ({ id: `r${i}`, sequence: 'A'.repeat(5 + ((i * 7) % 40)), label }));
  const opts: BatchOptions = { mode: 'train', seed: 5, batchSize: 4, maxLength: 12, sampler: 'balanced' };
  const e0 = planBatches(recs, opts, 0);
  assert.equal(planBatches(recs, opts, 0), e0, 'same (seed, epoch), same plan');
  assert.not.equal(planBatches(recs, opts, 1).map((p) => p.indices), e0.map((p) => p.indices));
  assert.not.equal(planBatches(recs, { ...opts, seed: 6 }, 0).map((p) => p.indices), e0.map((p) => p.indices));
  assert.is(e0.length, planBatches(recs, { ...opts, sampler: 'shuffle' }, 0).length, 'an epoch has as many batches as with shuffle');
  assert.equal(planBatches(recs, { ...opts, sampler: 'shuffle' }, 0), planBatches(recs, { ...opts, sampler: undefined }, 0), 'shuffle is the default');
  // Direct count: 39 draws over 3 classes is 13 per class; class c's n_c records are each drawn
  // floor(13 / n_c) or ceil(13 / n_c) times.
  const drawn = e0.flatMap((p) => p.indices);
  assert.is(drawn.length, 39);
  const perRecord = new Array<number>(39).fill(0);
  for (const i of drawn) perRecord[i]!++;
  counts.forEach((n, c) => {
    const members = labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
    assert.is(members.reduce((a, i) => a + perRecord[i]!, 0), 13, `class ${c} drawn 13 times`);
    for (const i of members) assert.ok(perRecord[i] === Math.floor(13 / n) || perRecord[i] === Math.ceil(13 / n), `record ${i} of class ${c}: ${perRecord[i]}`);
  });
  // The plan holds exactly the draws of balancedDraw from the (seed, epoch) stream.
  assert.equal([...drawn].sort((a, b) => a - b), balancedDraw(labels, 39, rng(mixSeed(5, 0))).sort((a, b) => a - b));
  // Repeated draws of a record get their own crops, all inside the sequence.
  for (const p of e0) p.indices.forEach((i, k) => assert.ok(p.starts[k]! >= 0 && p.starts[k]! + 12 <= Math.max(12, recs[i]!.sequence.length)));
  assert.throws(() => planBatches([{ id: 'x', sequence: 'MKV' }], opts, 0), /sampler balanced needs labels; record 'x' has none/);
});

test('balancedDraw: every block of k draws holds each class once; each class cycles through its records', () => {
  const labels = [0, 0, 0, 0, 0, 2, 2, 1, 0, 2];
  const draws = balancedDraw(labels, 31, rng(9));
  assert.is(draws.length, 31);
  for (let b = 0; b + 3 <= 31; b += 3) assert.equal(draws.slice(b, b + 3).map((i) => labels[i]).sort(), [0, 1, 2], `block ${b / 3}`);
  for (const c of [0, 1, 2]) {
    const members = labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
    const seq = draws.filter((i) => labels[i] === c);
    for (let k = 0; k + members.length <= seq.length; k += members.length) {
      assert.equal(seq.slice(k, k + members.length).sort((a, b) => a - b), members, `class ${c}, cycle ${k / members.length}`);
    }
  }
  assert.equal(balancedDraw(labels, 31, rng(9)), draws);
});

test('mixSeed: deterministic, order-sensitive, 32-bit', () => {
  assert.is(mixSeed(1, 2), mixSeed(1, 2));
  assert.is.not(mixSeed(1, 2), mixSeed(2, 1));
  assert.is.not(mixSeed(0, 0), mixSeed(0, 1));
  assert.ok(Number.isInteger(mixSeed(5)) && mixSeed(5) >= 0 && mixSeed(5) < 2 ** 32);
});

test('MLM: 15% chosen, 80/10/10 mask/random/unchanged on a large real sample, within 5 sigma', async () => {
  const recs = (await ecTrain()).slice(0, 3000);
  let residues = 0;
  let rows = 0;
  let chosen = 0;
  let masked = 0;
  let same = 0;
  let expectSame = 0;
  let varSame = 0;
  const drawn = new Set<number>();
  makeBatches(recs, { mode: 'eval', batchSize: 32, maxLength: 512 }).forEach((b, i) => {
    const m = maskBatch(b, { seed: mixSeed(11, 0, i) });
    assert.is(m.chosen, m.targets.filter((t) => t !== IGNORE_INDEX).length);
    rows += b.batch;
    for (let p = 0; p < b.tokens.length; p++) {
      const orig = b.tokens[p]!;
      if (orig !== CLS && orig !== EOS && orig !== PAD) residues++;
      if (m.targets[p] === IGNORE_INDEX) {
        assert.is(m.tokens[p], orig, 'positions not chosen are unchanged');
        continue;
      }
      assert.is(m.targets[p], orig, 'target is the original token');
      chosen++;
      if (m.tokens[p] === MASK) masked++;
      else if (m.tokens[p] === orig) same++;
      else {
        assert.ok(STANDARD_RESIDUE_IDS.includes(m.tokens[p]!), 'random replacement is a standard residue');
        drawn.add(m.tokens[p]!);
      }
      // Unchanged: the 10% kept plus random draws that hit the original (1/20 for a standard residue).
      const q = 0.1 + (STANDARD_RESIDUE_IDS.includes(orig) ? 0.1 / 20 : 0);
      expectSame += q;
      varSame += q * (1 - q);
    }
  });
  // floor(0.15 n + u) per row: unbiased, variance at most 1/4 per row.
  assert.ok(Math.abs(chosen - 0.15 * residues) < 5 * Math.sqrt(rows / 4), `chosen ${chosen} of ${residues}`);
  assert.ok(Math.abs(masked - 0.8 * chosen) < 5 * Math.sqrt(chosen * 0.16), `masked ${masked} of ${chosen}`);
  assert.ok(Math.abs(same - expectSame) < 5 * Math.sqrt(varSame), `unchanged ${same}, expected ${expectSame.toFixed(0)}`);
  assert.is(drawn.size, 20, 'every standard residue is drawn');
  assert.ok(chosen > 50000, `sample of ${chosen} chosen positions`);
});

test('MLM: never touches <cls>, <eos> or <pad>; seeded', () => {
  const recs = Array.from({ length: 64 }, (_, i) => ({ id: `r${i}`, sequence: 'ACDEFGHIKLMNPQRSTVWYXBUZO'.slice(0, 1 + (i % 25)) }));
  const plans = planBatches(recs, { mode: 'train', seed: 1, batchSize: 64, chunkSize: 64 }, 0);
  const b = encodePlan(recs, plans[0]!);
  for (let seed = 0; seed < 50; seed++) {
    const m = maskBatch(b, { seed, maskProb: 1 });
    for (let r = 0; r < b.batch; r++) {
      for (let t = 0; t < b.length; t++) {
        const p = r * b.length + t;
        const special = t === 0 || t >= b.lengths[r]! - 1;
        if (special) {
          assert.is(m.tokens[p], b.tokens[p]);
          assert.is(m.targets[p], IGNORE_INDEX);
        } else {
          assert.is(m.targets[p], b.tokens[p], 'maskProb 1 chooses every residue');
        }
      }
    }
  }
  const a = maskBatch(b, { seed: 5 });
  assert.equal(maskBatch(b, { seed: 5 }), a);
  assert.not.equal(maskBatch(b, { seed: 6 }).tokens, a.tokens);
  assert.throws(() => maskBatch(b, { seed: 0, maskTokenProb: 0.95, randomTokenProb: 0.1 }), /MLM probabilities out of range/);
});

test.run();
