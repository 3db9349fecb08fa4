/**
 * `esm-kn predict`: probabilities equal the classifier path's (softmax of classifierLogits) and the
 * float64 reference model's; TSV and JSON Lines carry the same values; batching does not change them;
 * long records and bad characters are handled as extract handles them.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { predictCommand } from '../cli/predict.js';
import { classifierLogits, softmaxRows } from '../model/classifier.js';
import { encodeSequence } from '../model/tokenizer.js';
import { refClassifierProbs } from '../kn/ref/ig.js';
import { cli, errorLines } from './lib/cli.js';
import { LABELS, parseTsv, tinyClassifierFolder, writeFasta } from './lib/classifier_fixtures.js';
import { gpu } from './lib/gpu.js';
import { type TinyClassifier, disposeTiny, refHead, uploadTiny } from './lib/kn_fixtures.js';
import { scratchDir } from './lib/scratch.js';

const dir = scratchDir('predict');
let tiny: TinyClassifier;
let records: { id: string; sequence: string }[];

test.before(async () => {
  await gpu();
  tiny = await tinyClassifierFolder(join(dir, 'clf'), 21, 'mean');
  records = writeFasta(join(dir, 'in.fasta'), 7, 3);
});

test('predict: probabilities equal the classifier path and the float64 reference', async () => {
  await predictCommand([join(dir, 'clf'), join(dir, 'in.fasta'), '--out', join(dir, 'p.tsv'), '--quiet']);
  const { header, rows } = parseTsv(readFileSync(join(dir, 'p.tsv'), 'utf8'));
  assert.equal(header, ['id', 'predicted', ...LABELS]);
  assert.equal(rows.map((r) => r[0]), records.map((r) => r.id), 'FASTA order');
  const u = uploadTiny(tiny);
  try {
    const logits = await classifierLogits(u.model, u.head, records, { batchSize: 1, maxLength: 1022 });
    const want = softmaxRows(logits, 3);
    rows.forEach((row, r) => {
      const got = row.slice(2).map(Number);
      const tokens = encodeSequence(records[r]!.sequence);
      const ref = refClassifierProbs(tiny.config, tiny.params, refHead(tiny), tokens, 1, tokens.length);
      got.forEach((v, c) => {
        assert.ok(Math.abs(v - want[r * 3 + c]!) < 1e-6, `${row[0]} class ${c}: ${v} vs classifier path ${want[r * 3 + c]}`);
        assert.ok(Math.abs(v - ref[c]!) < 2e-5, `${row[0]} class ${c}: ${v} vs float64 ${ref[c]}`);
      });
      const best = got.indexOf(Math.max(...got));
      assert.is(row[1], LABELS[best]);
    });
  } finally {
    disposeTiny(u);
  }
});

test('predict: JSON Lines and a one-record token budget give the same values', async () => {
  await predictCommand([join(dir, 'clf'), join(dir, 'in.fasta'), '--out', join(dir, 'p.jsonl'), '--toks-per-batch', '1', '--quiet']);
  const tsv = parseTsv(readFileSync(join(dir, 'p.tsv'), 'utf8')).rows;
  const lines = readFileSync(join(dir, 'p.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; predicted: string; probabilities: Record<string, number> });
  assert.is(lines.length, tsv.length);
  lines.forEach((o, r) => {
    assert.is(o.id, tsv[r]![0]);
    assert.is(o.predicted, tsv[r]![1]);
    LABELS.forEach((l, c) => assert.ok(Math.abs(o.probabilities[l]! - Number(tsv[r]![2 + c])) < 2e-6, `${o.id} ${l}`));
  });
});

test('predict: stdout TSV; long records and bad characters as extract handles them', () => {
  const long = 'A'.repeat(1030);
  writeFileSync(join(dir, 'long.fasta'), `>ok\nMKV\n>long\n${long}\n`);
  writeFileSync(join(dir, 'bad.fasta'), '>ok\nMKV\n>bad\nMKZJQ\n');
  const r = cli('predict', join(dir, 'clf'), join(dir, 'long.fasta'), '--truncate', '--quiet');
  assert.is(r.status, 0, r.stderr);
  const { rows } = parseTsv(r.stdout);
  assert.equal(rows.map((x) => x[0]), ['ok', 'long']);
  const unk = cli('predict', join(dir, 'clf'), join(dir, 'bad.fasta'), '--unknown-as-unk', '--quiet');
  assert.is(unk.status, 0, unk.stderr);
  const cases: [string[], RegExp][] = [
    [['predict', join(dir, 'clf'), join(dir, 'long.fasta'), '--out', join(dir, 'o1.tsv')], /long\.fasta: record 'long': 1030 residues, more than the 1022/],
    [['predict', join(dir, 'clf'), join(dir, 'bad.fasta'), '--out', join(dir, 'o2.tsv')], /bad\.fasta: record 'bad': unknown character 'J' at residue 4/],
    [['predict', join(dir, 'clf'), join(dir, 'in.fasta'), '--out', join(dir, 'o3.csv')], /--out .*o3\.csv must end in \.tsv or \.jsonl/],
    [['predict', join(dir, 'nothere'), join(dir, 'in.fasta')], /nothere: no such file or folder/],
  ];
  for (const [args, message] of cases) {
    const res = cli(...args);
    assert.ok(res.status !== 0, `${args.join(' ')} exits non-zero`);
    const lines = errorLines(res.stderr);
    assert.is(lines.length, 1, `one line: ${res.stderr}`);
    assert.match(lines[0]!, message);
  }
  assert.not.ok(existsSync(join(dir, 'o1.tsv')));
});

test.run();
