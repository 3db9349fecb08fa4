/**
 * The allowlist of pickle globals. Each entry maps a Python name to a pure constructor of plain values;
 * nothing else can be named by a pickle. Protocol 0-2 pickles spell builtins as `__builtin__`
 * (Python 3 writes them that way for Python 2 compatibility), so both spellings are listed.
 */
import { Namespace, OrderedDict } from './pickle_values.js';

/** A Python global the unpickler may push: REDUCE calls `call`, NEWOBJ calls `create`. */
export interface PyGlobal {
  readonly qualname: string;
  /** The value of `global(*args)`; throws an Error whose message names what is wrong. */
  call?(args: readonly unknown[]): unknown;
  /** The value of `global.__new__(global, *args)`, before any BUILD. */
  create?(args: readonly unknown[]): unknown;
}

/** Allowed globals by "module.name". */
export type GlobalTable = ReadonlyMap<string, PyGlobal>;

/** Builds a table from globals, each also under its `__builtin__` alias when it lives in builtins. */
export function globalTable(globals: readonly PyGlobal[]): GlobalTable {
  const t = new Map<string, PyGlobal>();
  for (const g of globals) {
    t.set(g.qualname, g);
    if (g.qualname.startsWith('builtins.')) t.set(`__builtin__.${g.qualname.slice(9)}`, g);
  }
  return t;
}

function latin1Bytes(s: unknown, encoding: unknown): Uint8Array {
  if (typeof s !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
    throw new Error("expects (str, 'latin1')");
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new Error('latin1 string has a character above U+00FF');
    out[i] = c;
  }
  return out;
}

function items(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v instanceof Set) return [...v];
  throw new Error('expects a list, tuple or set');
}

const orderedDict: PyGlobal = {
  qualname: 'collections.OrderedDict',
  call(args) {
    const d = new OrderedDict();
    if (args.length === 0) return d;
    // Python 2 pickled OrderedDict(items) with a list of [key, value] pairs.
    if (args.length !== 1) throw new Error('expects no arguments or a list of pairs');
    for (const pair of items(args[0])) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new Error('expects [key, value] pairs');
      d.set(pair[0], pair[1]);
    }
    return d;
  },
  create: () => new OrderedDict(),
};

const namespace: PyGlobal = {
  qualname: 'argparse.Namespace',
  call(args) {
    if (args.length) throw new Error('takes keyword arguments only');
    return new Namespace();
  },
  create: () => new Namespace(),
};

const setOf = (qualname: string): PyGlobal => ({
  qualname,
  call(args) {
    if (args.length > 1) throw new Error('expects at most one argument');
    return new Set(args.length ? items(args[0]) : []);
  },
});

const bytearray: PyGlobal = {
  qualname: 'builtins.bytearray',
  call(args) {
    if (args.length === 0) return new Uint8Array(0);
    if (args.length === 1 && args[0] instanceof Uint8Array) return args[0].slice();
    if (args.length === 2) return latin1Bytes(args[0], args[1]);
    throw new Error('expects bytes or (str, encoding)');
  },
};

// Protocol 2 cannot spell bytes directly, so Python writes them as _codecs.encode(str, 'latin1').
const codecsEncode: PyGlobal = {
  qualname: '_codecs.encode',
  call(args) {
    if (args.length !== 2) throw new Error("expects (str, 'latin1')");
    return latin1Bytes(args[0], args[1]);
  },
};

/** Containers, OrderedDict, argparse.Namespace and bytes: everything a checkpoint needs except tensors. */
export const BASE_GLOBALS: GlobalTable = globalTable([
  orderedDict,
  namespace,
  setOf('builtins.set'),
  setOf('builtins.frozenset'),
  bytearray,
  codecsEncode,
]);
