/**
 * Argument decoding for the unpickler: Python's integer conversion and the text forms that protocol 0
 * (and Python 2's str opcodes) use. Each parser takes a `fail` callback that throws the caller's
 * FormatError, so messages keep the opcode's byte offset.
 */
import { fromUtf8 } from './bytes.js';

/** A Python int: a number when exact, else a bigint. */
export function toInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Bytes as a Latin-1 string (one character per byte). */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** A protocol-0/1 str: Python 3 decodes it as UTF-8 when it can (torch.load's default), else Latin-1. */
export function pyStr(b: Uint8Array): string {
  try {
    return fromUtf8(b);
  } catch {
    return latin1(b);
  }
}

/** INT/LONG arguments: decimal digits; INT's "00"/"01" are False/True. */
export function parseIntLine(s: string, boolForm: boolean, fail: (m: string) => never): boolean | number | bigint {
  if (boolForm && s === '00') return false;
  if (boolForm && s === '01') return true;
  if (!/^[+-]?\d{1,4300}$/.test(s)) fail(`bad integer literal '${s.slice(0, 40)}'`);
  return toInt(BigInt(s));
}

/** FLOAT's argument: Python's repr of a float, including inf and nan. */
export function parseFloatLine(s: string, fail: (m: string) => never): number {
  const special: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity };
  if (s in special) return special[s]!;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) fail(`bad float literal '${s.slice(0, 40)}'`);
  return Number(s);
}

/** GET/PUT's memo index. */
export function parseIndex(s: string, fail: (m: string) => never): number {
  if (!/^\d{1,10}$/.test(s)) fail(`bad memo index '${s.slice(0, 40)}'`);
  return Number(s);
}

/** Protocol 0's STRING argument: a Python repr in quotes, with backslash escapes. */
export function quotedString(s: string, fail: (m: string) => never): Uint8Array {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) fail('STRING argument is not quoted');
  const body = s.slice(1, -1);
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '0': 0 };
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c !== 92) {
      out.push(c & 0xff);
      continue;
    }
    const e = body[++i];
    if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e !== undefined && /[0-7]/.test(e) && /^[0-7]{1,3}/.test(body.slice(i))) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out.push(parseInt(m, 8) & 0xff);
      i += m.length - 1;
    } else if (e !== undefined && e in simple) {
      out.push(simple[e]!);
    } else {
      fail('bad escape in STRING argument');
    }
  }
  return Uint8Array.from(out);
}

/** Protocol 0's UNICODE argument: raw-unicode-escape (\uXXXX and \UXXXXXXXX, other bytes Latin-1). */
export function rawUnicodeEscape(s: string, fail: (m: string) => never): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4?: string, u8?: string) => {
    const cp = parseInt(u4 ?? u8!, 16);
    if (cp > 0x10ffff) fail('bad \\U escape in UNICODE argument');
    return String.fromCodePoint(cp);
  });
}
