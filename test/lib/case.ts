/**
 * Table-driven op cases shared by the reference finite-difference test and the GPU-vs-reference test.
 * One line per op and case: which op, input shapes, attrs, how inputs are drawn, tolerance scale.
 */
import type { OpName } from '../../engine/ops/op.js';
import type { AttrsOf } from '../../engine/ops/registry.js';
import { type Arr, type Shape, arr, map, randn, uniform } from '../../engine/ref/array.js';
import { rng } from '../../engine/random.js';

/** How one input is drawn: normal, positive (0.5..2), int:N (integers 0..N-1, i32), away0 (|x| >= 0.3). */
export type Draw = 'normal' | 'positive' | 'away0' | `int:${number}` | ((shape: Shape, rand: () => number) => Arr);

export interface OpCase<K extends OpName = OpName> {
  readonly op: K;
  readonly name: string;
  readonly shapes: readonly Shape[];
  readonly attrs: AttrsOf<K>;
  readonly draw?: readonly Draw[];
  /** Longest reduction inside the op (scales the float32 tolerance); default 1. */
  readonly reduce?: number;
  /** Inputs whose gradient is not checked (e.g. indices). */
  readonly noGrad?: readonly number[];
  /** Skip the finite-difference check for this case (e.g. kinks of max/relu at random points are fine, ties are not). */
  readonly noFiniteDiff?: boolean;
}

/** Builds a typed case (helps inference of attrs per op). */
export function opCase<K extends OpName>(c: OpCase<K>): OpCase<K> {
  return c;
}

/** The float64 inputs of a case, seeded. */
export function drawInputs(c: OpCase, seed: number): Arr[] {
  const rand = rng(seed);
  return c.shapes.map((shape, i) => {
    const d = c.draw?.[i] ?? 'normal';
    if (typeof d === 'function') return d(shape, rand);
    if (d === 'normal') return randn(shape, rand);
    if (d === 'positive') return uniform(shape, rand, 0.5, 2);
    if (d === 'away0') return map(uniform(shape, rand, 0.3, 1.5), (v) => (rand() < 0.5 ? -v : v));
    const n = Number(d.slice(4));
    return arr(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(rand() * n)));
  });
}

/** Whether input i of a case is an integer tensor. */
export function isIntInput(c: OpCase, i: number): boolean {
  const d = c.draw?.[i];
  return typeof d === 'string' && d.startsWith('int:');
}
