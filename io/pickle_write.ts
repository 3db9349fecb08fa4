/**
 * A protocol-2 pickler that emits the opcodes CPython's pickle.Pickler(protocol=2) writes for the same
 * data, memo included, so files it writes are what torch.save would write. JavaScript cannot see
 * Python object identity, so strings are memoized by value (CPython memoizes by identity; for the
 * interned names in checkpoints the two agree) and other objects by JavaScript identity.
 * Arrays are written as lists; use PyTuple for tuples. Integral numbers are written as ints (PyFloat for floats).
 */
import { ByteWriter } from './bytes.js';
import { Namespace, OrderedDict } from './pickle_values.js';

/** A Python tuple to write (a plain array is written as a list). */
export class PyTuple {
  readonly items: readonly unknown[];
  constructor(...items: unknown[]) {
    this.items = items;
  }
}

/** A Python float with an integral value (a plain integral number is written as an int). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A module-level Python name to write with GLOBAL, e.g. torch.FloatStorage. */
export class GlobalName {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

/** A value written as `global(*args)` (REDUCE). */
export class Reduce {
  constructor(
    readonly global: GlobalName,
    readonly args: PyTuple,
  ) {}
}

/** Hooks that let a caller write values this module has no rule for. */
export interface PickleWriteOptions {
  /** A persistent id (saved instead of the value, then BINPERSID), or undefined for none. */
  persistentId?: (value: unknown) => unknown;
  /** A Reduce standing for a value this pickler does not know (torch tensors), or undefined. */
  reduce?: (value: unknown) => Reduce | undefined;
}

const BATCH = 1000; // CPython's _BATCHSIZE for APPENDS and SETITEMS

/** Pickles `value` with protocol 2. Throws TypeError for values with no pickle form. */
export function pickle(value: unknown, options: PickleWriteOptions = {}): Uint8Array {
  const w = new ByteWriter();
  const memo = new Map<unknown, number>();
  const memoize = (key: unknown): void => {
    const i = memo.size;
    memo.set(key, i);
    if (i < 256) w.u8(0x71).u8(i); // BINPUT
    else w.u8(0x72).u32(i); // LONG_BINPUT
  };
  const fromMemo = (key: unknown): boolean => {
    const i = memo.get(key);
    if (i === undefined) return false;
    if (i < 256) w.u8(0x68).u8(i); // BINGET
    else w.u8(0x6a).u32(i); // LONG_BINGET
    return true;
  };
  const globalKey = (g: GlobalName): string => `global:${g.module}\n${g.name}`;
  const stringKey = (s: string): string => `str:${s}`;

  const batched = (items: readonly unknown[], one: number, many: number, per: number): void => {
    for (let i = 0; i < items.length; i += BATCH * per) {
      const chunk = items.slice(i, i + BATCH * per);
      if (chunk.length > per) w.u8(0x28); // MARK
      for (const x of chunk) save(x);
      w.u8(chunk.length > per ? many : one);
    }
  };
  const setItems = (entries: Iterable<readonly [unknown, unknown]>): void => {
    const flat: unknown[] = [];
    for (const [k, v] of entries) flat.push(k, v);
    batched(flat, 0x73, 0x75, 2); // SETITEM, SETITEMS
  };
  const saveGlobal = (g: GlobalName): void => {
    if (fromMemo(globalKey(g))) return;
    w.u8(0x63).text(`${g.module}\n${g.name}\n`); // GLOBAL
    memoize(globalKey(g));
  };
  const saveTuple = (t: PyTuple): void => {
    const n = t.items.length;
    if (n === 0) {
      w.u8(0x29); // EMPTY_TUPLE
      return;
    }
    if (n > 3) w.u8(0x28);
    for (const x of t.items) save(x);
    w.u8(n > 3 ? 0x74 : 0x84 + n); // TUPLE or TUPLE1..3
    memoize(t);
  };
  const saveReduce = (global: GlobalName, args: PyTuple, obj: object): void => {
    saveGlobal(global);
    saveTuple(args);
    w.u8(0x52); // REDUCE
    memoize(obj);
  };
  const saveInt = (v: number | bigint): void => {
    if (v >= 0 && v <= 0xff) w.u8(0x4b).u8(Number(v)); // BININT1
    else if (v >= 0 && v <= 0xffff) w.u8(0x4d).u16(Number(v)); // BININT2
    else if (v >= -0x80000000 && v <= 0x7fffffff) w.u8(0x4a).i32(Number(v)); // BININT
    else {
      const bytes = encodeLong(BigInt(v));
      if (bytes.length < 256) w.u8(0x8a).u8(bytes.length); // LONG1
      else w.u8(0x8b).u32(bytes.length); // LONG4
      w.bytes(bytes);
    }
  };

  const save = (v: unknown): void => {
    const pid = options.persistentId?.(v);
    if (pid !== undefined) {
      save(pid);
      w.u8(0x51); // BINPERSID
      return;
    }
    if (v === null || v === undefined) w.u8(0x4e);
    else if (v === true) w.u8(0x88);
    else if (v === false) w.u8(0x89);
    else if (typeof v === 'bigint') saveInt(v);
    else if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) saveInt(v);
      else w.u8(0x47).f64be(v); // BINFLOAT
    } else if (typeof v === 'string') {
      if (fromMemo(stringKey(v))) return;
      const bytes = new TextEncoder().encode(v);
      w.u8(0x58).u32(bytes.length).bytes(bytes); // BINUNICODE
      memoize(stringKey(v));
    } else if (typeof v !== 'object') {
      throw new TypeError(`cannot pickle a ${typeof v}`);
    } else if (v instanceof PyFloat) {
      w.u8(0x47).f64be(v.value);
    } else if (fromMemo(v)) {
      return;
    } else if (v instanceof GlobalName) saveGlobal(v);
    else if (v instanceof PyTuple) saveTuple(v);
    else if (v instanceof Reduce) saveReduce(v.global, v.args, v);
    else if (Array.isArray(v)) {
      w.u8(0x5d); // EMPTY_LIST
      memoize(v);
      batched(v, 0x61, 0x65, 1); // APPEND, APPENDS
    } else if (v instanceof OrderedDict) {
      // OrderedDict.__reduce__: (OrderedDict, (), state or None, None, iter(items))
      saveGlobal(new GlobalName('collections', 'OrderedDict'));
      w.u8(0x29).u8(0x52);
      memoize(v);
      setItems(v);
      if (v.attrs && v.attrs.size) {
        save(new Map(v.attrs));
        w.u8(0x62); // BUILD
      }
    } else if (v instanceof Map) {
      w.u8(0x7d); // EMPTY_DICT
      memoize(v);
      setItems(v);
    } else if (v instanceof Namespace) {
      // object.__reduce_ex__(2): copyreg.__newobj__ becomes NEWOBJ; the instance dict is the BUILD state.
      saveGlobal(new GlobalName('argparse', 'Namespace'));
      w.u8(0x29).u8(0x81); // EMPTY_TUPLE, NEWOBJ
      memoize(v);
      if (v.attrs.size) {
        save(new Map(v.attrs));
        w.u8(0x62);
      }
    } else if (v instanceof Set) {
      // Protocol < 4 has no set opcodes: set.__reduce__ gives (set, (list(items),)).
      saveReduce(new GlobalName('__builtin__', 'set'), new PyTuple([...v]), v);
    } else {
      const r = options.reduce?.(v);
      if (r) saveReduce(r.global, r.args, v);
      else if (Object.getPrototypeOf(v) === Object.prototype) {
        w.u8(0x7d);
        memoize(v);
        setItems(Object.entries(v));
      } else {
        throw new TypeError(`cannot pickle a ${(v as object).constructor?.name ?? 'value'}`);
      }
    }
  };

  w.u8(0x80).u8(2); // PROTO 2
  save(value);
  w.u8(0x2e); // STOP
  return w.finish();
}

/** CPython's pickle.encode_long: minimal little-endian two's complement. */
function encodeLong(x: bigint): Uint8Array {
  if (x === 0n) return new Uint8Array(0);
  const abs = x < 0n ? -x : x;
  const nbytes = (abs.toString(2).length >> 3) + 1;
  const out = new Uint8Array(nbytes);
  let v = BigInt.asUintN(nbytes * 8, x);
  for (let i = 0; i < nbytes; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (x < 0n && nbytes > 1 && out[nbytes - 1] === 0xff && out[nbytes - 2]! & 0x80) return out.subarray(0, nbytes - 1);
  return out;
}
