/**
 * The tape and grad mode. Ops (ops/op.ts) append a node when grad mode is on and an input requires
 * grad; autograd.ts walks the tape backwards. Kept apart from autograd.ts so that ops depend on
 * "am I recording?" and not on the backward walker, which itself calls ops.
 */
import type { Tensor } from './tensor.js';

/** One recorded op application. */
export interface TapeNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  /** Gradients of the inputs given the output's gradient; null where an input needs none. */
  readonly backward: (dy: Tensor) => readonly (Tensor | null)[];
  /** Releases saved tensors. */
  readonly release: () => void;
}

let gradEnabled = true;
let tape: TapeNode[] = [];

/** True when ops should record. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording (inference, optimizer updates, backward rules). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Async form of noGrad. */
export async function noGradAsync<T>(fn: () => Promise<T>): Promise<T> {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return await fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Appends a node (called by ops). */
export function record(node: TapeNode): void {
  tape.push(node);
  node.output.node = node;
}

/** Nodes currently on the tape (tests check the tape is cleared). */
export function tapeLength(): number {
  return tape.length;
}

/** Drops the tape without computing gradients, releasing everything it saved. */
export function clearTape(): void {
  for (const n of tape) {
    n.release();
    n.output.node = null;
  }
  tape = [];
}

/** The recorded nodes, oldest first (autograd.ts walks them in reverse). */
export function tapeNodes(): readonly TapeNode[] {
  return tape;
}
