/**
 * Bad data and bad options for finetune, pretrain and evaluate: one line on stderr naming the file and
 * line (or the option), a non-zero exit, no stack trace, and no output folder written.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { saveProjectCheckpoint } from '../model/checkpoint/node.js';
import { makeConfig } from '../model/config.js';
import { initParams } from '../model/params.js';
import { cli, errorLines } from './lib/cli.js';
import { compositionFasta, tempDir, writeText } from './lib/train_fixtures.js';

const dir = tempDir('errors');
const good = writeText(dir, 'good.fasta', compositionFasta(60, 3));
const bad = {
  label: writeText(dir, 'label.fasta', '>A ec_class=1\nMKLV\n>B ec_class=9\nMKLV\n'),
  empty: writeText(dir, 'empty.fasta', '>A ec_class=1\nMKLV\n>B ec_class=2\n\n>C ec_class=3\nMKV\n'),
  char: writeText(dir, 'char.fasta', '>A ec_class=1\nMKLV\n\n>B ec_class=2\nMK1LV\n'),
  column: writeText(dir, 'column.tsv', 'accession\tsequence\nA\tMKLV\n'),
  nolabel: writeText(dir, 'nolabel.fasta', '>A ec_class=1\nMKLV\n>B some protein\nMKLV\n'),
};
const CUSTOM = ['--layers', '1', '--dim', '16', '--heads', '2'];

// [name, arguments (a short run and OUT are appended), expected message, expected exit code]
const CASES: [string, string[], RegExp, number][] = [
  ['unknown label', ['finetune', ...CUSTOM, '--data', bad.label], /label\.fasta: line 3: record 'B': unknown label '9'/, 1],
  ['empty sequence', ['finetune', ...CUSTOM, '--data', bad.empty], /empty\.fasta: line 3: record 'B' has an empty sequence/, 1],
  ['invalid character', ['finetune', ...CUSTOM, '--data', bad.char], /char\.fasta: line 4: record 'B': invalid character '1' at residue 3/, 1],
  ['missing column', ['finetune', ...CUSTOM, '--data', bad.column], /column\.tsv: line 1: missing column 'ec_class'/, 1],
  ['header without label', ['pretrain', ...CUSTOM, '--data', bad.nolabel], /nolabel\.fasta: line 3: record 'B': header has no label/, 1],
  ['missing data file', ['finetune', ...CUSTOM, '--data', join(dir, 'nothere.fasta')], /nothere\.fasta: cannot open \(ENOENT\)/, 1],
  ['missing backbone checkpoint', ['finetune', '--backbone', join(dir, 'none.pt'), '--data', good], /none\.pt: no such file or folder/, 1],
  ['bad option value', ['finetune', ...CUSTOM, '--data', good, '--freeze', 'some'], /--freeze some is not one of none, head-only, all-but-last/, 2],
  ['two backbones', ['finetune', ...CUSTOM, '--data', good, '--size', '8M'], /give exactly one of --backbone MODEL, --size NAME/, 2],
  ['unknown size', ['pretrain', '--size', '9M', '--data', bad.char], /unknown ESM-2 size '9M'/, 2],
  ['bad custom size', ['finetune', '--layers', '1', '--dim', '16', '--heads', '3', '--data', good], /embedDim 16 is not divisible by attentionHeads 3/, 2],
  ['too many layers to train', ['finetune', ...CUSTOM, '--data', good, '--train-last', '4'], /train-last 4 is more than the backbone's 1 layers/, 2],
  ['token budget below one sequence', ['finetune', ...CUSTOM, '--data', good, '--tokens-per-batch', '30', '--max-len', '40'], /tokens-per-batch 30 cannot hold one sequence of max-len 40/, 2],
  ['bad class weights', ['finetune', ...CUSTOM, '--data', good, '--class-weights', 'cube'], /--class-weights cube is not one of none, balanced, sqrt/, 2],
  ['bad sampler', ['finetune', ...CUSTOM, '--data', good, '--sampler', 'stratified'], /--sampler stratified is not one of shuffle, balanced/, 2],
  ['head lr multiplier not positive', ['finetune', ...CUSTOM, '--data', good, '--head-lr-mult', '0'], /head-lr-mult must be a positive number, got 0/, 2],
  ['eval stride without a window', ['finetune', ...CUSTOM, '--data', good, '--eval-stride', '4'], /eval-stride needs eval-window/, 2],
  ['eval window over the budget', ['finetune', ...CUSTOM, '--data', good, '--tokens-per-batch', '100', '--max-len', '40', '--eval-window', '200'], /tokens-per-batch 100 cannot hold one window of eval-window 200/, 2],
  ['warm-up longer than the run', ['finetune', ...CUSTOM, '--data', good, '--warmup', '5'], /warm-up of 5 steps must be an integer in \[0, 2\]/, 2],
];

for (const [name, args, message, code] of CASES) {
  test(`${args[0]}: ${name}`, () => {
    const out = join(dir, `out-${name.replace(/\W+/g, '-')}`);
    const r = cli(...args, '--max-steps', '2', '--quiet', '--out', out);
    assert.is(r.status, code, `exit code for ${name}: ${r.stderr}`);
    const lines = errorLines(r.stderr);
    assert.is(lines.length, 1, `one line: ${r.stderr}`);
    assert.match(lines[0]!, message);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    assert.not.ok(existsSync(out), 'no output folder');
  });
}

test('evaluate: bad data names the file and line; a model without a head is refused', async () => {
  const r = cli('evaluate', join(dir, 'whatever'), bad.char);
  assert.is(r.status, 1);
  assert.match(errorLines(r.stderr)[0]!, /char\.fasta: line 4: record 'B': invalid character '1'/);
  const config = makeConfig({ numLayers: 1, embedDim: 16, attentionHeads: 2 });
  await saveProjectCheckpoint(join(dir, 'nohead'), { config, params: initParams(config, 0) });
  const nohead = cli('evaluate', join(dir, 'nohead'), good);
  assert.is(nohead.status, 1);
  assert.match(errorLines(nohead.stderr)[0]!, /nohead: has no classification head/);
});

test('--resume takes no other options, and needs a run folder', () => {
  const r = cli('finetune', '--resume', dir, '--lr', '1');
  assert.is(r.status, 2);
  assert.match(errorLines(r.stderr)[0]!, /--resume continues with the run's own options; only --stop-after and --quiet/);
  const none = cli('pretrain', '--resume', dir);
  assert.is(none.status, 1);
  assert.match(errorLines(none.stderr)[0]!, /no last\/esm-kn\.json: not a run folder/);
});

test.run();
