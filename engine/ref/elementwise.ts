/** Float64 reference for elementwise ops (engine/ops/elementwise.ts). */
import type { BinaryName, UnaryAttrs, UnaryName } from '../ops/elementwise.js';
import { type Shape, arr, map, numel, ravel, unravel } from './array.js';
import type { RefOp } from './op.js';
import { erf } from './special.js';

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

type Fn = (x: number, a: UnaryAttrs) => number;
const F: Record<UnaryName, [Fn, (x: number, y: number, a: UnaryAttrs) => number]> = {
  neg: [(x) => -x, () => -1],
  exp: [Math.exp, (_x, y) => y],
  log: [Math.log, (x) => 1 / x],
  sqrt: [Math.sqrt, (_x, y) => 0.5 / y],
  rsqrt: [(x) => 1 / Math.sqrt(x), (_x, y) => -0.5 * y * y * y],
  tanh: [Math.tanh, (_x, y) => 1 - y * y],
  gelu: [(x) => 0.5 * x * (1 + erf(x * SQRT1_2)), (x) => 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x)],
  relu: [(x) => Math.max(x, 0), (x) => (x > 0 ? 1 : 0)],
  sigmoid: [(x) => 1 / (1 + Math.exp(-x)), (_x, y) => y * (1 - y)],
  square: [(x) => x * x, (x) => 2 * x],
  pow: [(x, a) => Math.pow(x, a.alpha), (x, _y, a) => a.alpha * Math.pow(x, a.alpha - 1)],
  affine: [(x, a) => a.alpha * x + a.beta, (_x, _y, a) => a.alpha],
};

function unary(name: UnaryName): RefOp<UnaryAttrs> {
  const [f, df] = F[name];
  return {
    forward: ([x], a) => map(x!, (v) => f(v, a)),
    vjp: ([x], a, dy) => [map(x!, (v, i) => dy.data[i]! * df(v, f(v, a), a))],
  };
}

/** NumPy broadcast of two shapes. */
export function broadcast(a: Shape, b: Shape): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    return da === 1 ? db : da;
  });
}

/** Flat index into `shape` of the element that broadcasts to out-index `idx`. */
function srcIndex(idx: readonly number[], shape: Shape): number {
  const off = idx.length - shape.length;
  return ravel(shape.map((d, k) => (d === 1 ? 0 : idx[k + off]!)), shape);
}

const BIN: Record<BinaryName, [(a: number, b: number) => number, (a: number, b: number) => [number, number]]> = {
  add: [(a, b) => a + b, () => [1, 1]],
  sub: [(a, b) => a - b, () => [1, -1]],
  mul: [(a, b) => a * b, (a, b) => [b, a]],
  div: [(a, b) => a / b, (a, b) => [1 / b, -a / (b * b)]],
};

function binary(name: BinaryName): RefOp<Record<string, never>> {
  const [f, df] = BIN[name];
  return {
    forward([a, b]) {
      const shape = broadcast(a!.shape, b!.shape);
      const out = arr(shape);
      for (let i = 0; i < out.data.length; i++) {
        const idx = unravel(i, shape);
        out.data[i] = f(a!.data[srcIndex(idx, a!.shape)]!, b!.data[srcIndex(idx, b!.shape)]!);
      }
      return out;
    },
    vjp([a, b], _attrs, dy) {
      const da = arr(a!.shape);
      const db = arr(b!.shape);
      for (let i = 0; i < numel(dy.shape); i++) {
        const idx = unravel(i, dy.shape);
        const ia = srcIndex(idx, a!.shape);
        const ib = srcIndex(idx, b!.shape);
        const [ga, gb] = df(a!.data[ia]!, b!.data[ib]!);
        da.data[ia] += dy.data[i]! * ga;
        db.data[ib] += dy.data[i]! * gb;
      }
      return [da, db];
    },
  };
}

export const elementwiseRef = {
  neg: unary('neg'), exp: unary('exp'), log: unary('log'), sqrt: unary('sqrt'), rsqrt: unary('rsqrt'),
  tanh: unary('tanh'), gelu: unary('gelu'), relu: unary('relu'), sigmoid: unary('sigmoid'),
  square: unary('square'), pow: unary('pow'), affine: unary('affine'),
  add: binary('add'), sub: binary('sub'), mul: binary('mul'), div: binary('div'),
};
