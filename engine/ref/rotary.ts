/**
 * Float64 reference for rotary position embedding (engine/ops/rotary.ts), written as fair-esm does:
 * out = x * cos(emb) + rotate_half(x) * sin(emb), emb = cat(freqs, freqs), freqs[t, j] = t * inv_freq[j].
 */
import { type RotaryAttrs, defaultInvFreq, rotaryAngle } from '../ops/rotary.js';
import { type Arr, arr } from './array.js';
import type { RefOp } from './op.js';

/** x * cos(emb) + rotate_half(x) * sin(emb) * sign; sign -1 is the inverse rotation. */
function rotate(x: Arr, sign: number, invFreq?: readonly number[]): Arr {
  const dh = x.shape[x.shape.length - 1]!;
  const freqs = invFreq ?? defaultInvFreq(dh);
  const l = x.shape[x.shape.length - 2]!;
  const half = dh / 2;
  const out = arr(x.shape);
  for (let row = 0; row < x.data.length / dh; row++) {
    const t = row % l;
    const base = row * dh;
    for (let i = 0; i < dh; i++) {
      // rotate_half(x) = cat(-x2, x1)
      const rotated = i < half ? -x.data[base + i + half]! : x.data[base + i - half]!;
      // emb = cat(freqs, freqs): the angle of position t, repeated over both halves (float32 as fair-esm).
      const a = rotaryAngle(t, freqs, i % half);
      out.data[base + i] = x.data[base + i]! * Math.cos(a) + rotated * Math.sin(a) * sign;
    }
  }
  return out;
}

const rotary: RefOp<RotaryAttrs> = {
  forward: ([x], a) => rotate(x!, 1, a.invFreq),
  // The Jacobian is a rotation R; its transpose R^T = R^-1 rotates by the negated angles.
  vjp: (_xs, a, dy) => [rotate(dy, -1, a.invFreq)],
};

/** Reference entry (ref/index.ts). */
export const rotaryRef = { rotary };
