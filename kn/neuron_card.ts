/**
 * The statistics of one neuron's card, from its per-residue values (kn/positions.ts), pure and
 * browser-safe: its top windows (one per record, the record's best residue, +-half residues padded with
 * '-' past the ends), the EC classes and sub-classes those windows come from against the set's
 * composition (Fisher's exact test per card; Benjamini-Hochberg q-values over a family of cards' tests),
 * where along the sequence it fires (a position profile) and whether its per-record mean follows
 * sequence length.
 *
 * Values arrive one record at a time (`NeuronAccumulator.add`), so a card over a large set keeps only
 * the top candidates, a few bins and one mean per record.
 */
import { benjaminiHochberg, fisherExact, spearman } from './stats.js';

/** Residues at each end counted as the N- or C-terminal region of the position profile. */
export const TERMINAL_SPAN = 30;

/** Relative-position bins of the profile (bin b holds residues with b/10 <= i/length < (b+1)/10). */
export const PROFILE_BINS = 10;

/**
 * The window of `sequence` centred on residue `center` (0-based): residues center - half .. center + half,
 * with '-' where the window runs past either end, so every window has length 2 half + 1.
 */
export function sequenceWindow(sequence: string, center: number, half = 7): string {
  if (!(Number.isInteger(center) && center >= 0 && center < sequence.length)) throw new Error(`sequenceWindow: center ${center} outside [0, ${sequence.length})`);
  if (!(Number.isInteger(half) && half >= 0)) throw new Error(`sequenceWindow: half ${half}, expected a non-negative integer`);
  let out = '';
  for (let i = center - half; i <= center + half; i++) out += i >= 0 && i < sequence.length ? sequence[i]! : '-';
  return out;
}

/** Where residue i (0-based) of a sequence of `length` residues sits: the first and last TERMINAL_SPAN are terminal. */
export function regionOf(i: number, length: number): 'n_term' | 'core' | 'c_term' {
  if (i < TERMINAL_SPAN) return 'n_term';
  if (i >= length - TERMINAL_SPAN) return 'c_term';
  return 'core';
}

/** A record's best residue for one neuron. */
export interface WindowCandidate {
  /** Record index in the explained set. */
  readonly record: number;
  /** 0-based residue. */
  readonly position: number;
  readonly activation: number;
  /** Gradient x activation at that residue, when computed. */
  readonly attribution?: number;
  /** The value that ranked it (activation or attribution). */
  readonly rank: number;
  /** Breaks exact ties of rank (smaller first). */
  readonly tiebreak: number;
}

/** Mean activation per region and per relative-position bin, and where the top windows sit. */
export interface PositionProfile {
  /** Residues at each end counted as terminal (TERMINAL_SPAN). */
  readonly span: number;
  /** Mean activation over residues of each region; null where no residue fell in it. */
  readonly regions: { readonly n_term: number | null; readonly core: number | null; readonly c_term: number | null };
  /** Residues seen in each region. */
  readonly residues: { readonly n_term: number; readonly core: number; readonly c_term: number };
  /** PROFILE_BINS means over relative position i / length (null for an empty bin). */
  readonly bins: (number | null)[];
  /** Top windows whose centre lies in each region. */
  readonly top_windows: { readonly n_term: number; readonly core: number; readonly c_term: number };
}

/** How exact ties at the cut-off affected the choice of top windows. */
export interface CutoffTies {
  /** Records (candidates, with several windows per record) whose best value equals the last kept window's. */
  readonly tied: number;
  /** Of those, how many were kept (the rest lost a seeded tie-break). */
  readonly kept: number;
}

/** Spearman's rho of per-record mean activation against sequence length. */
export interface LengthCorrelation {
  readonly spearman: number | null;
  readonly records: number;
}

/** A neuron named for position or length rather than content, and why; null kind when neither. */
export interface DetectorCall {
  readonly kind: 'length' | 'n-terminal' | 'c-terminal' | null;
  readonly reason: string;
}

type Regions = { n_term: number; core: number; c_term: number };
const zeroRegions = (): Regions => ({ n_term: 0, core: 0, c_term: 0 });

/**
 * Streams one neuron's per-residue values and keeps what its card needs: the `keep` best candidates
 * (`perRecord` per record, default one, its best residues, ranked by `rank` values; exact ties go to the
 * smaller `tiebreak(record)`, then the earlier residue), region and bin sums of the activation, and each
 * record's mean activation, best values and full length. Several per record are for a set of one or a
 * few sequences (the page), where one window per record would leave a logo of one window.
 *
 * Exact ties are common (a layer-0 unit's value at a residue depends on the token alone, so every record
 * starting with M ties at residue 1); with the default tie-break, the record index, the kept windows
 * would follow the order of the set (grouped by class) and fake a class enrichment. Callers that test
 * enrichment pass a tie-break that ignores the class, e.g. a seeded hash of the record id.
 */
export class NeuronAccumulator {
  private readonly top: WindowCandidate[] = [];
  private readonly regionSum = zeroRegions();
  private readonly regionCount = zeroRegions();
  private readonly binSum = new Float64Array(PROFILE_BINS);
  private readonly binCount = new Float64Array(PROFILE_BINS);
  private readonly means: number[] = [];
  private readonly lengths: number[] = [];
  private readonly lengthOf = new Map<number, number>();
  private readonly bests: number[] = [];

  constructor(private readonly keep: number, private readonly tiebreak: (record: number) => number = (r) => r, private readonly perRecord = 1) {
    if (!(Number.isInteger(keep) && keep >= 1)) throw new Error(`NeuronAccumulator: keep ${keep}, expected a positive integer`);
    if (!(Number.isInteger(perRecord) && perRecord >= 1)) throw new Error(`NeuronAccumulator: perRecord ${perRecord}, expected a positive integer`);
  }

  /**
   * Adds one record: `activations` (n) at its first n residues, `attributions` (n) when computed (kept
   * with each window), `length` its full length. Windows are ranked by the attributions when given
   * unless `rankBy` is 'activation'.
   */
  add(record: number, length: number, activations: ArrayLike<number>, attributions?: ArrayLike<number>, rankBy: 'activation' | 'attribution' = attributions ? 'attribution' : 'activation'): void {
    const n = activations.length;
    if (n === 0) return;
    const rank = rankBy === 'attribution' && attributions ? attributions : activations;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const a = activations[i]!;
      sum += a;
      const region = regionOf(i, length);
      this.regionSum[region] += a;
      this.regionCount[region]++;
      const b = Math.min(PROFILE_BINS - 1, Math.floor((PROFILE_BINS * i) / length));
      this.binSum[b]! += a;
      this.binCount[b]!++;
    }
    this.means.push(sum / n);
    this.lengths.push(length);
    this.lengthOf.set(record, length);
    for (const best of bestResidues(rank, this.perRecord)) {
      this.bests.push(rank[best]!);
      const c: WindowCandidate = { record, position: best, activation: activations[best]!, rank: rank[best]!, tiebreak: this.tiebreak(record), ...(attributions ? { attribution: attributions[best]! } : {}) };
      // Insert in order (descending rank, then record, then position); drop beyond `keep`.
      let at = this.top.length;
      while (at > 0 && after(this.top[at - 1]!, c)) at--;
      if (at < this.keep) {
        this.top.splice(at, 0, c);
        if (this.top.length > this.keep) this.top.pop();
      }
    }
  }

  /** The kept candidates, best first. */
  topWindows(): readonly WindowCandidate[] {
    return this.top;
  }

  /** Exact ties at the cut-off (the last kept window's value; candidates, so records when perRecord is 1); none kept gives zeros. */
  cutoffTies(): CutoffTies {
    const last = this.top[this.top.length - 1];
    if (!last) return { tied: 0, kept: 0 };
    return { tied: this.bests.filter((b) => b === last.rank).length, kept: this.top.filter((c) => c.rank === last.rank).length };
  }

  /** The position profile so far. */
  profile(): PositionProfile {
    const m = (s: number, n: number): number | null => (n > 0 ? s / n : null);
    const top = zeroRegions();
    for (const c of this.top) top[regionOf(c.position, this.lengthOf.get(c.record)!)]++;
    return {
      span: TERMINAL_SPAN,
      regions: { n_term: m(this.regionSum.n_term, this.regionCount.n_term), core: m(this.regionSum.core, this.regionCount.core), c_term: m(this.regionSum.c_term, this.regionCount.c_term) },
      residues: { ...this.regionCount },
      bins: Array.from(this.binSum, (s, b) => m(s, this.binCount[b]!)),
      top_windows: top,
    };
  }

  /** Spearman's rho of the records' mean activations against their lengths (null when undefined). */
  lengthCorrelation(): LengthCorrelation {
    const rho = spearman(this.means, this.lengths);
    return { spearman: Number.isNaN(rho) ? null : rho, records: this.means.length };
  }
}

/** The m residues of highest rank (ties to the earlier residue), best first. */
function bestResidues(rank: ArrayLike<number>, m: number): number[] {
  if (m === 1) {
    let best = 0;
    for (let i = 1; i < rank.length; i++) if (rank[i]! > rank[best]!) best = i;
    return [best];
  }
  return Array.from({ length: rank.length }, (_, i) => i).sort((a, b) => rank[b]! - rank[a]! || a - b).slice(0, m);
}

/** True when candidate a ranks after b. */
function after(a: WindowCandidate, b: WindowCandidate): boolean {
  if (a.rank !== b.rank) return a.rank < b.rank;
  if (a.tiebreak !== b.tiebreak) return a.tiebreak > b.tiebreak;
  if (a.record !== b.record) return a.record > b.record;
  return a.position > b.position;
}

/**
 * Names a neuron a position or length detector. N- (C-) terminal first: at least 75% of its top windows
 * (and at least 3) centre in the first (last) TERMINAL_SPAN residues, at least twice the share of the
 * set's residues that lie there, and its mean activation there exceeds its mean over the core (so a
 * neuron whose windows sit at position 1 only because its values are flat is not called terminal).
 * A terminal detector's per-record mean falls with length by construction, hence the order. Then
 * length: |rho| >= 0.5 over at least 10 records. Otherwise kind null.
 */
export function detectorCall(profile: PositionProfile, length: LengthCorrelation): DetectorCall {
  const tops = profile.top_windows.n_term + profile.top_windows.core + profile.top_windows.c_term;
  const residues = profile.residues.n_term + profile.residues.core + profile.residues.c_term;
  for (const [region, kind] of [['n_term', 'n-terminal'], ['c_term', 'c-terminal']] as const) {
    const share = tops ? profile.top_windows[region] / tops : 0;
    const base = residues ? profile.residues[region] / residues : 0;
    const here = profile.regions[region];
    const core = profile.regions.core;
    if (tops >= 3 && share >= 0.75 && share >= 2 * base && here !== null && (core === null || here > core)) {
      return { kind, reason: `${profile.top_windows[region]} of ${tops} top windows in the ${kind === 'n-terminal' ? 'first' : 'last'} ${TERMINAL_SPAN} residues (${(100 * base).toFixed(0)}% of residues lie there), mean activation there ${here.toPrecision(3)} against ${core === null ? 'no core' : `${core.toPrecision(3)} in the core`}` };
    }
  }
  if (length.spearman !== null && length.records >= 10 && Math.abs(length.spearman) >= 0.5) {
    return { kind: 'length', reason: `mean activation ${length.spearman > 0 ? 'rises' : 'falls'} with sequence length (Spearman ${length.spearman.toFixed(2)} over ${length.records} records)` };
  }
  return { kind: null, reason: 'no length or terminal preference' };
}

/** EC sub-classes (first two levels, '2.7') of a record's EC numbers ('2.7.11.1;2.4.1.1'), distinct, in order. */
export function ecSubclasses(ec: string | undefined): string[] {
  if (!ec) return [];
  const out: string[] = [];
  for (const e of ec.split(';')) {
    const parts = e.trim().split('.');
    if (parts.length < 2 || !parts[0] || !parts[1] || parts[1] === '-') continue;
    const sub = `${parts[0]}.${parts[1]}`;
    if (!out.includes(sub)) out.push(sub);
  }
  return out;
}

/** One label's enrichment among a neuron's top records. */
export interface EnrichmentRow {
  /** 'class' (the task's classes) or 'subclass' (EC second level). */
  readonly level: string;
  readonly label: string;
  /** Top records carrying the label, of top_total. */
  readonly in_top: number;
  readonly top_total: number;
  /** Records of the whole set carrying the label, of set_total. */
  readonly in_set: number;
  readonly set_total: number;
  /** Sample odds ratio ad / (bc) of the 2x2 table (fisherExact: Infinity when bc = 0 < ad, NaN when both are 0). */
  readonly odds_ratio: number;
  /** One-sided Fisher p-value, P(X >= in_top): evidence of enrichment; the neuron's own. */
  readonly p_value: number;
  /**
   * Benjamini-Hochberg q-value over the family adjustEnrichment was given: in kn/explain.ts every enrichment
   * test of one run (all cards, both levels), since a reader scanning the cards scans them all.
   */
  readonly q_value: number;
}

/** An enrichment test before adjustment: its row without the q-value. */
export type EnrichmentTest = Omit<EnrichmentRow, 'q_value'>;

/**
 * Enrichment tests of labels among the `top` records (indices into the set of `labels.length` records,
 * each record carrying zero or more labels of one level). Per label seen in the set, the 2x2 table
 * [[top with label, top without], [rest with label, rest without]] goes to Fisher's exact test, one-sided
 * (greater: the question is what a neuron is for). Sorted by p-value, then label; adjustEnrichment adds
 * the q-values.
 */
export function enrichmentTests(level: string, labels: readonly (readonly string[])[], top: readonly number[]): EnrichmentTest[] {
  const N = labels.length;
  const topSet = new Set(top);
  for (const r of topSet) if (!(Number.isInteger(r) && r >= 0 && r < N)) throw new Error(`enrichmentTests: top record ${r} outside [0, ${N})`);
  const T = topSet.size;
  const inSet = new Map<string, number>();
  const inTop = new Map<string, number>();
  labels.forEach((ls, r) => {
    for (const l of new Set(ls)) {
      inSet.set(l, (inSet.get(l) ?? 0) + 1);
      if (topSet.has(r)) inTop.set(l, (inTop.get(l) ?? 0) + 1);
    }
  });
  const names = [...inSet.keys()].sort();
  return names
    .map((label): EnrichmentTest => {
      const a = inTop.get(label) ?? 0;
      const k = inSet.get(label)!;
      const f = fisherExact(a, T - a, k - a, N - T - (k - a));
      return { level, label, in_top: a, top_total: T, in_set: k, set_total: N, odds_ratio: f.oddsRatio, p_value: f.pValueGreater };
    })
    .sort((x, y) => x.p_value - y.p_value || (x.label < y.label ? -1 : 1));
}

/**
 * Benjamini-Hochberg q-values over every test of `groups` pooled as one family (e.g. one group per card),
 * returned in the groups' shape and order with each test's own p-value kept.
 */
export function adjustEnrichment(groups: readonly (readonly EnrichmentTest[])[]): EnrichmentRow[][] {
  const q = benjaminiHochberg(groups.flatMap((g) => g.map((t) => t.p_value)));
  let i = 0;
  return groups.map((g) => g.map((t): EnrichmentRow => ({ ...t, q_value: q[i++]! })));
}
