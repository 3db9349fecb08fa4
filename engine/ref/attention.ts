/**
 * Float64 reference for fused attention (engine/ops/attention.ts), written as the unfused ops compute
 * it, per batch b and head h: q' = rope(scale q_bh), k' = rope(k_bh), S = q' k'^T, P = softmax over
 * unmasked keys (a fully masked row is 0), O = P v_bh. The vjp is the textbook one:
 * dV = P^T dO, dP = dO V^T, dS = P (dP - rowsum(dP P)), dq = scale rope^T(dS K'), dk = rope^T(dS^T Q'),
 * summed over the batches an input broadcast to.
 *
 * Axis letters: B batch, L tokens, D = H Dh, H heads, Dh head dim.
 */
import { type AttentionAttrs } from '../ops/attention.js';
import { defaultInvFreq, rotaryAngle } from '../ops/rotary.js';
import { type Arr, arr } from './array.js';
import type { RefOp } from './op.js';

/** Sizes, and the batch row of each input for output batch b (0 where it broadcasts). */
interface Dims {
  readonly b: number;
  readonly l: number;
  readonly d: number;
  readonly h: number;
  readonly dh: number;
  row(x: Arr, b: number): number;
}

function dims(q: Arr, k: Arr, v: Arr, mask: Arr | undefined, a: AttentionAttrs): Dims {
  const [, l, d] = q.shape as [number, number, number];
  const b = Math.max(q.shape[0]!, k.shape[0]!, v.shape[0]!, mask?.shape[0] ?? 1);
  return { b, l, d, h: a.heads, dh: d / a.heads, row: (x, bi) => (x.shape[0] === 1 ? 0 : bi) };
}

/** Head h of batch row bi of x (B, L, D) as L rows of Dh, rotated by sign * angle when rotary. */
function headRows(x: Arr, bi: number, h: number, dm: Dims, a: AttentionAttrs, mul: number, sign: number): number[][] {
  const freqs = a.invFreq ?? defaultInvFreq(dm.dh);
  const half = dm.dh / 2;
  const rows: number[][] = [];
  for (let t = 0; t < dm.l; t++) {
    const base = (bi * dm.l + t) * dm.d + h * dm.dh;
    const r = Array.from({ length: dm.dh }, (_, i) => x.data[base + i]! * mul);
    if (!a.rotary) {
      rows.push(r);
      continue;
    }
    // fair-esm's rotate-half: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin).
    rows.push(r.map((xi, i) => {
      const angle = rotaryAngle(t, freqs, i % half);
      const rotated = i < half ? -r[i + half]! : r[i - half]!;
      return xi * Math.cos(angle) + rotated * Math.sin(angle) * sign;
    }));
  }
  return rows;
}

/** Probabilities P (L, L) of batch b, head h, and the rotated q', k' they came from. */
function probs(xs: readonly Arr[], b: number, h: number, dm: Dims, a: AttentionAttrs) {
  const [q, k, , mask] = xs as [Arr, Arr, Arr, Arr | undefined];
  const qr = headRows(q, dm.row(q, b), h, dm, a, a.scale, 1);
  const kr = headRows(k, dm.row(k, b), h, dm, a, 1, 1);
  const keep = (j: number) => !mask || mask.data[dm.row(mask, b) * dm.l + j] !== 0;
  const p = qr.map((qi) => {
    const s = kr.map((kj, j) => (keep(j) ? qi.reduce((acc, x, e) => acc + x * kj[e]!, 0) : -Infinity));
    const m = Math.max(...s);
    const e = s.map((x) => (x === -Infinity ? 0 : Math.exp(x - m)));
    const z = e.reduce((acc, x) => acc + x, 0);
    return e.map((x) => (z > 0 ? x / z : 0));
  });
  return { p, qr, kr };
}

function forward(xs: readonly Arr[], a: AttentionAttrs): Arr {
  const [q, k, v, mask] = xs as [Arr, Arr, Arr, Arr | undefined];
  const dm = dims(q, k, v, mask, a);
  const out = arr([dm.b, dm.l, dm.d]);
  for (let b = 0; b < dm.b; b++) {
    for (let h = 0; h < dm.h; h++) {
      const { p } = probs(xs, b, h, dm, a);
      const vr = headRows(v, dm.row(v, b), h, dm, { ...a, rotary: false }, 1, 1);
      for (let i = 0; i < dm.l; i++) {
        for (let e = 0; e < dm.dh; e++) {
          out.data[(b * dm.l + i) * dm.d + h * dm.dh + e] = p[i]!.reduce((acc, pij, j) => acc + pij * vr[j]![e]!, 0);
        }
      }
    }
  }
  return out;
}

/** Adds the rows g (L, Dh) of head h, rotated back (sign -1) when rotary and times mul, into x's grad. */
function addHead(grad: Arr, bi: number, h: number, g: number[][], dm: Dims, a: AttentionAttrs, mul: number, rotate: boolean): void {
  const flat = arr([1, dm.l, dm.d]);
  g.forEach((row, t) => row.forEach((x, e) => (flat.data[t * dm.d + h * dm.dh + e] = x)));
  const back = headRows(flat, 0, h, dm, { ...a, rotary: a.rotary && rotate }, mul, -1);
  back.forEach((row, t) => row.forEach((x, e) => (grad.data[(bi * dm.l + t) * dm.d + h * dm.dh + e]! += x)));
}

function vjp(xs: readonly Arr[], a: AttentionAttrs, dy: Arr): (Arr | null)[] {
  const [q, k, v, mask] = xs as [Arr, Arr, Arr, Arr | undefined];
  const dm = dims(q, k, v, mask, a);
  const [dq, dk, dv] = [arr(q.shape), arr(k.shape), arr(v.shape)];
  const range = (n: number) => [...Array(n).keys()];
  for (let b = 0; b < dm.b; b++) {
    for (let h = 0; h < dm.h; h++) {
      const { p, qr, kr } = probs(xs, b, h, dm, a);
      const vr = headRows(v, dm.row(v, b), h, dm, { ...a, rotary: false }, 1, 1);
      const dO = headRows(dy, b, h, dm, { ...a, rotary: false }, 1, 1);
      const dV = range(dm.l).map((j) => range(dm.dh).map((e) => range(dm.l).reduce((acc, i) => acc + p[i]![j]! * dO[i]![e]!, 0)));
      const dP = dO.map((oi) => vr.map((vj) => oi.reduce((acc, x, e) => acc + x * vj[e]!, 0)));
      const dS = p.map((pi, i) => {
        const dot = pi.reduce((acc, pij, j) => acc + pij * dP[i]![j]!, 0);
        return pi.map((pij, j) => pij * (dP[i]![j]! - dot));
      });
      const dQ = dS.map((si) => range(dm.dh).map((e) => si.reduce((acc, x, j) => acc + x * kr[j]![e]!, 0)));
      const dK = range(dm.l).map((j) => range(dm.dh).map((e) => range(dm.l).reduce((acc, i) => acc + dS[i]![j]! * qr[i]![e]!, 0)));
      addHead(dq, dm.row(q, b), h, dQ, dm, a, a.scale, true);
      addHead(dk, dm.row(k, b), h, dK, dm, a, 1, true);
      addHead(dv, dm.row(v, b), h, dV, dm, a, 1, false);
    }
  }
  return mask ? [dq, dk, dv, null] : [dq, dk, dv];
}

const attention: RefOp<AttentionAttrs> = { forward, vjp };

/** Reference entry (ref/index.ts). */
export const attentionRef = { attention };
