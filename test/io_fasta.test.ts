/** FASTA parsing: headers, multi-line sequences, blank lines, line endings, and errors with line numbers. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFasta } from '../io/fasta.js';
import { readFastaFile } from '../io/node_file.js';
import { throwsFormat } from './lib/io_fixtures.js';

test('labels, descriptions, multi-line sequences and blank lines', () => {
  const recs = parseFasta('>sp|P1|A  first protein  \nMKT\nAY \n\n>b\n  ac de \n\n');
  assert.equal(recs, [
    { label: 'sp|P1|A', description: 'first protein', sequence: 'MKTAY', line: 1 },
    { label: 'b', description: '', sequence: 'acde', line: 5 },
  ]);
});

for (const [name, eol] of [['CRLF', '\r\n'], ['CR', '\r'], ['LF', '\n']]) {
  test(`${name} line endings and a byte-order mark`, () => {
    const text = '\uFEFF' + ['>x desc', 'MK', 'TA', '', '>y', 'W'].join(eol) + eol;
    assert.equal(parseFasta(text).map((r) => [r.label, r.description, r.sequence, r.line]), [['x', 'desc', 'MKTA', 1], ['y', '', 'W', 5]]);
  });
}

const bad: [string, string, RegExp][] = [
  ['missing header', '\nMKTAY\n>x\nA\n', /seqs\.fasta: line 2: sequence data before the first '>' header \(missing header\?\)/],
  ['empty sequence', '>x\n\n>y\nMK\n', /seqs\.fasta: line 1: record 'x' has an empty sequence/],
  ['empty last sequence', '>x\nMK\n>y\r\n\r\n', /line 3: record 'y' has an empty sequence/],
  ['duplicate label', '>x a\nMK\n>y\nA\n>x b\nW\n', /seqs\.fasta: line 5: duplicate label 'x' \(first at line 1\)/],
  ['header without a label', '>\nMK\n', /line 1: header has no label/],
  ['no records', '\n\n', /seqs\.fasta: no FASTA records/],
];

for (const [name, text, pattern] of bad) {
  test(`bad FASTA: ${name}`, async () => {
    await throwsFormat(() => parseFasta(text, 'seqs.fasta'), pattern);
  });
}

test('reading from disk names the file in errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'esm-kn-fasta-'));
  try {
    const path = join(dir, 'in.fasta');
    writeFileSync(path, '>a\r\nMKV\r\n');
    assert.equal((await readFastaFile(path))[0]!.sequence, 'MKV');
    writeFileSync(path, 'MKV\n');
    await throwsFormat(() => readFastaFile(path), /in\.fasta: line 1: sequence data before/);
    await throwsFormat(() => readFastaFile(join(dir, 'none.fasta')), /none\.fasta: cannot open \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test.run();
