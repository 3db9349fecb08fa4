/** Sequence logos against hand-computed columns; consensus, shift-tolerant similarity and single-linkage clusters. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AMINO_ACIDS,
  clusterLogos,
  consensus,
  logoFromCounts,
  logoSimilarity,
  positionCounts,
  sequenceLogo,
  singleLinkage,
  smallSampleCorrection,
} from '../kn/logo.js';
import { rng as mulberry32 } from '../engine/random.js';

const close = (a: number, b: number, what: string, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const LOG2_20 = Math.log2(20);

/** `count` windows of `width` random amino acids (seeded) with the motif's letters (not 'x') from position `at`. */
function motifWindows(motif: string, at: number, width: number, count: number, seed: number): string[] {
  const rand = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const w = Array.from({ length: width }, () => AMINO_ACIDS[Math.floor(rand() * 20)]!);
    [...motif].forEach((ch, i) => {
      if (ch !== 'x') w[at + i] = ch;
    });
    return w.join('');
  });
}

test('positionCounts: upper-cased letters counted; gaps, X and padding are not', () => {
  const counts = positionCounts(['ACD', 'AC-', 'aXD']);
  assert.is(counts.length, 3);
  assert.equal(counts.map((c) => c.reduce((s, x) => s + x, 0)), [3, 2, 2], 'n per column');
  assert.is(counts[0]![AMINO_ACIDS.indexOf('A')], 3, 'lower-case a counts as A');
  assert.is(counts[1]![AMINO_ACIDS.indexOf('C')], 2);
  assert.is(counts[2]![AMINO_ACIDS.indexOf('D')], 2);
  assert.equal(positionCounts(['HE', 'EH'], 'EH'), [[1, 1], [1, 1]], 'own alphabet');
  assert.equal(positionCounts([]), []);
  assert.throws(() => positionCounts(['ACD', 'AC']), /window 1 has length 2, expected 3/);
  assert.throws(() => positionCounts(['A'], 'AAB'), /repeats a letter/);
});

test('information content: 10 identical letters give log2(20) - 19 / (2 ln2 10)', () => {
  close(smallSampleCorrection(10), 19 / (2 * Math.LN2 * 10), 'e_10');
  close(smallSampleCorrection(10), 1.3705602888445152, 'e_10 by hand');
  const logo = sequenceLogo(new Array<string>(10).fill('H'));
  const col = logo.columns[0]!;
  assert.is(col.n, 10);
  close(col.ic, LOG2_20 - 19 / (2 * Math.LN2 * 10), 'IC');
  close(col.ic, 2.9513678060428474, 'IC by hand: 4.3219281 - 1.3705603');
  assert.equal(col.letters.map((l) => [l.letter, l.freq]), [['H', 1]]);
  close(col.letters[0]!.height, col.ic, 'the only letter is as tall as the column');
});

test('information content: a uniform column and a single residue clamp to 0', () => {
  // Each of the 20 letters once: H = log2(20), so R = -e_20 < 0 -> 0.
  const uniform = sequenceLogo([...AMINO_ACIDS]).columns[0]!;
  assert.is(uniform.n, 20);
  assert.is(uniform.ic, 0);
  assert.is(uniform.letters.length, 20);
  assert.ok(uniform.letters.every((l) => l.height === 0 && Math.abs(l.freq - 0.05) < 1e-15));
  assert.equal(uniform.letters.slice(0, 3).map((l) => l.letter), ['A', 'C', 'D'], 'equal heights in alphabet order');
  // n = 1: e_1 = 13.7 bits exceeds log2(20).
  assert.is(sequenceLogo(['W']).columns[0]!.ic, 0);
  // A column of gaps only: n = 0, no letters, R = 0.
  assert.equal(sequenceLogo(['-', 'X', '.']).columns[0], { n: 0, ic: 0, letters: [] });
});

test('information content: hand-computed two-letter columns', () => {
  // 6 A, 2 C (n = 8): H = -(0.75 log2 0.75 + 0.25 log2 0.25) = 0.8112781, e_8 = 19 / (16 ln2) = 1.7132004,
  // R = 4.3219281 - 0.8112781 - 1.7132004 = 1.7974496; heights 0.75 R = 1.3480872 and 0.25 R = 0.4493624.
  const col = sequenceLogo(['A', 'A', 'C', 'A', 'A', 'C', 'A', 'A', '-', 'X']).columns[0]!;
  assert.is(col.n, 8, 'gaps and X are not residues');
  close(col.ic, 1.7974496093725856, 'R');
  assert.equal(col.letters.map((l) => [l.letter, l.freq]), [['A', 0.75], ['C', 0.25]], 'tallest first');
  close(col.letters[0]!.height, 1.3480872070294392, 'A height');
  close(col.letters[1]!.height, 0.4493624023431464, 'C height');
  // Same column from counts; 5 E, 5 K (n = 10): H = 1, R = 4.3219281 - 1 - 1.3705603 = 1.9513678, heights 0.9756839.
  const counts = [new Array<number>(20).fill(0), new Array<number>(20).fill(0)];
  counts[0]![AMINO_ACIDS.indexOf('A')] = 6;
  counts[0]![AMINO_ACIDS.indexOf('C')] = 2;
  counts[1]![AMINO_ACIDS.indexOf('K')] = 5;
  counts[1]![AMINO_ACIDS.indexOf('E')] = 5;
  const logo = logoFromCounts(counts);
  close(logo.columns[0]!.ic, 1.7974496093725856, 'R from counts');
  close(logo.columns[1]!.ic, 1.9513678060428474, 'R of 5 E, 5 K');
  assert.equal(logo.columns[1]!.letters.map((l) => l.letter), ['E', 'K'], 'equal heights: alphabet order');
  close(logo.columns[1]!.letters[1]!.height, 0.9756839030214237, 'K height');
  assert.throws(() => logoFromCounts([[1, 2]]), /column 0 has 2 counts, expected 20/);
  assert.throws(() => logoFromCounts([[1.5, 0]], 'AB'), /not a non-negative integer/);
});

test('consensus: upper case at >= 1 bit, lower case below, x without information', () => {
  // Column 0: 10 H (2.95 bits). Column 1: 10 different letters (H = log2 10, R < 0 -> 0). Column 2: 5 E, 5 K (0.98 bits each).
  const windows = Array.from({ length: 10 }, (_, i) => `H${AMINO_ACIDS[i]}${i < 5 ? 'E' : 'K'}`);
  const logo = sequenceLogo(windows);
  assert.is(logo.columns[1]!.ic, 0);
  assert.is(consensus(logo), 'Hxe');
  assert.is(consensus(logo, 0.5), 'HxE');
  assert.is(consensus(sequenceLogo(['A-', 'A-'])), 'xx', 'n = 2 is too few for any information; gaps give x');
});

test('logoSimilarity: a shifted copy matches exactly at its offset; a different motif does not', () => {
  const a = sequenceLogo(motifWindows('HExxH', 5, 15, 30, 1));
  // Drop the first residue of each window and append a random one: b's column j is a's column j + 1.
  const rand = mulberry32(99);
  const shifted = motifWindows('HExxH', 5, 15, 30, 1).map((w) => w.slice(1) + AMINO_ACIDS[Math.floor(rand() * 20)]!);
  const b = sequenceLogo(shifted);
  const ab = logoSimilarity(a, b);
  close(ab.similarity, 1, 'identical over the overlap');
  assert.is(ab.offset, -1, "a's column p faces b's column p - 1");
  const ba = logoSimilarity(b, a);
  close(ba.similarity, 1, 'symmetric');
  assert.is(ba.offset, 1, 'swapping negates the offset');
  close(logoSimilarity(a, a).similarity, 1, 'self');
  assert.is(logoSimilarity(a, a).offset, 0);
  assert.ok(logoSimilarity(a, b, 0).similarity < 0.5, 'without the shift the motif columns miss each other');
  const other = sequenceLogo(motifWindows('CxxC', 2, 15, 30, 2));
  const ao = logoSimilarity(a, other);
  assert.ok(ao.similarity < 0.3, `another motif: ${ao.similarity}`);
  // A logo with no height anywhere has no defined correlation: similarity 0.
  const flat = sequenceLogo(new Array<string>(15).fill('-'.repeat(15)));
  assert.equal(logoSimilarity(a, flat), { similarity: 0, offset: 0 });
  assert.throws(() => logoSimilarity(a, sequenceLogo(['HE'], 'EH')), /alphabets differ/);
});

test('clusterLogos: same motif on other backgrounds and shifts groups together; single linkage chains', () => {
  const logos = [
    sequenceLogo(motifWindows('HExxH', 5, 15, 30, 1)),
    sequenceLogo(motifWindows('CxxC', 3, 15, 30, 2)),
    sequenceLogo(motifWindows('HExxH', 6, 15, 30, 3)), // the same motif one column later, another background
    sequenceLogo(motifWindows('CxxC', 1, 15, 30, 4)), // two columns earlier
    sequenceLogo(motifWindows('GxGxxG', 4, 15, 30, 5)),
  ];
  const sim = logoSimilarity(logos[0]!, logos[2]!);
  assert.is(sim.offset, 1);
  assert.ok(sim.similarity > 0.9, `same motif, other background: ${sim.similarity}`);
  assert.equal(clusterLogos(logos), [[0, 2], [1, 3], [4]]);
  assert.equal(clusterLogos(logos, 0.8, 0), [[0], [1], [2], [3], [4]], 'no shift allowed: every motif sits elsewhere');
  // 0 ~ 1 and 1 ~ 2 but not 0 ~ 2: single linkage joins all three.
  const m = [
    [1, 0.9, 0.1, 0],
    [0.9, 1, 0.85, 0],
    [0.1, 0.85, 1, 0],
    [0, 0, 0, 1],
  ];
  assert.equal(singleLinkage(4, (i, j) => m[i]![j]!, 0.8), [[0, 1, 2], [3]]);
  assert.equal(singleLinkage(4, (i, j) => m[i]![j]!, 0.95), [[0], [1], [2], [3]]);
  assert.equal(singleLinkage(0, () => 1, 0.5), []);
});

test.run();
