/**
 * The restricted unpickler against CPython's own pickles (protocols 0-5), the protocol-2 writer by
 * round trip, and hostile streams: forbidden globals, deep nesting, cycles, huge lengths, unknown
 * opcodes, truncation and random corruption must all end in a one-line FormatError.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FormatError } from '../io/errors.js';
import { unpickle, type UnpickleOptions } from '../io/pickle.js';
import { Namespace, OrderedDict, PyObject, toPlain } from '../io/pickle_values.js';
import { GlobalName, pickle, PyFloat, PyTuple, Reduce } from '../io/pickle_write.js';
import { TORCH_GLOBALS } from '../io/torch_pickle.js';
import { fixtureBytes, same, throwsFormat } from './lib/io_fixtures.js';

/** Bytes from a mix of strings (Latin-1) and byte arrays. */
function bytes(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

const u32le = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];

/** make_fixtures.py pickle_data() as the unpickler should return it. */
function expectedData(): Map<string, unknown> {
  const shared = [9];
  return new Map<string, unknown>([
    ['none', null], ['t', true], ['f', false], ['small', 7], ['byte', 255], ['short', 65535], ['neg', -3],
    ['int32', -(2 ** 31)], ['big', 2 ** 40], ['huge', 2n ** 70n], ['neghuge', -(2n ** 70n)],
    ['float', 1.5], ['neg_float', -0.1], ['inf', Infinity], ['ninf', -Infinity],
    ['str', "h\u00e9llo \u2713 \\ \n 'q'"], ['empty', ''], ['bytes', Uint8Array.of(0, 1, 255)], ['bytearray', Uint8Array.of(97, 98)],
    ['list', [1, [2, [3]], [4, 5]]], ['tuple1', [1]], ['tuple2', [1, 2]], ['tuple3', [1, 2, 3]], ['tuple4', [1, 2, 3, 4]],
    ['empty_tuple', []], ['set', new Set([1, 2])], ['frozenset', new Set([3])],
    ['od', new OrderedDict([['b', 1], ['a', 2]])], ['nested', new Map([['x', new Map([['y', new Map([['z', [1]]])]])]])],
    ['shared', [shared, shared]], ['many', Array.from({ length: 2500 }, (_, i) => i)],
  ]);
}

for (const proto of [0, 1, 2, 3, 4, 5]) {
  test(`CPython protocol ${proto} pickle decodes to the expected values`, () => {
    const v = unpickle(fixtureBytes(`proto${proto}.pkl`), { name: `proto${proto}.pkl` }) as Map<string, unknown>;
    same(v, expectedData());
    const shared = v.get('shared') as unknown[];
    assert.ok(shared[0] === shared[1], 'memo keeps shared objects shared');
  });
}

for (const proto of [2, 3, 4, 5]) {
  test(`argparse.Namespace at protocol ${proto}`, () => {
    const ns = unpickle(fixtureBytes(`namespace${proto}.pkl`));
    assert.ok(ns instanceof Namespace);
    same(ns, new Namespace({ a: 1, b: 'x', c: [1.5] }));
  });
}

test('protocol 0/1 Python 2 strings: STRING escapes, BINSTRING, SHORT_BINSTRING, INT bools, LONG, FLOAT', () => {
  const v = unpickle(bytes("(S'a\\'b\\\\c\\n\\x41\\101'\nT", u32le(2), 'hiU', [1], 'zI01\nI00\nI-12\nL123456789012345678901L\nF-2.5\nFinf\nV\\u00e9\\U0001F600\nl.'));
  same(v, ["a'b\\c\nAA", 'hi', 'z', true, false, -12, 123456789012345678901n, -2.5, Infinity, '\u00e9\u{1F600}']);
});

test('writer round trip: ints of every width, floats, strings, containers, Namespace, OrderedDict attrs', () => {
  const od = new OrderedDict<string, unknown>([['w', 1]]);
  od.attrs = new Map([['_metadata', new OrderedDict([['', new Map([['version', 1]])]])]]);
  const value = new Map<unknown, unknown>([
    ['ints', [0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, 2 ** 53 - 1, -(2 ** 53) + 1, 2n ** 64n, -(2n ** 64n), -128n]],
    ['floats', [0.5, -1e300, Infinity, new PyFloat(2)]],
    ['text', ['', 'ascii', '\u00e9\u{1F600}', 'ascii']],
    ['tuple', new PyTuple(1, new PyTuple(), new PyTuple(1, 2, 3, 4))],
    ['set', new Set(['a'])],
    ['ns', new Namespace({ layers: 33, name: 'esm2' })],
    ['empty_ns', new Namespace()],
    ['od', od],
    ['big', Array.from({ length: 2345 }, (_, i) => i)],
    ['bigdict', new Map(Array.from({ length: 1500 }, (_, i) => [`k${i}`, i]))],
    ['object', { plain: true }],
  ]);
  const expected = new Map(value);
  expected.set('ints', [0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, 2 ** 53 - 1, -(2 ** 53) + 1, 2n ** 64n, -(2n ** 64n), -128]);
  expected.set('floats', [0.5, -1e300, Infinity, 2]);
  expected.set('tuple', [1, [], [1, 2, 3, 4]]);
  expected.set('object', new Map([['plain', true]]));
  same(unpickle(pickle(value)), expected);
});

test('writer emits CPython opcodes: memoized strings and globals, REDUCE, batches of 1000', () => {
  const g = new GlobalName('collections', 'OrderedDict');
  const p = pickle([new Reduce(g, new PyTuple()), new Reduce(g, new PyTuple()), 'x', 'x']);
  // PROTO 2, EMPTY_LIST, BINPUT 0, MARK, GLOBAL, BINPUT 1, EMPTY_TUPLE, REDUCE, BINPUT 2,
  // BINGET 1, EMPTY_TUPLE, REDUCE, BINPUT 3, BINUNICODE 'x', BINPUT 4, BINGET 4, APPENDS, STOP
  const expected = bytes([0x80, 2, 0x5d, 0x71, 0, 0x28], 'ccollections\nOrderedDict\n', [0x71, 1, 0x29, 0x52, 0x71, 2, 0x68, 1, 0x29, 0x52, 0x71, 3, 0x58], u32le(1), 'x', [0x71, 4, 0x68, 4, 0x65, 0x2e]);
  assert.equal([...p], [...expected]);
  assert.throws(() => pickle(() => 1), /cannot pickle a function/);
});

const REFUSE = /refusing pickle global (\S+) \(only tensors, OrderedDict and argparse\.Namespace are allowed\)/;

const hostile: [string, Uint8Array, RegExp, UnpickleOptions?][] = [
  ['GLOBAL os.system + REDUCE', bytes("cos\nsystem\n(S'echo pwned'\ntR."), /refusing pickle global os\.system \(only tensors, OrderedDict and argparse\.Namespace are allowed\)/],
  ['GLOBAL posix.system (what CPython writes for os.system)', bytes([0x80, 2], 'cposix\nsystem\nX', u32le(2), 'id', [0x85, 0x52, 0x2e]), /refusing pickle global posix\.system/],
  ['STACK_GLOBAL builtins.eval', bytes([0x80, 4, 0x8c, 8], 'builtins', [0x8c, 4], 'eval', [0x93, 0x8c, 1], '1', [0x85, 0x52, 0x2e]), /refusing pickle global builtins\.eval/],
  ['GLOBAL __builtin__.eval', bytes("c__builtin__\neval\n(S'1'\ntR."), /refusing pickle global __builtin__\.eval/],
  ['GLOBAL subprocess.Popen', bytes("csubprocess\nPopen\n(S'ls'\ntR."), /refusing pickle global subprocess\.Popen/],
  ['INST os.system', bytes("(S'ls'\nios\nsystem\n."), /refusing pickle global os\.system/],
  ['copy_reg._reconstructor (protocol 0 objects)', bytes('ccopy_reg\n_reconstructor\n(cargparse\nNamespace\nc__builtin__\nobject\nNtR.'), /refusing pickle global copy_reg\._reconstructor/],
  ['torch global outside the allowlist', bytes('ctorch\nload\n.'), /refusing pickle global torch\.load/, { globals: TORCH_GLOBALS }],
  ['deep MARK nesting', bytes('('.repeat(100_000)), /MARKs nested deeper than 100/],
  ['deep list nesting', bytes(']'.repeat(300), 'a'.repeat(299), '.'), /containers nested deeper than 100/],
  ['list appended to itself', bytes(']q\x00h\x00a.'), /contains itself/],
  ['cycle through two lists', bytes(']q\x00]q\x01h\x00aa.'), /modifies a container after nesting it/],
  ['BINUNICODE length 2^32-1', bytes([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0xff], 'abc.'), /string of 4294967295 bytes exceeds the 67108864-byte limit at byte 2/],
  ['BINBYTES8 length 2^60', bytes([0x80, 4, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x10], '.'), /bytes of \d+ bytes exceeds the 67108864-byte limit/],
  ['BINBYTES longer than the stream', bytes([0x80, 3, 0x42], u32le(1000), 'abc.'), /truncated stream: opcode needs 1000 bytes, 4 remain at byte 2/],
  ['LONG4 of 2^31-1 bytes', bytes([0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0x7f, 0x2e]), /integer of 2147483647 bytes exceeds the 4096-byte limit/],
  ['unknown opcode', bytes([0x80, 2, 0xff, 0x2e]), /unknown pickle opcode 0xff at byte 2/],
  ['protocol 6', bytes([0x80, 6, 0x4e, 0x2e]), /unsupported pickle protocol 6/],
  ['no STOP', bytes([0x80, 2, 0x4e]), /truncated stream: no STOP opcode at byte 3/],
  ['empty stream', new Uint8Array(0), /no STOP opcode at byte 0/],
  ['stack underflow', bytes('R.'), /stack underflow at byte 0/],
  ['undefined memo key', bytes('h\x05.'), /memo key 5 is not defined/],
  ['memo limit', bytes('N', 'q\x00q\x01q\x02q\x03.'), /memo exceeds 3 entries/, { limits: { maxMemo: 3 } }],
  ['container size limit', bytes(']', '(', 'N'.repeat(6), 'e.'), /container of 6 items exceeds the 5-item limit/, { limits: { maxItems: 5 } }],
  ['EXT1', bytes([0x80, 2, 0x82, 1, 0x2e]), /extension registry/],
  ['NEXT_BUFFER', bytes([0x80, 5, 0x97, 0x2e]), /out-of-band buffers/],
  ['persistent id without a loader', bytes('Pfoo\n.'), /persistent id without a persistent loader/],
  ['BUILD on a list', bytes(']}b.'), /BUILD on a value that takes no state/],
  ['REDUCE on a non-global', bytes('N)R.'), /REDUCE\/NEWOBJ target is not a global/],
  ['_codecs.encode beyond Latin-1', bytes('c_codecs\nencode\n(V\\u2713\nVlatin1\ntR.'), /_codecs\.encode: latin1 string has a character above U\+00FF/],
];

for (const [name, data, pattern, options] of hostile) {
  test(`hostile pickle refused: ${name}`, async () => {
    const e = await throwsFormat(() => unpickle(data, { name: 'evil.pkl', ...options }), pattern);
    assert.ok(e.message.startsWith('evil.pkl: '));
  });
}

test('the refusal names exactly the global and nothing ran', async () => {
  const e = await throwsFormat(() => unpickle(bytes("cos\nsystem\n(S'touch /tmp/esm-kn-pwned'\ntR.")), REFUSE);
  assert.is(REFUSE.exec(e.message)![1], 'os.system');
});

test('extraGlobals accepts named classes as inert records, never calling them', () => {
  const data = bytes('cfairseq.meters\nAverageMeter\n)\x81}(X', u32le(3), 'avgG', [0x3f, 0xf8, 0, 0, 0, 0, 0, 0], 'ub.');
  const v = unpickle(data, { extraGlobals: new Set(['fairseq.meters.AverageMeter']) });
  assert.ok(v instanceof PyObject);
  assert.is((v as PyObject).qualname, 'fairseq.meters.AverageMeter');
  same((v as PyObject).state, new Map([['avg', 1.5]]));
});

test('every truncation of a real pickle is a FormatError', () => {
  const full = fixtureBytes('proto2.pkl');
  for (let n = 0; n < full.length; n++) {
    try {
      unpickle(full.subarray(0, n));
      assert.unreachable(`prefix of ${n} bytes decoded`);
    } catch (err) {
      assert.instance(err, FormatError, `prefix of ${n} bytes: ${(err as Error).message}`);
    }
  }
});

test('random corruption never escapes as anything but a FormatError', () => {
  const full = fixtureBytes('proto4.pkl');
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let trial = 0; trial < 3000; trial++) {
    const b = full.slice();
    for (let k = 1 + rand(4); k > 0; k--) b[rand(b.length)] = rand(256);
    try {
      unpickle(b, { limits: { maxString: 1 << 20 } });
    } catch (err) {
      assert.instance(err, FormatError, `trial ${trial}: ${(err as Error).message}`);
    }
  }
});

test('toPlain turns dicts and Namespaces into objects without prototype hazards', () => {
  const v = unpickle(pickle(new Map<string, unknown>([['__proto__', 1], ['ns', new Namespace({ a: [new Set([2])] })]])));
  const plain = toPlain(v) as Record<string, unknown>;
  assert.is(Object.getPrototypeOf(plain), Object.prototype);
  assert.ok(Object.prototype.hasOwnProperty.call(plain, '__proto__'));
  assert.equal(plain['ns'], { a: [[2]] });
});

test.run();
