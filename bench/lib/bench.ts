/**
 * The contract between bench/run.ts and each bench module (bench/<name>.ts): a bench measures cases
 * and emits one row per case, ours against a peer when one ran the same case. run.ts prints rows as
 * an aligned table or, with --json, one JSON object per line.
 */

/** One measured case. Field names and order are the JSON line format. */
export interface BenchRow {
  readonly bench: string;
  readonly case: string;
  /** Our value in `unit`. */
  readonly ours: number;
  /** The peer implementation's name, or null when none ran this case. */
  readonly peer: string | null;
  readonly peer_value: number | null;
  /** e.g. "GFLOP/s", "tokens/s" (higher is better) or "ms" (lower is better). */
  readonly unit: string;
}

/** What a bench receives: its own arguments and where to put results and progress. */
export interface BenchContext {
  /** Arguments after the bench name, without --json. */
  readonly args: readonly string[];
  readonly json: boolean;
  /** Records a result row (printed by run.ts). */
  emit(row: BenchRow): void;
  /** Progress and notes; always on stderr so that --json output stays parseable. */
  log(message: string): void;
}

/** A bench module's default export. */
export interface Bench {
  readonly name: string;
  /** One line for `npm run bench` without arguments. */
  readonly description: string;
  run(ctx: BenchContext): Promise<void>;
}

/** Value of `--name value` in args, if present. */
export function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Truncates (never rounds up) to `digits` decimals, so reported numbers never flatter. */
export function truncate(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.trunc(v * f) / f;
}

/** Two decimals, truncated. */
export function fixed2(v: number): string {
  return truncate(v, 2).toFixed(2);
}

/** Units where smaller is better; every other unit is a rate. */
const TIME_UNITS = new Set(['ms', 's', 'us']);

/** How many times better ours is than the peer (>1: ours wins), or null without a peer. */
export function advantage(row: BenchRow): number | null {
  if (row.peer_value === null || !row.peer_value || !row.ours) return null;
  return TIME_UNITS.has(row.unit) ? row.peer_value / row.ours : row.ours / row.peer_value;
}

/** Formats rows as an aligned text table with the advantage column. */
export function formatTable(rows: readonly BenchRow[]): string {
  const header = ['bench', 'case', 'ours', 'peer', 'peer value', 'unit', 'ours/peer'];
  const lines = rows.map((r) => {
    const adv = advantage(r);
    return [r.bench, r.case, fixed2(r.ours), r.peer ?? '-', r.peer_value === null ? '-' : fixed2(r.peer_value), r.unit, adv === null ? '-' : `${fixed2(adv)}x`];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}
