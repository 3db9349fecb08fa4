/**
 * MLM pretraining: on sequences drawn from four residues, a tiny model's masked-token loss falls from
 * about ln(33) towards ln(4), validation perplexity falls, and OUT/best is a backbone (no head) that
 * `esm-kn finetune --backbone` accepts.
 */
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rng } from '../engine/random.js';
import { loadCheckpoint } from '../model/checkpoint/node.js';
import { pretrain } from '../train/pretrain.js';
import type { RunResult } from '../train/run.js';
import { gpu } from './lib/gpu.js';
import { cli } from './lib/cli.js';
import { tempDir, tinyPretrain, writeText } from './lib/train_fixtures.js';

const dir = tempDir('pretrain');
const rand = rng(4);
const fasta = Array.from({ length: 200 }, (_, i) => {
  const n = 20 + Math.floor(rand() * 20);
  return `>P${i} ec_class=${1 + (i % 2)}\n${Array.from({ length: n }, () => 'ACDE'[Math.floor(rand() * 4)]).join('')}\n`;
}).join('');
const data = writeText(dir, 'four.fasta', fasta);
const out = join(dir, 'run');
const losses: number[] = [];
let run: RunResult;

test.before(async () => {
  await gpu();
  run = await pretrain(tinyPretrain(data, out, { maxSteps: 40, evalEvery: 10 }), { hooks: { onStep: (s) => void losses.push(s.loss) } });
});

test('the MLM loss falls and validation perplexity falls', () => {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.is(losses.length, 40);
  const first = mean(losses.slice(0, 3));
  const last = mean(losses.slice(-5));
  assert.ok(first > 3, `initial loss ${first} is near ln(33) = 3.50`);
  assert.ok(last < 0.6 * first, `loss fell from ${first.toFixed(3)} to ${last.toFixed(3)}`);
  const ppl = run.state.history.map((h) => h.perplexity!);
  assert.is(ppl.length, 4);
  assert.ok(ppl[3]! < 0.5 * ppl[0]! && ppl[3]! < 8, `validation perplexity ${ppl.map((p) => p.toFixed(2)).join(' -> ')}`);
});

test('best/ is a backbone with its perplexity, and finetune starts from it', async () => {
  const ckpt = await loadCheckpoint(join(out, 'best'));
  assert.is(ckpt.head, undefined);
  const metrics = ckpt.meta.metrics as { perplexity: number; split: string };
  assert.is(metrics.split, 'valid');
  assert.is(-metrics.perplexity, run.state.best!.score);
  const r = cli('finetune', '--backbone', join(out, 'best'), '--data', data, '--max-steps', '2', '--max-len', '40', '--quiet', '--out', join(dir, 'ft'));
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /finetune: finished 2 steps; best validation macro-F1/);
});

test('the pretrain CLI runs and reports validation perplexity', () => {
  const r = cli('pretrain', '--layers', '1', '--dim', '16', '--heads', '2', '--data', data, '--task', 'ec', '--max-steps', '3', '--max-len', '40', '--out', join(dir, 'cli'));
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /pretrain: step 3 \(epoch 0\.\d+\): train loss \d\.\d{4}, valid MLM loss \d\.\d{4} perplexity \d+\.\d{3}/);
  assert.match(r.stdout, /pretrain: finished 3 steps; best validation perplexity \d+\.\d{4} at step 3/);
  assert.match(r.stdout, /training throughput: \d+ tokens\/s/);
});

test.run();
