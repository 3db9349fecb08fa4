/**
 * `esm-kn attribute`: the per-residue attributions written per record equal the page's computation
 * (web/analysis.ts's probabilities, then residueIg of the predicted class) and the float64 reference
 * (kn/ref/residue_ig.ts); summary.tsv's gap is sum - (f(x) - f(b)); --target picks a class by label;
 * the SVG track is written; bad targets are one-line errors.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attributeCommand } from '../cli/attribute.js';
import { loadCheckpoint } from '../model/checkpoint/node.js';
import { disposeClassifier, uploadClassifier } from '../model/classifier.js';
import { encodeSequence } from '../model/tokenizer.js';
import { quadrature } from '../kn/quadrature.js';
import { refResidueIg } from '../kn/ref/residue_ig.js';
import { residueIg } from '../kn/residue_ig.js';
import { topIndices } from '../kn/select.js';
import { classProbabilities } from '../web/analysis.js';
import { assertClose } from './lib/compare.js';
import { cli, errorLines } from './lib/cli.js';
import { LABELS, parseTsv, tinyClassifierFolder } from './lib/classifier_fixtures.js';
import { gpu } from './lib/gpu.js';
import { type TinyClassifier, refHead } from './lib/kn_fixtures.js';
import { scratchDir } from './lib/scratch.js';

const dir = scratchDir('attribute');
const RECORDS = [['first', 'MKTAYIAKQR'], ['second/x', 'GGLAW'], ['third', 'mseqnntemt']] as const;
let tiny: TinyClassifier;

test.before(async () => {
  await gpu();
  tiny = await tinyClassifierFolder(join(dir, 'clf'), 41, 'mean');
  writeFileSync(join(dir, 'in.fasta'), RECORDS.map(([id, s]) => `>${id}\n${s}\n`).join(''));
});

test('attribute equals the page computation and the float64 reference', async () => {
  const out = join(dir, 'out');
  await attributeCommand([join(dir, 'clf'), join(dir, 'in.fasta'), '--out', out, '--steps', '4', '--quiet']);
  const summary = parseTsv(readFileSync(join(out, 'summary.tsv'), 'utf8'));
  assert.equal(summary.header, ['id', 'target', 'probability', 'baseline_probability', 'attribution_sum', 'completeness_gap', 'residues', 'steps', 'rule']);
  const clf = uploadClassifier(await loadCheckpoint(join(dir, 'clf')));
  try {
    const q = quadrature('riemann', 4);
    for (const [r, [id, seq]] of RECORDS.entries()) {
      const file = `${id.replace('/', '_')}.tsv`;
      const { header, rows } = parseTsv(readFileSync(join(out, file), 'utf8'));
      assert.equal(header, ['position', 'residue', 'attribution']);
      assert.equal(rows.map((x) => x[1]).join(''), seq.toUpperCase());
      assert.equal(rows.map((x) => Number(x[0])), Array.from({ length: seq.length }, (_, i) => i + 1));
      const got = rows.map((x) => Number(x[2]));
      // The page: probabilities of the sequence alone, then IG of the predicted class.
      const probs = await classProbabilities(clf, seq.toUpperCase(), 1022);
      const predicted = topIndices(probs, 1)[0]!;
      const page = await residueIg(clf.model, clf.head, encodeSequence(seq, 'input'), predicted, { steps: 4 });
      const row = summary.rows[r]!;
      assert.is(row[0], id);
      assert.is(row[1], LABELS[predicted]);
      got.forEach((v, i) => assert.ok(Math.abs(v - page.attributions[i]!) <= 1e-7 + 1e-6 * Math.abs(page.attributions[i]!), `${id} residue ${i + 1}: ${v} vs page ${page.attributions[i]}`));
      const tokens = encodeSequence(seq);
      const ref = refResidueIg(tiny.config, tiny.params, refHead(tiny), tokens, predicted, q.alphas, q.weights);
      assertClose(got, { shape: [seq.length], data: ref.attributions }, 2e-4, `${id} vs float64`);
      const [fx, fb, sum, gap] = row.slice(2, 6).map(Number) as [number, number, number, number];
      assert.ok(Math.abs(fx - ref.fx) < 1e-5 && Math.abs(fb - ref.fb) < 1e-5, `${id} f(x), f(b)`);
      assert.ok(Math.abs(gap - (sum - (fx - fb))) < 1e-6, `${id} gap`);
      assert.ok(Math.abs(sum - got.reduce((a, b) => a + b, 0)) < 1e-6, `${id} sum`);
      const svg = readFileSync(join(out, `${id.replace('/', '_')}.svg`), 'utf8');
      assert.match(svg, /^<\?xml/);
      assert.is((svg.match(/<g>/g) ?? []).length, seq.length, 'one cell per residue');
    }
  } finally {
    disposeClassifier(clf);
  }
});

test('attribute --target picks a class by label; bad targets are one-line errors', async () => {
  const out = join(dir, 'beta');
  await attributeCommand([join(dir, 'clf'), join(dir, 'in.fasta'), '--out', out, '--steps', '2', '--target', 'beta', '--quiet']);
  assert.equal(parseTsv(readFileSync(join(out, 'summary.tsv'), 'utf8')).rows.map((r) => r[1]), ['beta', 'beta', 'beta']);
  const r = cli('attribute', join(dir, 'clf'), join(dir, 'in.fasta'), '--out', join(dir, 'bad'), '--target', 'delta');
  assert.ok(r.status !== 0);
  const lines = errorLines(r.stderr);
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /--target delta is neither 'predicted' nor a class of the model \(0 'alpha one', 1 'beta', 2 'gamma'\)/);
  assert.not.ok(existsSync(join(dir, 'bad', 'summary.tsv')));
});

test('attribute refuses records whose files would collide (with each other or summary.tsv) before any work', () => {
  for (const [name, fasta] of [['same', '>a/b\nMKT\n>a_b\nGGL\n'], ['summary', '>summary\nMKT\n']] as const) {
    writeFileSync(join(dir, `${name}.fasta`), fasta);
    const r = cli('attribute', join(dir, 'clf'), join(dir, `${name}.fasta`), '--out', join(dir, `out-${name}`), '--steps', '2');
    assert.is(r.status, 1, r.stderr);
    const lines = errorLines(r.stderr);
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /would write (a_b|summary)\.tsv/);
    assert.not.ok(existsSync(join(dir, `out-${name}`, 'summary.tsv')));
  }
});

test.run();
