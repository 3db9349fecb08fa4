/**
 * Reverse-mode autodiff on the tape (tape.ts). `backward(y)` walks the tape in reverse, runs each
 * node's backward rule (itself made of ops, under no-grad), accumulates into `leaf.grad` (summing over
 * calls: gradient accumulation), and then clears the tape, releasing what the rules saved.
 */
import { add } from './ops/elementwise.js';
import { keep, tidy } from './scope.js';
import { clearTape, noGrad, tapeNodes } from './tape.js';
import { type Tensor, fmtShape, full } from './tensor.js';

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
      const tape = tapeNodes();
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
