/**
 * Reverse-mode autodiff on a tape. Ops (ops/op.ts) append a node when grad mode is on and an input
 * requires grad. `backward(y)` walks the tape in reverse, runs each node's backward rule (itself made
 * of ops, under no-grad), accumulates into `leaf.grad` (summing over calls: gradient accumulation),
 * and then clears the tape, releasing what the rules saved.
 */
import { add } from './ops/elementwise.js';
import { keep, tidy } from './scope.js';
import { type Tensor, fmtShape, full } from './tensor.js';

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

/**
 * Computes gradients of `y` with respect to every leaf that requires grad. `dy` defaults to ones
 * for a one-element `y`; otherwise it must be given with y's shape.
 */
export function backward(y: Tensor, dy?: Tensor): void {
  if (!y.requiresGrad) throw new Error(`backward: ${y.toString()} does not depend on any tensor that requires grad`);
  if (!dy && y.size !== 1) throw new Error(`backward: ${y.toString()} is not a scalar; pass dy of shape ${fmtShape(y.shape)}`);
  if (dy && dy.shape.join() !== y.shape.join()) {
    throw new Error(`backward: dy ${fmtShape(dy.shape)} does not match y ${fmtShape(y.shape)}`);
  }
  noGrad(() =>
    tidy(() => {
      const grads = new Map<Tensor, Tensor>();
      const seed = dy ?? full(y.shape, 1, 'f32', 'd_loss');
      grads.set(y, seed);
      const leafGrads = new Map<Tensor, Tensor>();
      for (let i = tape.length - 1; i >= 0; i--) {
        const node = tape[i]!;
        const g = grads.get(node.output);
        if (!g) continue;
        grads.delete(node.output);
        const inputGrads = node.backward(g);
        if (g !== dy) g.dispose();
        node.inputs.forEach((x, j) => {
          const gx = inputGrads[j];
          if (!gx || !x.requiresGrad) return;
          if (gx.shape.join() !== x.shape.join()) {
            throw new Error(`backward of ${node.op}: gradient ${fmtShape(gx.shape)} for input ${j} of shape ${fmtShape(x.shape)}`);
          }
          const target = x.node ? grads : leafGrads;
          const prev = target.get(x);
          if (prev) {
            target.set(x, add(prev, gx));
            prev.dispose();
            gx.dispose();
          } else target.set(x, gx);
        });
      }
      for (const [leaf, g] of leafGrads) {
        if (leaf.grad) {
          const sum = add(leaf.grad, g);
          leaf.grad.dispose();
          leaf.grad = keep(sum);
        } else leaf.grad = keep(g);
      }
    }),
  );
  clearTape();
}
