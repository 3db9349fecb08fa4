/** Data loading: the real enzyme file's counts, the three tasks, labelled FASTA, and bad files naming file and line. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  describeLeftOut, parseDataFile, parseEnzymeTsv, parseLabelledFasta, selectTask, taskSpec, TASKS, type DataFile,
} from '../data/dataset.js';
import { loadTask, readDataFile } from '../data/files.node.js';
import { throwsFormat } from './lib/io_fixtures.js';

let real: DataFile | null = null;
async function realData(): Promise<DataFile> {
  real ??= await readDataFile();
  return real;
}

// From experiments/data/README.md.
const README_COUNTS = [9611, 2356, 5192, 3987, 815, 515, 303, 184];
// Enzymes of 201-400 residues per EC class 1-7 (counted with awk on the TSV).
const MATCHED_COUNTS = [1682, 3154, 2449, 541, 343, 113, 56];

test('the real file: 22,963 records, counts per ec_class as in the README', async () => {
  const data = await realData();
  assert.is(data.records.length, 22963);
  const counts = new Array(8).fill(0);
  for (const r of data.records) counts[r.ecClass]++;
  assert.equal(counts, README_COUNTS);
  assert.equal([...new Set(data.records.map((r) => r.source))].sort(), ['CLEAN-split10', 'UniProt-enzyme+ECPred', 'UniProt-non-enzyme']);
  assert.is(data.records[0]!.id, 'A0A024RBG1');
  assert.is(data.records[0]!.line, 2);
  // Computed independently: zcat | awk '{print $1"\t"$3"\t"$5}' | LC_ALL=C sort | sha256sum
  assert.is(data.sha256, '24ffdcd0792dc37462cec2766858ee77c09e215c7a56e92417f08ed01ccb7cb1');
});

test('task ec: the 7 enzyme classes at all lengths, non-enzymes left out', async () => {
  const ds = selectTask(await realData(), 'ec');
  assert.is(ds.records.length, 13352);
  assert.equal(ds.classCounts, README_COUNTS.slice(1));
  assert.is(ds.classNames[0], 'EC1 oxidoreductases');
  assert.is(ds.classNames[6], 'EC7 translocases');
  assert.equal(describeLeftOut(ds), ['9611 non-enzymes left out for task ec']);
  const lengths = ds.records.map((r) => r.sequence.length);
  assert.is(Math.min(...lengths), 4);
  assert.is(Math.max(...lengths), 1022);
  assert.equal(ds.records[0], { id: 'A0A024RBG1', sequence: ds.records[0]!.sequence, label: 2, source: 'CLEAN-split10', ec: '3.6.1.52' }, 'EC 3.6.1.52 is class index 2');
});

test('tasks enzyme and ec+non: every class restricted to 201-400 residues', async () => {
  const data = await realData();
  for (const task of ['enzyme', 'ec+non'] as const) {
    const ds = selectTask(data, task);
    assert.is(ds.records.length, 9611 + 8338, task);
    assert.ok(ds.records.every((r) => r.sequence.length >= 201 && r.sequence.length <= 400), `${task}: lengths`);
    assert.equal(describeLeftOut(ds), [`5014 enzymes outside 201-400 residues left out for task ${task} (lengths matched against length leakage)`]);
  }
  assert.equal(selectTask(data, 'enzyme').classCounts, [9611, 8338]);
  assert.equal(selectTask(data, 'ec+non').classCounts, [9611, ...MATCHED_COUNTS]);
  assert.equal(selectTask(data, 'ec+non').classNames.slice(0, 2), ['non-enzyme', 'EC1 oxidoreductases']);
  assert.equal(TASKS.enzyme.classNames, ['non-enzyme', 'enzyme']);
});

test('loadTask defaults to task ec on the committed file', async () => {
  const ds = await loadTask();
  assert.is(ds.task, 'ec');
  assert.is(ds.records.length, 13352);
  assert.throws(() => taskSpec('ec7'), /unknown task 'ec7' \(expected one of ec, enzyme, ec\+non\)/);
});

const HEADER = 'accession\tec\tec_class\tsource\tsequence';
const tsv = (...rows: string[]): string => [HEADER, ...rows].join('\n') + '\n';

test('TSV: columns found by name, CRLF, blank lines, lower case upper-cased, optional ec and source', async () => {
  const recs = parseEnzymeTsv(tsv('P1\t1.1.1.1\t1\tA\tmkv', '', 'P2\t\t0\tB\tWWW').replace(/\n/g, '\r\n'), 'x.tsv');
  assert.equal(recs, [
    { id: 'P1', ecClass: 1, source: 'A', sequence: 'MKV', line: 2, ec: '1.1.1.1' },
    { id: 'P2', ecClass: 0, source: 'B', sequence: 'WWW', line: 4 },
  ]);
  const minimal = parseEnzymeTsv('sequence\taccession\tec_class\nACD\tQ9\t7\n', 'min.tsv');
  assert.equal(minimal, [{ id: 'Q9', ecClass: 7, source: 'min.tsv', sequence: 'ACD', line: 2 }]);
});

test('labelled FASTA: >id ec_class=N [source=S], same records as the TSV', async () => {
  const fasta = '>P1 ec_class=1 source=A some protein\nMK\nv\n>P2 ec_class=0\nWWW\n';
  assert.equal(parseLabelledFasta(fasta, 'x.fasta'), [
    { id: 'P1', ecClass: 1, source: 'A', sequence: 'MKV', line: 1 },
    { id: 'P2', ecClass: 0, source: 'x.fasta', sequence: 'WWW', line: 4 },
  ]);
  const a = await parseDataFile(fasta, 'x.fasta');
  const b = await parseDataFile(tsv('P2\t\t0\tother\tWWW', 'P1\t1.2.3.4\t1\tA\tMKV'), 'x.tsv');
  assert.is(a.sha256, b.sha256, 'content hash ignores format, order and source');
  const c = await parseDataFile(tsv('P2\t\t0\tother\tWWW', 'P1\t2.2.3.4\t2\tA\tMKV'), 'x.tsv');
  assert.is.not(c.sha256, b.sha256, 'a label change changes the hash');
  const withEc = parseLabelledFasta('>P3 ec_class=2 ec=2.7.1.1;2.4.2.2 kinase\nMK\n', 'x.fasta');
  assert.is(withEc[0]!.ec, '2.7.1.1;2.4.2.2', 'optional ec= carries the full EC numbers');
  assert.throws(() => parseLabelledFasta('>P3 ec_class=2 ec=3.1.1.1\nMK\n', 'x.fasta'), /EC number '3\.1\.1\.1' is not in class 2/);
});

const badTsv: [string, string, RegExp][] = [
  ['unknown label', tsv('P1\t1.1.1.1\t1\tA\tMKV', 'P2\t9.1.1.1\t9\tA\tMKV'), /^bad\.tsv: line 3: record 'P2': unknown label '9' \(ec_class must be 0 for non-enzyme or 1-7\)$/],
  ['non-numeric label', tsv('P1\t\tenzyme\tA\tMKV'), /bad\.tsv: line 2: record 'P1': unknown label 'enzyme'/],
  ['empty sequence', tsv('P1\t1.1.1.1\t1\tA\tMKV', 'P2\t\t0\tA\t'), /^bad\.tsv: line 3: record 'P2' has an empty sequence$/],
  ['invalid character', tsv('P1\t1.1.1.1\t1\tA\tMKVJL'), /^bad\.tsv: line 2: record 'P1': invalid character 'J' at residue 4 \(expected one of LAGVSERTIDPKQNFYMHWCXBUZO\)$/],
  ['gap symbol', tsv('P1\t1.1.1.1\t1\tA\tMK-V'), /line 2: record 'P1': invalid character '-' at residue 3/],
  ['non-ASCII letter', tsv('P1\t1.1.1.1\t1\tA\tMK\u0131V'), /line 2: record 'P1': invalid character U\+0131 at residue 3/],
  ['special token', tsv('P1\t1.1.1.1\t1\tA\tMK<mask>V'), /line 2: record 'P1': invalid character '<' at residue 3/],
  ['missing column', 'accession\tec\tsource\tsequence\nP1\t1.1.1.1\tA\tMKV\n', /^bad\.tsv: line 1: missing column 'ec_class' \(header has 'accession', 'ec', 'source', 'sequence'\)$/],
  ['wrong column count', tsv('P1\t1.1.1.1\t1\tA\tMKV', 'P2\t1\tA\tMKV'), /^bad\.tsv: line 3: 4 columns, expected 5 as in the header$/],
  ['duplicate accession', tsv('P1\t1.1.1.1\t1\tA\tMKV', 'P1\t1.1.1.1\t1\tA\tMKW'), /line 3: record 'P1': duplicate accession \(first at line 2\)/],
  ['EC number of another class', tsv('P1\t1.1.1.1;2.1.1.1\t1\tA\tMKV'), /line 2: record 'P1': EC number '2\.1\.1\.1' is not in class 1/],
  ['non-enzyme with an EC number', tsv('P1\t1.1.1.1\t0\tA\tMKV'), /line 2: record 'P1': ec_class 0 \(non-enzyme\) but ec is '1\.1\.1\.1'/],
  ['empty accession', tsv('\t1.1.1.1\t1\tA\tMKV'), /line 2: empty accession/],
  ['header only', tsv(), /bad\.tsv: no records after the header/],
  ['empty file', '\n\n', /bad\.tsv: empty file/],
];

for (const [name, text, pattern] of badTsv) {
  test(`bad TSV: ${name}`, async () => {
    await throwsFormat(() => parseEnzymeTsv(text, 'bad.tsv'), pattern);
  });
}

const badFasta: [string, string, RegExp][] = [
  ['unknown label', '>P1 ec_class=1\nMK\n>P2 ec_class=8\nMK\n', /^bad\.fasta: line 3: record 'P2': unknown label '8'/],
  ['no label', '>P1 some protein\nMK\n', /^bad\.fasta: line 1: record 'P1': header has no label \(expected '>P1 ec_class=N'/],
  ['empty sequence', '>P1 ec_class=1\n\n>P2 ec_class=1\nMK\n', /^bad\.fasta: line 1: record 'P1' has an empty sequence$/],
  ['invalid character', '>P1 ec_class=1\nMK\nV*\n', /^bad\.fasta: line 1: record 'P1': invalid character '\*' at residue 4/],
];

for (const [name, text, pattern] of badFasta) {
  test(`bad FASTA: ${name}`, async () => {
    await throwsFormat(() => parseLabelledFasta(text, 'bad.fasta'), pattern);
  });
}

test('files on disk: gzip or plain, TSV or FASTA by content; errors name the path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'esm-kn-data-'));
  try {
    const text = tsv('P1\t1.1.1.1\t1\tA\tMKV', 'P2\t\t0\tB\tWWW');
    writeFileSync(join(dir, 'a.tsv.gz'), gzipSync(text));
    writeFileSync(join(dir, 'a.tsv'), text);
    writeFileSync(join(dir, 'a.fa'), '>P1 ec_class=1\nMKV\n>P2 ec_class=0\nWWW\n');
    const hashes = await Promise.all(['a.tsv.gz', 'a.tsv', 'a.fa'].map(async (f) => (await readDataFile(join(dir, f))).sha256));
    assert.is(new Set(hashes).size, 1);
    const ec = await loadTask('ec', join(dir, 'a.tsv.gz'));
    assert.equal(ec.records, [{ id: 'P1', sequence: 'MKV', label: 0, source: 'A', ec: '1.1.1.1' }]);
    await throwsFormat(() => loadTask('enzyme', join(dir, 'a.tsv')), /a\.tsv: no records for task enzyme/);
    writeFileSync(join(dir, 'bad.tsv.gz'), gzipSync(tsv('P1\t1.1.1.1\t1\tA\tMKV', 'P2\t\t0\tB\tW W')));
    await throwsFormat(() => readDataFile(join(dir, 'bad.tsv.gz')), /bad\.tsv\.gz: line 3: record 'P2': invalid character ' ' at residue 2/);
    writeFileSync(join(dir, 'broken.gz'), gzipSync(text).subarray(0, 30));
    await throwsFormat(() => readDataFile(join(dir, 'broken.gz')), /broken\.gz: damaged gzip data/);
    await throwsFormat(() => readDataFile(join(dir, 'none.tsv')), /none\.tsv: cannot open \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test.run();
