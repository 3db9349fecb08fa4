/**
 * The JavaScript values the restricted unpickler produces, beyond plain ones:
 *   None -> null, bool -> boolean, int -> number (bigint past 2^53), float -> number, str -> string,
 *   bytes/bytearray -> Uint8Array, list and tuple -> Array, dict -> Map, set/frozenset -> Set,
 *   collections.OrderedDict -> OrderedDict, argparse.Namespace -> Namespace.
 * The pickle writer takes the same values back.
 */
import { FormatError } from './errors.js';

/** collections.OrderedDict. `attrs` holds instance attributes pickled with it (a torch state dict's `_metadata`). */
export class OrderedDict<K = unknown, V = unknown> extends Map<K, V> {
  attrs: Map<string, unknown> | null = null;
}

/** argparse.Namespace: named attributes (fair-esm keeps its model config in one). */
export class Namespace {
  readonly attrs: Map<string, unknown>;

  constructor(attrs: Iterable<readonly [string, unknown]> | Record<string, unknown> = []) {
    const entries = Symbol.iterator in attrs ? (attrs as Iterable<readonly [string, unknown]>) : Object.entries(attrs);
    this.attrs = new Map(entries);
  }
}

/**
 * An instance of a class the caller chose to accept without meaning (UnpickleOptions.extraGlobals).
 * Nothing of it ever runs: it only records what the pickle said.
 */
export class PyObject {
  state: unknown = null;

  constructor(
    readonly qualname: string,
    readonly args: readonly unknown[],
  ) {}
}

/**
 * Converts unpickled containers to JSON-like values: Map/OrderedDict with string keys and Namespace
 * become plain objects, Set becomes an array; other values pass through. The unpickler guarantees
 * acyclic values of bounded depth; `maxDepth` guards values built by other means.
 */
export function toPlain(value: unknown, file = '<pickle>', maxDepth = 100): unknown {
  const go = (v: unknown, depth: number): unknown => {
    if (depth > maxDepth) throw new FormatError(file, `value nested deeper than ${maxDepth}`);
    if (v instanceof Namespace) return go(v.attrs, depth);
    if (v instanceof Map) {
      const entries: [string, unknown][] = [];
      for (const [k, x] of v) entries.push([typeof k === 'string' ? k : String(k), go(x, depth + 1)]);
      return Object.fromEntries(entries); // defines own properties, so a "__proto__" key stays data
    }
    if (v instanceof Set) return [...v].map((x) => go(x, depth + 1));
    if (Array.isArray(v)) return v.map((x) => go(x, depth + 1));
    return v;
  };
  return go(value, 0);
}
