/**
 * Sequence logos (Schneider and Stephens 1990; information content after Schneider et al. 1986) of a
 * neuron's top-activating windows, and the tools to compare them: a consensus string, a similarity
 * between logos that tolerates a small shift, and single-linkage clustering of near-identical logos.
 *
 * Alphabet: the 20 standard amino acids by default (s = 20). Letters are matched after upper-casing;
 * every other character (X, B, Z, U, O, '-', '.', padding of a window that runs past a sequence end) is a
 * gap and is not counted, so each column has its own count n of residues.
 *
 * Per column, with f_a = count_a / n:
 *   H = -sum_a f_a log2 f_a                   (bits)
 *   e_n = (s - 1) / (2 ln 2 n)                (first-order small-sample correction of H, Miller-Madow)
 *   R = max(0, log2 s - (H + e_n))            (information content, bits)
 *   height_a = f_a R                          (letter height in the logo)
 * e_n is the large-n approximation that Schneider et al. give for the exact expected entropy of a small
 * sample (and that WebLogo uses); it is the bias of H from n residues drawn uniformly, so a column drawn
 * at random has R near 0. A column with n = 0 has R = 0.
 *
 * Pure and self-contained: imports nothing but `pearson` from ./stats.ts; no Node built-ins.
 */
import { pearson } from './stats.js';

/** The 20 standard amino acids, one-letter codes in alphabetical order. */
export const AMINO_ACIDS = 'ACDEFGHIKLMNPQRSTVWY';

/** One letter of a logo column. */
export interface LogoLetter {
  readonly letter: string;
  /** count / n of the column. */
  readonly freq: number;
  /** freq x the column's information content, in bits. */
  readonly height: number;
}

/** One column (position) of a logo. */
export interface LogoColumn {
  /** Residues counted in this column (gaps and non-alphabet letters excluded). */
  readonly n: number;
  /** Information content R in bits, small-sample corrected and clamped at 0. */
  readonly ic: number;
  /** The letters seen in this column (count > 0), tallest first; equal heights by frequency, then alphabet order. */
  readonly letters: LogoLetter[];
}

/** A sequence logo: one column per window position. */
export interface Logo {
  /** The alphabet counted, s = alphabet.length. */
  readonly alphabet: string;
  readonly columns: LogoColumn[];
}

function checkAlphabet(alphabet: string): void {
  if (alphabet.length < 2) throw new Error(`logo: alphabet '${alphabet}' has fewer than 2 letters`);
  if (alphabet !== alphabet.toUpperCase()) throw new Error(`logo: alphabet '${alphabet}' must be upper case`);
  if (new Set(alphabet).size !== alphabet.length) throw new Error(`logo: alphabet '${alphabet}' repeats a letter`);
}

/**
 * Position frequency counts of equal-length windows: counts[p][k] = number of windows whose character at
 * position p, upper-cased, is alphabet[k]. Gaps and letters outside the alphabet are not counted. An
 * empty list of windows gives no columns; windows of different lengths are an error.
 */
export function positionCounts(windows: readonly string[], alphabet: string = AMINO_ACIDS): number[][] {
  checkAlphabet(alphabet);
  if (windows.length === 0) return [];
  const width = windows[0]!.length;
  const counts = Array.from({ length: width }, () => new Array<number>(alphabet.length).fill(0));
  windows.forEach((w, i) => {
    if (w.length !== width) throw new Error(`positionCounts: window ${i} has length ${w.length}, expected ${width} like window 0`);
    const upper = w.toUpperCase();
    for (let p = 0; p < width; p++) {
      const k = alphabet.indexOf(upper[p]!);
      if (k >= 0) counts[p]![k]!++;
    }
  });
  return counts;
}

/** The small-sample correction e_n = (s - 1) / (2 ln 2 n) in bits, for n residues over s letters. Infinity for n = 0. */
export function smallSampleCorrection(n: number, s: number = AMINO_ACIDS.length): number {
  return (s - 1) / (2 * Math.LN2 * n);
}

/**
 * The logo of position counts (`positionCounts`' layout: counts[p][k] for alphabet[k]): per column n, the
 * information content R = max(0, log2 s - (H + e_n)) and letter heights f_a R, as in the module comment.
 */
export function logoFromCounts(counts: readonly (readonly number[])[], alphabet: string = AMINO_ACIDS): Logo {
  checkAlphabet(alphabet);
  const s = alphabet.length;
  const columns = counts.map((col, p): LogoColumn => {
    if (col.length !== s) throw new Error(`logoFromCounts: column ${p} has ${col.length} counts, expected ${s} (one per letter of '${alphabet}')`);
    if (!col.every((c) => Number.isInteger(c) && c >= 0)) throw new Error(`logoFromCounts: column ${p} has a count that is not a non-negative integer`);
    const n = col.reduce((a, c) => a + c, 0);
    if (n === 0) return { n: 0, ic: 0, letters: [] };
    let entropy = 0;
    for (const c of col) if (c > 0) entropy -= (c / n) * Math.log2(c / n);
    const ic = Math.max(0, Math.log2(s) - (entropy + smallSampleCorrection(n, s)));
    const letters = [...col.keys()]
      .filter((k) => col[k]! > 0)
      .sort((i, j) => col[j]! - col[i]! || i - j) // heights are freq x ic: tallest = most frequent
      .map((k) => ({ letter: alphabet[k]!, freq: col[k]! / n, height: (col[k]! / n) * ic }));
    return { n, ic, letters };
  });
  return { alphabet, columns };
}

/** The logo of equal-length windows: `logoFromCounts(positionCounts(windows, alphabet), alphabet)`. */
export function sequenceLogo(windows: readonly string[], alphabet: string = AMINO_ACIDS): Logo {
  return logoFromCounts(positionCounts(windows, alphabet), alphabet);
}

/**
 * A consensus string, one character per column: the column's tallest letter (the most frequent; ties by
 * alphabet order) in upper case when its height is at least `strong` bits (default 1), in lower case
 * when its height is positive but below `strong`, and 'x' when the column carries no information
 * (R = 0, which includes columns with no residues).
 */
export function consensus(logo: Logo, strong = 1): string {
  return logo.columns
    .map((c) => {
      const top = c.letters[0];
      if (!top || !(top.height > 0)) return 'x';
      return top.height >= strong ? top.letter.toUpperCase() : top.letter.toLowerCase();
    })
    .join('');
}

/** The heights of columns from..to-1 of a logo, flattened column-major over the alphabet (0 for a letter not seen). */
function heightRows(logo: Logo, from: number, to: number): number[] {
  const out: number[] = [];
  for (let p = from; p < to; p++) {
    const row = new Array<number>(logo.alphabet.length).fill(0);
    for (const l of logo.columns[p]!.letters) row[logo.alphabet.indexOf(l.letter)] = l.height;
    out.push(...row);
  }
  return out;
}

/** How alike two logos are, and at which alignment. */
export interface LogoMatch {
  /** Pearson correlation of the aligned height matrices, in [-1, 1]; 0 when no alignment gives a defined correlation. */
  readonly similarity: number;
  /** Column p of the first logo faces column p + offset of the second. */
  readonly offset: number;
}

/**
 * Similarity of two logos over the same alphabet: for each offset k in [-maxShift, maxShift] (column p of
 * `a` facing column p + k of `b`), the Pearson correlation of the two height matrices restricted to the
 * overlapping columns and flattened (columns x letters, height 0 for letters not seen); the best offset
 * wins (ties: the smaller |k|, then the negative k). Offsets whose overlap is shorter than half of the
 * narrower logo (at least 1 column) are not tried, so a shift cannot match on a sliver. A correlation
 * that is undefined (a logo with no height anywhere in the overlap) is not a match: if no offset gives a
 * defined correlation the similarity is 0 at offset 0. Symmetric: swapping a and b negates the offset.
 * Correlation rather than distance, so that logos of strong and of weak neurons with the same motif match;
 * tall columns dominate it, so logos that share their most informative columns score high even when
 * their weak columns differ.
 */
export function logoSimilarity(a: Logo, b: Logo, maxShift = 2): LogoMatch {
  if (a.alphabet !== b.alphabet) throw new Error(`logoSimilarity: alphabets differ ('${a.alphabet}' and '${b.alphabet}')`);
  if (!(Number.isInteger(maxShift) && maxShift >= 0)) throw new Error(`logoSimilarity: maxShift = ${maxShift}, expected a non-negative integer`);
  const wa = a.columns.length;
  const wb = b.columns.length;
  const minOverlap = Math.max(1, Math.ceil(Math.min(wa, wb) / 2));
  let best: LogoMatch = { similarity: 0, offset: 0 };
  let found = false;
  for (let step = 0; step <= 2 * maxShift; step++) {
    const k = step === 0 ? 0 : step % 2 === 1 ? -(step + 1) / 2 : step / 2; // 0, -1, 1, -2, 2, ...
    const from = Math.max(0, -k);
    const to = Math.min(wa, wb - k);
    if (to - from < minOverlap) continue;
    const r = pearson(heightRows(a, from, to), heightRows(b, from + k, to + k));
    if (Number.isNaN(r)) continue;
    if (!found || r > best.similarity) best = { similarity: r, offset: k };
    found = true;
  }
  return best;
}

/**
 * Single-linkage clusters of n items: i and j share a group when a chain i = i0, i1, ..., im = j has
 * similarity(i_t, i_t+1) >= threshold at every link. Every pair is evaluated once (i < j). Returns the
 * groups, singletons included, each sorted ascending and ordered by their smallest member.
 */
export function singleLinkage(n: number, similarity: (i: number, j: number) => number, threshold: number): number[][] {
  const parent = Array.from({ length: n }, (_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!; // path halving
      i = parent[i]!;
    }
    return i;
  };
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (similarity(i, j) >= threshold) {
        const ri = root(i);
        const rj = root(j);
        parent[Math.max(ri, rj)] = Math.min(ri, rj);
      }
    }
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = root(i);
    const g = groups.get(r);
    if (g) g.push(i);
    else groups.set(r, [i]);
  }
  return [...groups.values()].sort((x, y) => x[0]! - y[0]!);
}

/**
 * Groups of near-identical logos: `singleLinkage` over `logoSimilarity(a, b, maxShift).similarity` with
 * threshold `threshold` (default 0.8, maxShift default 2). Returns groups of indices into `logos`.
 */
export function clusterLogos(logos: readonly Logo[], threshold = 0.8, maxShift = 2): number[][] {
  return singleLinkage(logos.length, (i, j) => logoSimilarity(logos[i]!, logos[j]!, maxShift).similarity, threshold);
}
