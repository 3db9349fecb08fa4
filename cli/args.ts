/** A small argument parser: positionals, --flag, --opt value, --list v1 v2 ..., with one-line errors. */

/** A user error: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface OptionSpec {
  /** 'flag' takes no value, 'value' one, 'list' one or more (until the next --option). */
  readonly kind: 'flag' | 'value' | 'list';
}

export interface Parsed {
  readonly positional: string[];
  readonly flags: Set<string>;
  readonly values: Map<string, string>;
  readonly lists: Map<string, string[]>;
}

/** Parses argv against the option table; unknown options and missing values are UsageErrors. */
export function parseArgs(argv: readonly string[], options: Readonly<Record<string, OptionSpec>>, command: string): Parsed {
  const out: Parsed = { positional: [], flags: new Set(), values: new Map(), lists: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--') || a === '--') {
      out.positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    const spec = options[name];
    if (!spec) throw new UsageError(`${command}: unknown option --${name} (options: ${Object.keys(options).map((k) => `--${k}`).join(', ')})`);
    if (spec.kind === 'flag') out.flags.add(name);
    else if (spec.kind === 'value') {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`${command}: --${name} needs a value`);
      out.values.set(name, v);
    } else {
      const vs = inline !== undefined ? [inline] : [];
      while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) vs.push(argv[++i]!);
      if (!vs.length) throw new UsageError(`${command}: --${name} needs at least one value`);
      out.lists.set(name, vs);
    }
  }
  return out;
}

/** An integer option with bounds, or the default. */
export function intOption(p: Parsed, name: string, fallback: number, min = 0, command = 'esm-kn'): number {
  const v = p.values.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${command}: --${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

/** A number option, or the default. */
export function numOption(p: Parsed, name: string, fallback: number, command = 'esm-kn'): number {
  const v = p.values.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${command}: --${name} must be a number, got '${v}'`);
  return n;
}

/** A choice among fixed options, or the default. */
export function oneOf<T extends string>(p: Parsed, name: string, options: readonly T[], fallback: T, command: string): T {
  const v = p.values.get(name) ?? fallback;
  if (!(options as readonly string[]).includes(v)) throw new UsageError(`${command}: --${name} ${v} is not one of ${options.join(', ')}`);
  return v as T;
}

/** An integer option with a lower bound, or null when absent. */
export function optionalInt(p: Parsed, name: string, min: number, command: string): number | null {
  return p.values.has(name) ? intOption(p, name, 0, min, command) : null;
}

/** Tokens per evaluation batch (padding included) when --batch-size is not given. */
export const EVAL_BATCH_TOKENS = 4096;

/**
 * Evaluation batching from --batch-size and the residue limit: the given number of sequences, or by
 * default batches of up to 64 sequences and EVAL_BATCH_TOKENS tokens (62 sequences at the study's
 * --max-len 64, more than 4 when long records are few). Short sequences in small batches leave the
 * device waiting on dispatch overhead: the study's ablations took 29.3 and 32.1 s this way against
 * 40.3 and 35.7 s at 16 sequences (lavapipe, alternating runs); long ones need the token bound.
 */
export function evalBatching(p: Parsed, maxLength: number, command: string): { batchSize: number; tokenBudget?: number; maxLength: number } {
  if (p.values.has('batch-size')) return { batchSize: intOption(p, 'batch-size', 16, 1, command), maxLength };
  return { batchSize: 64, tokenBudget: EVAL_BATCH_TOKENS, maxLength };
}
