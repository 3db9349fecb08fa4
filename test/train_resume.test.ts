/**
 * Resuming is exact: a run stopped after a checkpoint and resumed ends with weights, optimizer moments
 * and best model byte-identical to an uninterrupted run with the same seed. Checked twice: in process
 * (stop after 7 steps, resume), and with the CLI killed (SIGKILL) after its first checkpoint and then
 * resumed with --resume. The run exercises accumulation, a token budget, random crops, class weights,
 * dropout, cosine decay and evaluation by steps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { finetune, resumeFinetune } from '../train/finetune.js';
import { gpu } from './lib/gpu.js';
import { cli, cliAsync } from './lib/cli.js';
import { compositionFasta, tempDir, tinyFinetune, writeText } from './lib/train_fixtures.js';

const dir = tempDir('resume');
const data = writeText(dir, 'composition.fasta', compositionFasta(240, 2));
const OPTIONS = {
  lr: 3e-3, warmupSteps: 3, decay: 'cosine', accum: 2, epochs: 4, batchSize: 16, tokensPerBatch: 480, maxLength: 24,
  evalEvery: 10, saveEvery: 5, classWeights: 'balanced', dropout: 0.1,
} as const;
const FLAGS = [
  '--layers', '2', '--dim', '32', '--heads', '4', '--data', data, '--lr', '3e-3', '--warmup', '3', '--decay', 'cosine', '--accum', '2',
  '--epochs', '4', '--batch-size', '16', '--tokens-per-batch', '480', '--max-len', '24', '--eval-every', '10', '--save-every', '5',
  '--class-weights', 'balanced', '--dropout', '0.1', '--quiet',
];
const FILES = ['last/model.safetensors', 'last/optimizer.safetensors', 'best/model.safetensors'];

function sameFiles(a: string, b: string): void {
  for (const f of FILES) assert.ok(Buffer.compare(readFileSync(join(a, f)), readFileSync(join(b, f))) === 0, `${f} differs between ${a} and ${b}`);
}

function step(run: string): number {
  return (JSON.parse(readFileSync(join(run, 'last', 'esm-kn.json'), 'utf8')) as { training: { state: { step: number } } }).training.state.step;
}

const whole = join(dir, 'whole');
let total = 0;

test.before(async () => {
  await gpu();
  const r = await finetune(tinyFinetune(data, whole, OPTIONS));
  total = r.schedule.totalSteps;
});

test('stop after 7 steps, resume: bit-identical to the uninterrupted run', async () => {
  const out = join(dir, 'stopped');
  const first = await finetune(tinyFinetune(data, out, OPTIONS), { stopAfter: 7 });
  assert.is(first.state.step, 7);
  assert.not.ok(first.state.done);
  assert.is(step(out), 7);
  const second = await resumeFinetune(out);
  assert.is(second.state.step, total);
  assert.ok(second.state.done);
  assert.equal(second.state.history, (JSON.parse(readFileSync(join(whole, 'last', 'esm-kn.json'), 'utf8')) as { training: { state: { history: unknown } } }).training.state.history);
  sameFiles(whole, out);
});

test('CLI killed after a checkpoint, then --resume: bit-identical to the uninterrupted run', async () => {
  const out = join(dir, 'killed');
  const child = cliAsync('finetune', ...FLAGS, '--out', out);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Kill as soon as the first checkpoint is in place (the run then goes on to later ones).
  for (let waited = 0; !existsSync(join(out, 'last', 'esm-kn.json')); waited += 20) {
    if (child.exitCode !== null || waited > 120_000) assert.unreachable(`no checkpoint before exit or timeout: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exited;
  const at = step(out);
  assert.ok(at >= 5 && at < total, `killed mid-run: last checkpoint at step ${at} of ${total}`);
  const r = cli('finetune', '--resume', out, '--quiet');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`finished ${total} steps`));
  assert.is(step(out), total);
  sameFiles(whole, out);
});

test('resuming a finished run does nothing and reports it', () => {
  const r = cli('finetune', '--resume', whole, '--quiet');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`finished ${total} steps`));
});

test.run();
