/** The reference contract: a float64 forward and its vector-Jacobian product, per op. */
import type { Arr } from './array.js';

export interface RefOp<A> {
  /** y = f(inputs). Integer inputs (indices, labels) arrive as float64 values. */
  forward(inputs: readonly Arr[], attrs: A): Arr;
  /** Gradients of sum(dy * f(inputs)) with respect to each input; null for non-differentiable inputs. */
  vjp(inputs: readonly Arr[], attrs: A, dy: Arr): readonly (Arr | null)[];
}
