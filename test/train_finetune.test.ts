/**
 * Fine-tuning a tiny ESM-2 on an easy synthetic task (the class is which residue is enriched): the
 * loss falls, validation and test accuracy reach 90%, live GPU memory is the same from step to step,
 * and the best checkpoint carries head, labels, task, metrics and provenance. `esm-kn evaluate --json`
 * on it has the required keys, and its numbers equal a direct float64 computation (reference forward,
 * head on the host, metrics) over the same test records.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rt } from '../engine/context.js';
import { clearRotaryCache } from '../engine/index.js';
import { loadCheckpoint } from '../model/checkpoint/node.js';
import { parseDataFile, selectTask } from '../data/dataset.js';
import { argmaxRows, computeMetrics } from '../data/metrics.js';
import { refHeadProbs } from '../kn/ref/ig.js';
import { refEsmForward } from '../model/ref/esm.js';
import { encodeSequence } from '../model/tokenizer.js';
import { splitDataset } from '../train/data.js';
import { disposeClassifier } from '../model/classifier.js';
import { evaluateClassifier, loadClassifier } from '../train/evaluate.js';
import { finetune, resumeFinetune } from '../train/finetune.js';
import type { RunResult } from '../train/run.js';
import { gpu } from './lib/gpu.js';
import { cli } from './lib/cli.js';
import { compositionFasta, tempDir, tinyFinetune, writeText } from './lib/train_fixtures.js';

const dir = tempDir('finetune');
const data = writeText(dir, 'composition.fasta', compositionFasta(240, 1, 12));
const out = join(dir, 'run');
const losses: number[] = [];
const live = new Map<number, number>();
let run: RunResult;

test.before(async () => {
  await gpu();
  run = await finetune(tinyFinetune(data, out), {
    hooks: {
      onStep(s) {
        losses.push(s.loss);
        // The rotary cos/sin cache holds up to 8 tables whose sizes follow the batches' lengths;
        // emptying it leaves only what a step could leak.
        clearRotaryCache();
        live.set(s.step, rt().pool.snapshot().liveBytes);
      },
    },
  });
});

test('the loss falls and the best validation macro-F1 is at least 0.9', () => {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.is(losses.length, 48, '4 epochs of 12 batches');
  const first = mean(losses.slice(0, 5));
  const lastFive = mean(losses.slice(-5));
  assert.ok(lastFive < 0.5 * first, `loss fell from ${first.toFixed(3)} to ${lastFive.toFixed(3)}`);
  assert.ok(run.state.best !== null && run.state.best.score >= 0.9, `best macro-F1 ${run.state.best?.score}`);
  assert.is(run.state.history.length, 4, 'one evaluation per epoch');
  assert.ok(run.state.done);
  assert.ok(run.tokensPerSecond > 0);
});

test('live GPU memory does not grow from step to step', () => {
  // Steps 12, 24, ... end an epoch: their loss is read during evaluation, when no next step is recorded yet.
  assert.ok(live.get(3)! > 0);
  assert.is(live.get(46), live.get(3), `live bytes after step 3 (${live.get(3)}) and step 46 (${live.get(46)})`);
  assert.is(live.get(47), live.get(3));
});

test('best/ is a classifier with labels, task, metrics and provenance; it reaches 90% on the test split', async () => {
  const ckpt = await loadCheckpoint(join(out, 'best'));
  assert.equal(ckpt.head?.labels, ['EC1 oxidoreductases', 'EC2 transferases', 'EC3 hydrolases', 'EC4 lyases', 'EC5 isomerases', 'EC6 ligases', 'EC7 translocases']);
  assert.is(ckpt.meta.task, 'ec');
  const metrics = ckpt.meta.metrics as { macro_f1: number; split: string; confusion: number[][] };
  assert.is(metrics.split, 'valid');
  assert.is(metrics.macro_f1, run.state.best!.score);
  const prov = ckpt.meta.provenance as Record<string, unknown>;
  for (const key of ['command', 'seeds', 'backbone', 'data', 'split', 'machine', 'adapter', 'wall_seconds', 'started_at']) assert.ok(key in prov, `provenance.${key}`);
  const parsed = await parseDataFile(readFileSync(data, 'utf8'), data);
  assert.is((prov.data as { sha256: string }).sha256, parsed.sha256);

  const clf = await loadClassifier(join(out, 'best'));
  const split = await splitDataset(selectTask(parsed, 'ec'), 0);
  const r = await evaluateClassifier(clf.model, clf.head, split.parts.test, clf.labels, { batchSize: 8, maxLength: 40 });
  disposeClassifier(clf);
  assert.ok(r.metrics.accuracy >= 0.9, `test accuracy ${r.metrics.accuracy}`);
});

test('--keep-head: a second stage starts from the checkpoint\'s head (its validation loss as the first stage ended); a fresh head starts near ln C; mismatches are option errors', async () => {
  const stage = async (name: string, keepHead: boolean) => {
    const r = await finetune(tinyFinetune(data, join(dir, name), { backbone: { checkpoint: join(out, 'best') }, keepHead, maxSteps: 1, lr: 1e-9, warmupSteps: 0 }));
    return r.state.history.at(-1)!.loss as number;
  };
  // The features separate the classes so well that even a random head ranks them right: the loss tells the heads apart.
  const bestLoss = run.state.history.find((h) => h.step === run.state.best!.step)!.loss as number;
  const kept = await stage('stage2-kept', true);
  assert.ok(Math.abs(kept - bestLoss) < 1e-3, `kept head: validation loss ${kept} vs the first stage's ${bestLoss}`);
  const fresh = await stage('stage2-fresh', false);
  assert.ok(Math.abs(fresh - Math.log(7)) < 0.2 && fresh > kept + 0.5, `fresh head: validation loss ${fresh} (ln 7 = ${Math.log(7).toFixed(3)})`);
  const prov = (await loadCheckpoint(join(dir, 'stage2-kept', 'last'))).meta.provenance as { recipe: { head: string }; backbone_provenance: Record<string, unknown> | null };
  assert.is(prov.recipe.head, 'the --backbone checkpoint\'s head');
  // The chain of stages: stage 2 keeps stage 1's provenance whole; stage 1 started from a fresh backbone.
  const first = (await loadCheckpoint(join(out, 'best'))).meta.provenance as Record<string, unknown>;
  assert.equal(prov.backbone_provenance, first);
  assert.is(first.backbone_provenance, null);
  // Stopped and resumed, a stage keeps its lineage (not its own last/ as a backbone).
  const resumedDir = join(dir, 'stage2-resumed');
  await finetune(tinyFinetune(data, resumedDir, { backbone: { checkpoint: join(out, 'best') }, keepHead: true, maxSteps: 2, lr: 1e-9, warmupSteps: 0 }), { stopAfter: 1 });
  await resumeFinetune(resumedDir);
  const resumed = (await loadCheckpoint(join(resumedDir, 'last'))).meta.provenance as { backbone_provenance: unknown; resumes: unknown[] };
  assert.is(resumed.resumes.length, 1);
  assert.equal(resumed.backbone_provenance, first);
  const message = (p: Promise<unknown>) => p.then(() => 'no error', (e: Error) => e.message);
  assert.match(await message(finetune(tinyFinetune(data, join(dir, 'stage2-bad'), { keepHead: true }))), /keep-head needs --backbone MODEL/);
  assert.match(await message(finetune(tinyFinetune(data, join(dir, 'stage2-cls'), { backbone: { checkpoint: join(out, 'best') }, keepHead: true, pooling: 'cls' }))), /pools by mean, --pooling is cls/);
});

test('evaluate --json: required keys, and numbers equal to a direct float64 computation', async () => {
  const r = cli('evaluate', join(out, 'best'), data, '--split', 'test', '--json');
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const key of ['accuracy', 'macro_f1', 'per_class', 'confusion', 'model', 'data', 'split', 'left_out', 'records']) assert.ok(key in got, `key ${key}`);
  assert.is(got.split, 'test');
  assert.equal(got.left_out, [{ count: 12, reason: 'non-enzymes left out for task ec' }]);

  const ckpt = await loadCheckpoint(join(out, 'best'));
  const parsed = await parseDataFile(readFileSync(data, 'utf8'), data);
  const records = (await splitDataset(selectTask(parsed, 'ec'), 0)).parts.test;
  const C = ckpt.head!.labels.length;
  const head = { pooling: ckpt.head!.pooling, numClasses: C, params: new Map([...ckpt.head!.params].map(([n, t]) => [n, t.data])) };
  const probs = new Float64Array(records.length * C); // (records, C); argmax as the logits'
  records.forEach((rec, i) => {
    const tokens = encodeSequence(rec.sequence);
    const n = rec.sequence.length;
    const ref = refEsmForward(ckpt.config, ckpt.params, tokens, [1, n + 2], { reprLayers: [ckpt.config.numLayers] });
    probs.set(refHeadProbs(ckpt.config.embedDim, head, ref.hiddens[ckpt.config.numLayers]!, 1, n + 2), i * C);
  });
  const want = computeMetrics(records.map((x) => x.label), argmaxRows(probs, C), ckpt.head!.labels);
  assert.is(got.records, records.length);
  assert.equal(got.confusion, want.confusion);
  assert.ok(Math.abs((got.accuracy as number) - want.accuracy) < 1e-12);
  assert.ok(Math.abs((got.macro_f1 as number) - want.macro_f1) < 1e-12);
  assert.equal((got.per_class as { support: number }[]).map((c) => c.support), want.per_class.map((c) => c.support));
});

test('evaluate prints the metrics table, per-class rows and the confusion matrix', () => {
  const r = cli('evaluate', join(out, 'best'), data);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /split all: 240 records/);
  assert.match(r.stdout, /left out: 12 non-enzymes left out for task ec/);
  assert.match(r.stdout, /accuracy \d\.\d{4}\s+macro-F1 \d\.\d{4} over 3 of 7 classes/);
  assert.match(r.stdout, /confusion \(rows: true class, columns: predicted class\)/);
});

test.run();
