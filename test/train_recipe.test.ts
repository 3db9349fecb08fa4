/**
 * The fine-tuning recipe's options. Window-averaged scoring (the classifier's one inference path)
 * equals the logits of each window computed one by one and averaged; sqrt class weights equal their
 * formula; shuffled labels are a seeded permutation of the real ones; --head-lr-mult X moves the head
 * X times as far on the first step (where Adam's update is proportional to lr) and the backbone not
 * differently; every option is stored in the run, restored by --resume (bit-exact; an older run
 * without them gets the defaults), listed by --help, and checkpoint choice and `evaluate --eval-window`
 * score with windows as evaluateClassifier does.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCheckpoint } from '../model/checkpoint/node.js';
import { classifierLogits, classifierProbabilities, disposeClassifier, modelReading, windowStarts } from '../model/classifier.js';
import { initHead } from '../model/head.js';
import { mixSeed } from '../model/batching.js';
import { balancedClassWeights, classWeightsFor, loadSplitData, shuffleLabels, sqrtClassWeights } from '../train/data.js';
import { evaluateClassifier, loadClassifier } from '../train/evaluate.js';
import { finetune, resumeFinetune } from '../train/finetune.js';
import { runSeeds } from '../train/run.js';
import type { TaskRecord } from '../data/dataset.js';
import { cli } from './lib/cli.js';
import { gpu } from './lib/gpu.js';
import { disposeTiny, randomRecords, tinyClassifier, uploadTiny } from './lib/kn_fixtures.js';
import { compositionFasta, tempDir, tinyFinetune, writeText } from './lib/train_fixtures.js';

const dir = tempDir('recipe');
const data = writeText(dir, 'composition.fasta', compositionFasta(90, 6));

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

/** Records with the given labels (sequences do not matter here). */
function labelled(labels: readonly number[]): TaskRecord[] {
  return labels.map((label, i) => ({ id: `r${i}`, sequence: 'MKV', label, source: 'test' }));
}

test('sqrt class weights: sqrt of the balanced weights, weighted mean 1 over the training records', () => {
  const counts = [9, 4, 0, 1]; // class 2 has no training record
  const records = labelled(counts.flatMap((n, c) => new Array<number>(n).fill(c)));
  const N = 14;
  const balanced = counts.map((n) => (n ? N / (3 * n) : 0)); // n / (k n_c), k = 3 classes present
  const z = counts.reduce((a, n, c) => a + (n / N) * Math.sqrt(balanced[c]!), 0);
  const want = balanced.map((b) => Math.sqrt(b) / z);
  const got = sqrtClassWeights(records, 4);
  want.forEach((w, c) => assert.ok(Math.abs(got[c]! - w) < 1e-6, `class ${c}: ${got[c]} vs ${w}`));
  assert.ok(Math.abs(records.reduce((a, r) => a + got[r.label]!, 0) / N - 1) < 1e-6, 'weighted mean 1');
  assert.ok(Math.abs(got[3]! / got[0]! - Math.sqrt(balanced[3]! / balanced[0]!)) < 1e-5, 'the span is the balanced span\'s square root');
  assert.is(classWeightsFor('none', records, 4), null);
  assert.equal(classWeightsFor('balanced', records, 4), balancedClassWeights(records, 4));
  assert.equal(classWeightsFor('sqrt', records, 4), got);
});

test('shuffled labels: a permutation of the real ones (same class counts), fixed by the seed, not the real order', () => {
  const records = labelled(Array.from({ length: 40 }, (_, i) => (i * i) % 5));
  const a = shuffleLabels(records, 7);
  const sorted = (rs: readonly TaskRecord[]) => rs.map((r) => r.label).sort((x, y) => x - y);
  assert.equal(sorted(a), sorted(records));
  assert.equal(a.map((r) => r.id), records.map((r) => r.id));
  assert.equal(a.map((r) => r.sequence), records.map((r) => r.sequence));
  assert.equal(shuffleLabels(records, 7), a);
  assert.not.equal(a.map((r) => r.label), records.map((r) => r.label));
  assert.not.equal(shuffleLabels(records, 8).map((r) => r.label), a.map((r) => r.label));
});

test('--head-lr-mult X: on the first step the head moves X times as far, the backbone the same', async () => {
  const X = 4;
  const deltas = async (mult: number) => {
    const out = join(dir, `head-lr-${mult}`);
    await finetune(tinyFinetune(data, out, { maxSteps: 1, headLrMult: mult }));
    return loadCheckpoint(join(out, 'last'));
  };
  const one = await deltas(1);
  const many = await deltas(X);
  const init = initHead(32, 7, 'mean', runSeeds(0).head);
  for (const [name, t] of init.params) {
    const before = await t.f32();
    const d1 = one.head!.params.get(name)!.data.map((v, i) => v - before[i]!);
    const dx = many.head!.params.get(name)!.data.map((v, i) => v - before[i]!);
    const scale = Math.max(...dx.map(Math.abs));
    assert.ok(scale > 0, `${name} moved`);
    dx.forEach((v, i) => {
      if (Math.abs(v - X * d1[i]!) > 1e-4 * scale) assert.unreachable(`${name}[${i}]: moved ${v}, ${X} x ${d1[i]} expected`);
    });
    t.dispose();
  }
  for (const [name, t] of one.params) assert.equal(many.params.get(name)!.data, t.data, `backbone ${name}`);
});

const RECIPE = ['--class-weights', 'sqrt', '--sampler', 'balanced', '--head-lr-mult', '3', '--eval-window', '16', '--eval-stride', '5', '--shuffle-labels', '2'];

test('the recipe options are stored in the run and its provenance, and --resume restores them bit-exactly', async () => {
  const flags = ['--layers', '2', '--dim', '32', '--heads', '4', '--data', data, '--lr', '3e-3', '--max-steps', '4', '--batch-size', '16', '--max-len', '12', '--eval-every', '2', '--quiet', ...RECIPE];
  const stopped = join(dir, 'stopped');
  const first = cli('finetune', ...flags, '--out', stopped, '--stop-after', '2');
  assert.is(first.status, 0, first.stderr);
  const resumed = cli('finetune', '--resume', stopped, '--quiet');
  assert.is(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /finished 4 steps/);
  const whole = join(dir, 'whole');
  await finetune(tinyFinetune(data, whole, {
    maxSteps: 4, maxLength: 12, evalEvery: 2, classWeights: 'sqrt', sampler: 'balanced', headLrMult: 3, evalWindow: 16, evalStride: 5, shuffleLabels: 2,
  }));
  for (const f of ['last/model.safetensors', 'last/optimizer.safetensors', 'best/model.safetensors']) {
    assert.ok(Buffer.compare(readFileSync(join(stopped, f)), readFileSync(join(whole, f))) === 0, `${f} differs`);
  }
  const json = JSON.parse(readFileSync(join(stopped, 'last', 'esm-kn.json'), 'utf8')) as {
    training: { options: Record<string, unknown> };
    provenance: { recipe: Record<string, unknown>; resumes: unknown[] };
  };
  const o = json.training.options;
  assert.equal([o.classWeights, o.sampler, o.headLrMult, o.evalWindow, o.evalStride, o.shuffleLabels], ['sqrt', 'balanced', 3, 16, 5, 2]);
  const r = json.provenance.recipe;
  assert.equal([r.class_weights, r.sampler, r.head_lr_mult, r.eval_window], ['sqrt', 'balanced', 3, { size: 16, stride: 5 }]);
  const split = await loadSplitData(data, 'ec', 0);
  const shuffled = shuffleLabels(split.parts.train, 2);
  const relabelled = shuffled.filter((x, i) => x.label !== split.parts.train[i]!.label).length;
  const validShuffled = shuffleLabels(split.parts.valid, mixSeed(2, 1));
  const validRelabelled = validShuffled.filter((x, i) => x.label !== split.parts.valid[i]!.label).length;
  assert.equal(r.shuffle_labels, { seed: 2, split: 'train and valid', records: split.parts.train.length, relabelled, valid_records: split.parts.valid.length, valid_relabelled: validRelabelled });
  assert.ok(relabelled > 0);
  assert.equal(r.class_weight_values, Array.from(sqrtClassWeights(shuffled, 7)));
  assert.is(json.provenance.resumes.length, 1);
});

test('a run saved before these options existed resumes with their defaults', async () => {
  const out = join(dir, 'older');
  await finetune(tinyFinetune(data, out, { maxSteps: 2 }), { stopAfter: 1 });
  const file = join(out, 'last', 'esm-kn.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as { training: { options: Record<string, unknown> } };
  for (const k of ['sampler', 'headLrMult', 'evalWindow', 'evalStride', 'shuffleLabels']) delete json.training.options[k];
  writeFileSync(file, JSON.stringify(json));
  const r = await resumeFinetune(out);
  assert.ok(r.state.done);
  const o = (JSON.parse(readFileSync(file, 'utf8')) as { training: { options: Record<string, unknown> } }).training.options;
  assert.equal([o.sampler, o.headLrMult, o.evalWindow, o.evalStride, o.shuffleLabels], ['shuffle', 1, null, null, null]);
});

test('checkpoint choice and evaluate --eval-window score with windows as evaluateClassifier does; finetune --help lists the options', async () => {
  const best = join(dir, 'whole', 'best');
  const r = cli('evaluate', best, data, '--split', 'valid', '--eval-window', '10', '--json');
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { eval_window: unknown; loss: number; accuracy: number };
  assert.equal(got.eval_window, { size: 10, stride: 5 });
  const clf = await loadClassifier(best);
  const records = (await loadSplitData(data, 'ec', 0)).parts.valid;
  const want = await evaluateClassifier(clf.model, clf.head, records, clf.labels, { batchSize: 32, maxLength: 1022, window: { size: 10, stride: 5 } });
  // Checkpoint choice scored the validation split with the run's window (16, stride 5), on the
  // validation labels the run's --shuffle-labels 2 shuffled.
  const chosen = (await loadCheckpoint(best)).meta.metrics as { loss: number };
  const runValid = shuffleLabels(records, mixSeed(2, 1));
  const windowed = await evaluateClassifier(clf.model, clf.head, runValid, clf.labels, { batchSize: 16, maxLength: 12, window: { size: 16, stride: 5 } });
  const firstOnly = await evaluateClassifier(clf.model, clf.head, runValid, clf.labels, { batchSize: 16, maxLength: 12 });
  disposeClassifier(clf);
  assert.ok(Math.abs(chosen.loss - windowed.loss) < 1e-9, `best/ validation loss ${chosen.loss} vs windowed ${windowed.loss}`);
  assert.ok(Math.abs(chosen.loss - firstOnly.loss) > 1e-6, 'and not the first-window loss');
  assert.ok(Math.abs(got.loss - want.loss) < 1e-9, `loss ${got.loss} vs ${want.loss}`);
  assert.is(got.accuracy, want.metrics.accuracy);
  const help = cli('finetune', '--help');
  for (const flag of ['--class-weights none|balanced|sqrt', '--sampler shuffle|balanced', '--head-lr-mult 1', '--eval-window W [--eval-stride S]', '--shuffle-labels SEED']) {
    assert.ok(help.stdout.includes(flag), `--help lists ${flag}`);
  }
});

test('modelReading: the stored inference reading, else the recipe window of older runs, else none', () => {
  assert.equal(modelReading({ inference: { max_len: 256, window: { size: 256, stride: 128 } } }), { maxLength: 256, window: { size: 256, stride: 128 } });
  assert.equal(modelReading({ inference: { max_len: 64, window: null } }), { maxLength: 64, window: null });
  const older = { provenance: { command_line: ['esm-kn', 'finetune', '--max-len', '200'], recipe: { eval_window: { size: 100, stride: 50 } } } };
  assert.equal(modelReading(older), { maxLength: 200, window: { size: 100, stride: 50 } });
  assert.is(modelReading({ provenance: { recipe: { eval_window: null } } }), null);
  assert.is(modelReading({}), null);
  // A malformed reading is ignored rather than trusted.
  assert.is(modelReading({ inference: { max_len: 0, window: null } }), null);
  assert.is(modelReading({ inference: { max_len: 64, window: { size: 2000, stride: 1 } } }), null);
});

test('evaluate and predict read a model as it was validated (its stored window) unless told otherwise', async () => {
  const best = join(dir, 'whole', 'best');
  const meta = (await loadCheckpoint(best)).meta;
  assert.equal(meta.inference, { max_len: 12, window: { size: 16, stride: 5 } });
  assert.equal(modelReading(meta), { maxLength: 12, window: { size: 16, stride: 5 } });
  const r = cli('evaluate', best, data, '--split', 'valid', '--json');
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { eval_window: unknown; reading: string; loss: number };
  assert.equal(got.eval_window, { size: 16, stride: 5 });
  assert.is(got.reading, 'model');
  const clf = await loadClassifier(best);
  const records = (await loadSplitData(data, 'ec', 0)).parts.valid;
  const want = await evaluateClassifier(clf.model, clf.head, records, clf.labels, { batchSize: 32, maxLength: 1022, window: { size: 16, stride: 5 } });
  assert.ok(Math.abs(got.loss - want.loss) < 1e-9, `loss ${got.loss} vs windowed ${want.loss}`);
  const explicit = JSON.parse(cli('evaluate', best, data, '--split', 'valid', '--max-len', '1022', '--json').stdout) as { reading: string; eval_window: unknown };
  assert.is(explicit.reading, 'options');
  assert.is(explicit.eval_window, null);
  // predict: the same windows by default, one whole pass with --whole.
  const long = records.filter((x) => x.sequence.length > 16).slice(0, 4);
  assert.ok(long.length > 0, 'records longer than the window');
  const fasta = writeText(dir, 'long.fasta', long.map((x) => `>${x.id}\n${x.sequence}\n`).join(''));
  const probsOf = (args: string[]): number[][] => {
    const out = cli('predict', best, fasta, '--quiet', ...args);
    assert.is(out.status, 0, out.stderr);
    return out.stdout.trim().split('\n').slice(1).map((line) => line.split('\t').slice(2).map(Number));
  };
  const windowedP = await classifierProbabilities(clf, long, { batchSize: 8, maxLength: 1022, window: { size: 16, stride: 5 } });
  const wholeP = await classifierProbabilities(clf, long, { batchSize: 8, maxLength: 1022 });
  disposeClassifier(clf);
  const C = clf.labels.length;
  const close = (a: number[][], b: Float64Array): boolean => a.every((row, n) => row.every((v, c) => Math.abs(v - b[n * C + c]!) < 1e-5));
  assert.ok(close(probsOf([]), windowedP), 'predict reads the stored window');
  assert.ok(close(probsOf(['--whole']), wholeP), 'predict --whole reads every residue');
  assert.ok(!close(probsOf([]), wholeP), 'and the two differ here');
});

test.run();
