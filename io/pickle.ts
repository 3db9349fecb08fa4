/**
 * A restricted unpickler (protocols 0-5) that builds plain JavaScript values and never runs anything.
 * A GLOBAL resolves only through an allowlist of data constructors (pickle_globals.ts); any other name,
 * os.system and builtins.eval included, is refused when it is read. Every read is bounds-checked and
 * memo size, nesting, container sizes and string lengths are capped, so a hostile file ends in a
 * FormatError rather than a hang or a crash. Containers are sealed once nested in another, which
 * rules out cycles and lets later walkers recurse without their own depth checks.
 */
import { fromUtf8 } from './bytes.js';
import { FormatError } from './errors.js';
import { BASE_GLOBALS, type GlobalTable, type PyGlobal } from './pickle_globals.js';
import { latin1, parseFloatLine, parseIndex, parseIntLine, pyStr, quotedString, rawUnicodeEscape, toInt } from './pickle_text.js';
import { Namespace, OrderedDict, PyObject } from './pickle_values.js';

/** Resource caps; the defaults are far above what a torch checkpoint's data.pkl needs. */
export interface PickleLimits {
  /** Deepest MARK nesting and container nesting. */
  maxDepth: number;
  /** Most memo entries. */
  maxMemo: number;
  /** Most elements in one list, tuple, dict or set. */
  maxItems: number;
  /** Longest str or bytes value, in bytes. */
  maxString: number;
}

/** Default limits. */
export const DEFAULT_PICKLE_LIMITS: Readonly<PickleLimits> = {
  maxDepth: 100,
  maxMemo: 1 << 21,
  maxItems: 1 << 24,
  maxString: 1 << 26,
};

/** Options for unpickle. */
export interface UnpickleOptions {
  /** The file name for error messages. */
  name?: string;
  /** The allowed globals; default BASE_GLOBALS (containers, OrderedDict, argparse.Namespace). */
  globals?: GlobalTable;
  /**
   * Extra "module.name" globals to accept as inert PyObject records (never called). For files whose
   * metadata holds classes this reader has no meaning for; tensors never need it.
   */
  extraGlobals?: ReadonlySet<string>;
  /** Resolves a persistent id (torch's storage references); without it PERSID is an error. */
  persistentLoad?: (pid: unknown) => unknown;
  limits?: Partial<PickleLimits>;
}

const LINE_MAX = 1 << 16;
const LONG_MAX_BYTES = 4096;

/** Decodes one pickle into plain values; throws FormatError on anything malformed or not allowed. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): unknown {
  return new Unpickler(bytes, options).run();
}

class Unpickler {
  private pos = 0;
  private opPos = 0;
  private stack: unknown[] = [];
  private readonly metastack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly depth = new WeakMap<object, number>();
  private readonly sealed = new WeakSet<object>();
  private readonly limits: PickleLimits;
  private readonly name: string;
  private readonly globals: GlobalTable;

  constructor(
    private readonly b: Uint8Array,
    private readonly options: UnpickleOptions,
  ) {
    this.limits = { ...DEFAULT_PICKLE_LIMITS, ...options.limits };
    this.name = options.name ?? '<pickle>';
    this.globals = options.globals ?? BASE_GLOBALS;
  }

  private fail(what: string): never {
    throw new FormatError(this.name, `pickle: ${what} at byte ${this.opPos}`);
  }

  private need(n: number): number {
    if (!(n >= 0) || this.pos + n > this.b.length) {
      this.fail(`truncated stream: opcode needs ${n} bytes, ${this.b.length - this.pos} remain`);
    }
    const p = this.pos;
    this.pos += n;
    return p;
  }

  private u8(): number {
    return this.b[this.need(1)]!;
  }

  private uint(n: 1 | 2 | 4 | 8): number {
    const p = this.need(n);
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + this.b[p + i]!;
    return v;
  }

  private i32(): number {
    const p = this.need(4);
    return new DataView(this.b.buffer, this.b.byteOffset + p, 4).getInt32(0, true);
  }

  /** BINFLOAT's big-endian double. */
  private f64(): number {
    const p = this.need(8);
    return new DataView(this.b.buffer, this.b.byteOffset + p, 8).getFloat64(0, false);
  }

  private chunk(len: number, what: string): Uint8Array {
    if (len > this.limits.maxString) this.fail(`${what} of ${len} bytes exceeds the ${this.limits.maxString}-byte limit`);
    const p = this.need(len);
    return this.b.subarray(p, p + len);
  }

  private text(bytes: Uint8Array): string {
    try {
      return fromUtf8(bytes);
    } catch {
      return this.fail('string is not valid UTF-8');
    }
  }

  private line(): string {
    const end = this.b.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > LINE_MAX) this.fail('unterminated text argument');
    const s = latin1(this.b.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  private push(v: unknown): void {
    this.stack.push(v);
  }

  private pop(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): unknown[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (!prev) this.fail('MARK expected');
    this.stack = prev;
    return items;
  }

  private countItems(n: number): void {
    if (n > this.limits.maxItems) this.fail(`container of ${n} items exceeds the ${this.limits.maxItems}-item limit`);
  }

  /** Records that `child` now lives inside `parent`: seals the child and bounds the depth. */
  private nest(parent: object, child: unknown): void {
    if (typeof child !== 'object' || child === null) return;
    if (child === parent) this.fail('container contains itself (cycles are not supported)');
    this.sealed.add(child);
    const d = (this.depth.get(child) ?? 0) + 1;
    if (d > (this.depth.get(parent) ?? 0)) {
      if (d > this.limits.maxDepth) this.fail(`containers nested deeper than ${this.limits.maxDepth}`);
      this.depth.set(parent, d);
    }
  }

  private mutable<T extends object>(obj: T): T {
    if (this.sealed.has(obj)) this.fail('pickle modifies a container after nesting it (cycles are not supported)');
    return obj;
  }

  private fresh<T extends object>(obj: T, items: readonly unknown[]): T {
    this.countItems(items.length);
    for (const x of items) this.nest(obj, x);
    return obj;
  }

  private resolve(module: string, name: string): PyGlobal {
    const qualname = `${module}.${name}`;
    const g = this.globals.get(qualname);
    if (g) return g;
    if (this.options.extraGlobals?.has(qualname)) {
      return { qualname, call: (args) => new PyObject(qualname, args), create: (args) => new PyObject(qualname, args) };
    }
    throw new FormatError(this.name, `refusing pickle global ${qualname} (only tensors, OrderedDict and argparse.Namespace are allowed)`);
  }

  private callable(v: unknown): PyGlobal {
    if (typeof v === 'object' && v !== null && 'qualname' in v && typeof (v as PyGlobal).qualname === 'string') {
      return v as PyGlobal;
    }
    return this.fail('REDUCE/NEWOBJ target is not a global');
  }

  private apply(g: PyGlobal, args: unknown, how: 'call' | 'create'): void {
    if (!Array.isArray(args)) this.fail(`arguments for ${g.qualname} are not a tuple`);
    const f = how === 'call' ? g.call : g.create;
    if (!f) this.fail(`${g.qualname} cannot be ${how === 'call' ? 'called' : 'instantiated'}`);
    let result: unknown;
    try {
      result = f.call(g, args);
    } catch (err) {
      if (err instanceof FormatError) throw err;
      this.fail(`${g.qualname}: ${(err as Error).message}`);
    }
    if (typeof result === 'object' && result !== null && !args.includes(result)) {
      for (const a of args) this.nest(result, a);
    }
    this.push(result);
  }

  private setItems(target: unknown, items: readonly unknown[]): void {
    if (!(target instanceof Map)) this.fail('SETITEM(S) target is not a dict');
    if (items.length % 2) this.fail('SETITEMS with an odd number of items');
    this.mutable(target);
    this.countItems(target.size + items.length / 2);
    for (let i = 0; i < items.length; i += 2) {
      this.nest(target, items[i]);
      this.nest(target, items[i + 1]);
      target.set(items[i], items[i + 1]);
    }
  }

  private appendItems(target: unknown, items: readonly unknown[]): void {
    if (!Array.isArray(target)) this.fail('APPEND(S) target is not a list');
    this.mutable(target);
    this.countItems(target.length + items.length);
    for (const x of items) {
      this.nest(target, x);
      target.push(x);
    }
  }

  private build(obj: unknown, state: unknown): void {
    if (obj instanceof Namespace || obj instanceof OrderedDict) {
      if (!(state instanceof Map)) this.fail('BUILD state is not a dict');
      this.mutable(obj);
      this.nest(obj, state);
      const attrs = obj instanceof Namespace ? obj.attrs : (obj.attrs ??= new Map());
      for (const [k, v] of state) {
        if (typeof k !== 'string') this.fail('BUILD state has a non-string attribute name');
        attrs.set(k, v);
      }
    } else if (obj instanceof PyObject) {
      this.mutable(obj);
      this.nest(obj, state);
      obj.state = state;
    } else {
      this.fail('BUILD on a value that takes no state');
    }
  }

  private memoGet(i: number): void {
    if (!this.memo.has(i)) this.fail(`memo key ${i} is not defined`);
    this.push(this.memo.get(i));
  }

  private memoPut(i: number): void {
    if (!this.memo.has(i) && this.memo.size >= this.limits.maxMemo) this.fail(`memo exceeds ${this.limits.maxMemo} entries`);
    this.memo.set(i, this.top());
  }

  /** LONG1/LONG4 payload: little-endian two's complement. */
  private long(n: number): number | bigint {
    if (n < 0) this.fail('negative LONG4 length');
    if (n > LONG_MAX_BYTES) this.fail(`integer of ${n} bytes exceeds the ${LONG_MAX_BYTES}-byte limit`);
    const p = this.need(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.b[p + i]!);
    if (n > 0 && this.b[p + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return toInt(v);
  }

  private persistent(pid: unknown): void {
    const load = this.options.persistentLoad;
    if (!load) this.fail('persistent id without a persistent loader');
    try {
      this.push(load(pid));
    } catch (err) {
      if (err instanceof FormatError) throw err;
      this.fail((err as Error).message);
    }
  }

  run(): unknown {
    const b = this.b;
    for (;;) {
      this.opPos = this.pos;
      if (this.pos >= b.length) this.fail('truncated stream: no STOP opcode');
      const op = b[this.pos++]!;
      switch (op) {
        case 0x80: { // PROTO
          const v = this.u8();
          if (v > 5) this.fail(`unsupported pickle protocol ${v}`);
          break;
        }
        case 0x95: { // FRAME: framing only matters to streaming readers; check its length and go on
          const n = this.uint(8);
          if (n > b.length - this.pos) this.fail(`frame of ${n} bytes runs past the end`);
          break;
        }
        case 0x2e: return this.pop(); // STOP
        case 0x28: // MARK
          if (this.metastack.length >= this.limits.maxDepth) this.fail(`MARKs nested deeper than ${this.limits.maxDepth}`);
          this.metastack.push(this.stack);
          this.stack = [];
          break;
        case 0x30: if (this.stack.length) this.stack.pop(); else this.popMark(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.push(this.top()); break; // DUP
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4a: this.push(this.i32()); break; // BININT
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.uint(2)); break; // BININT2
        case 0x8a: this.push(this.long(this.u8())); break; // LONG1
        case 0x8b: this.push(this.long(this.i32())); break; // LONG4
        case 0x47: this.push(this.f64()); break; // BINFLOAT
        case 0x49: this.push(parseIntLine(this.line(), true, (m) => this.fail(m))); break; // INT
        case 0x4c: this.push(parseIntLine(this.line().replace(/L$/, ''), false, (m) => this.fail(m))); break; // LONG
        case 0x46: this.push(parseFloatLine(this.line(), (m) => this.fail(m))); break; // FLOAT
        case 0x58: this.push(this.text(this.chunk(this.uint(4), 'string'))); break; // BINUNICODE
        case 0x8c: this.push(this.text(this.chunk(this.u8(), 'string'))); break; // SHORT_BINUNICODE
        case 0x8d: this.push(this.text(this.chunk(this.uint(8), 'string'))); break; // BINUNICODE8
        case 0x56: this.push(rawUnicodeEscape(this.line(), (m) => this.fail(m))); break; // UNICODE
        case 0x54: { // BINSTRING
          const n = this.i32();
          if (n < 0) this.fail('negative BINSTRING length');
          this.push(pyStr(this.chunk(n, 'string')));
          break;
        }
        case 0x55: this.push(pyStr(this.chunk(this.u8(), 'string'))); break; // SHORT_BINSTRING
        case 0x53: this.push(pyStr(quotedString(this.line(), (m) => this.fail(m)))); break; // STRING
        case 0x42: this.push(this.chunk(this.uint(4), 'bytes').slice()); break; // BINBYTES
        case 0x43: this.push(this.chunk(this.u8(), 'bytes').slice()); break; // SHORT_BINBYTES
        case 0x8e: this.push(this.chunk(this.uint(8), 'bytes').slice()); break; // BINBYTES8
        case 0x96: this.push(this.chunk(this.uint(8), 'bytearray').slice()); break; // BYTEARRAY8
        case 0x97: this.fail('out-of-band buffers (NEXT_BUFFER) are not supported'); break;
        case 0x98: this.top(); break; // READONLY_BUFFER: read-only is all we ever are
        case 0x29: this.push([]); break; // EMPTY_TUPLE
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x7d: this.push(new Map()); break; // EMPTY_DICT
        case 0x8f: this.push(new Set()); break; // EMPTY_SET
        case 0x74: case 0x6c: { const items = this.popMark(); this.push(this.fresh(items, items)); break; } // TUPLE, LIST
        case 0x85: { const a = this.pop(); this.push(this.fresh([a], [a])); break; } // TUPLE1
        case 0x86: { const y = this.pop(); const x = this.pop(); this.push(this.fresh([x, y], [x, y])); break; } // TUPLE2
        case 0x87: { const z = this.pop(); const y = this.pop(); const x = this.pop(); this.push(this.fresh([x, y, z], [x, y, z])); break; } // TUPLE3
        case 0x64: { const items = this.popMark(); const d = new Map(); this.push(d); this.setItems(d, items); break; } // DICT
        case 0x91: { const items = this.popMark(); this.push(this.fresh(new Set(items), items)); break; } // FROZENSET
        case 0x61: { const v = this.pop(); this.appendItems(this.top(), [v]); break; } // APPEND
        case 0x65: { const items = this.popMark(); this.appendItems(this.top(), items); break; } // APPENDS
        case 0x73: { const v = this.pop(); const k = this.pop(); this.setItems(this.top(), [k, v]); break; } // SETITEM
        case 0x75: { const items = this.popMark(); this.setItems(this.top(), items); break; } // SETITEMS
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof Set)) this.fail('ADDITEMS target is not a set');
          this.mutable(s);
          this.countItems(s.size + items.length);
          for (const x of items) { this.nest(s, x); s.add(x); }
          break;
        }
        case 0x68: this.memoGet(this.u8()); break; // BINGET
        case 0x6a: this.memoGet(this.uint(4)); break; // LONG_BINGET
        case 0x67: this.memoGet(parseIndex(this.line(), (m) => this.fail(m))); break; // GET
        case 0x71: this.memoPut(this.u8()); break; // BINPUT
        case 0x72: this.memoPut(this.uint(4)); break; // LONG_BINPUT
        case 0x70: this.memoPut(parseIndex(this.line(), (m) => this.fail(m))); break; // PUT
        case 0x94: this.memoPut(this.memo.size); break; // MEMOIZE
        case 0x63: { const module = this.line(); this.push(this.resolve(module, this.line())); break; } // GLOBAL
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
          this.push(this.resolve(module, name));
          break;
        }
        case 0x69: { const module = this.line(); const g = this.resolve(module, this.line()); this.apply(g, this.popMark(), g.call ? 'call' : 'create'); break; } // INST
        case 0x6f: { const items = this.popMark(); const g = this.callable(items.shift()); this.apply(g, items, g.call ? 'call' : 'create'); break; } // OBJ
        case 0x52: { const args = this.pop(); this.apply(this.callable(this.pop()), args, 'call'); break; } // REDUCE
        case 0x81: { const args = this.pop(); this.apply(this.callable(this.pop()), args, 'create'); break; } // NEWOBJ
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          if (!(kwargs instanceof Map) || kwargs.size) this.fail('NEWOBJ_EX with keyword arguments is not supported');
          this.apply(this.callable(this.pop()), args, 'create');
          break;
        }
        case 0x62: { const state = this.pop(); this.build(this.top(), state); break; } // BUILD
        case 0x51: this.persistent(this.pop()); break; // BINPERSID
        case 0x50: this.persistent(this.line()); break; // PERSID
        case 0x82: case 0x83: case 0x84: this.fail('the extension registry (EXT1/EXT2/EXT4) is not supported'); break;
        default:
          this.fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }
}
