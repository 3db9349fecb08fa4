/**
 * `esm-kn baseline` and `evaluate --baselines` on a small labelled FASTA: the rows are the baselines of
 * train/baselines.ts scored with data/metrics.ts on the same split and crop, the remote view holds the
 * records whose nearest training sequence is below the threshold, and bad options are one-line errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeMetrics } from '../data/metrics.js';
import { kmerNearestNeighbour, majorityBaseline, cropRecords } from '../train/baselines.js';
import { loadSplitData } from '../train/data.js';
import { cli, errorLines } from './lib/cli.js';
import { compositionFasta, tempDir, writeText } from './lib/train_fixtures.js';

const dir = tempDir('cli-baseline');
const data = writeText(dir, 'composition.fasta', compositionFasta(140, 4));

interface Row { name: string; accuracy: number; macro_f1: number; remote: { records: number; accuracy: number; macro_f1: number } }

test('esm-kn baseline --json: majority and 3-mer 1-NN rows equal a direct computation on the same split and crop', async () => {
  const r = cli('baseline', data, '--max-len', '20', '--remote-below', '0.5', '--json');
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { records: number; remote_records: number; baselines: Row[]; max_length: number };
  assert.equal(out.baselines.map((b) => b.name), ['majority', 'composition', '3-mer 1-NN']);
  assert.is(out.max_length, 20);
  const split = await loadSplitData(data, 'ec', 0);
  const { train, test: records } = split.parts;
  assert.is(out.records, records.length);
  const names = split.dataset.classNames;
  const truth = records.map((x) => x.label);
  const maj = computeMetrics(truth, Array.from(majorityBaseline(train, names.length).predict(records)), names);
  assert.ok(Math.abs(out.baselines[0]!.accuracy - maj.accuracy) < 1e-12);
  const nn = kmerNearestNeighbour(cropRecords(train, 20), cropRecords(records, 20));
  const knn = computeMetrics(truth, Array.from(nn.predictions), names);
  assert.ok(Math.abs(out.baselines[2]!.accuracy - knn.accuracy) < 1e-12);
  assert.ok(Math.abs(out.baselines[2]!.macro_f1 - knn.macro_f1) < 1e-12);
  // The remote view is computed on whole sequences against the whole training split.
  const whole = kmerNearestNeighbour(train, records);
  const remote = Array.from(whole.maxSimilarity).filter((s) => s < 0.5).length;
  assert.is(out.remote_records, remote);
  assert.ok(out.baselines.every((b) => b.remote.records === remote));
});

test('esm-kn baseline: bad options are one-line errors', () => {
  for (const args of [['--split', 'train'], ['--remote-below', '0'], ['--task', 'nope']]) {
    const r = cli('baseline', data, ...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(errorLines(r.stderr).length, 1, r.stderr);
  }
  const r = cli('baseline', `${dir}/missing.fasta`);
  assert.is(r.status, 1);
  assert.ok(errorLines(r.stderr)[0]!.includes('missing.fasta'), r.stderr);
});

test.run();
