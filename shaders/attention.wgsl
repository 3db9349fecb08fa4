// Fused multi-head attention with a key-padding mask and rotary embeddings, flash-attention style:
// per (batch, head, query tile) the keys and values stream past an online softmax, and the
// probabilities (B, H, L, L) are never written. q, k, v and the output stay in the projections'
// (B, L, D) layout (head h is columns h Dh .. h Dh + Dh - 1), so no head split or merge is copied.
//   q' = rope(scale q), k' = rope(k), P = softmax over unmasked keys of q' k'^T, out = P v.
// rotary.wgsl's rotary_heads writes q' and k' once (rotating inside the tiled kernels would redo it
// per tile); forward and backward read them.
//
// Work split. An invocation keeps its queries transposed: qt[d] holds dim d of 4 queries as one vec4,
// so one key's 4 scores are one vec4 and the softmax state (m, l) is per vec4 lane. Keys arrive RG at
// a time: lane g of a subgroup loads key row j0 + g, value row j0 + g and the key's mask bit, and
// subgroupShuffle hands key t to every lane. Each block of RG keys updates the running max once (one
// rescale of the accumulators per block).
//
// Why this shape (lavapipe, see matmul.wgsl's header): storage loads inside loops are done lane by
// lane while shuffles are single vpermps, so k and v are loaded once per subgroup, not per lane, and
// each shuffled value feeds several queries. No workgroup memory and no barriers. DH is an override
// (not a uniform) because the per-lane register arrays are sized by it: one pipeline per head size,
// every B and L sharing it.
//
// History (t6_8M layer: B 8, H 20, L 256, Dh 16; CPU ms per call on lavapipe, min of 6, loaded
// machine): unfused ops (scale, 3 head permutes, 2 rotary, scores matmul, masked softmax, probs x v,
// merge permute) ~830 | 4 queries per invocation, rotary applied to keys in the loop 93-97 | 8 queries
// per invocation (two vec4 groups: each shuffled key and value feeds 8 queries) 83-87 | keys rotated
// once by rotary_heads instead of per tile 73-74. Generic per-group loops instead of the written-out
// pair ran 1.7x slower (Mesa did not unroll them).
//
// Backward (flash-attention 2): attention_dq (per query tile, streaming keys) writes dq and
// delta_i = do_i . o_i; attention_dkv (per key tile, streaming queries, the same trick with the roles
// swapped) writes dk and dv. p is recomputed from the saved row log-sum-exp, so backward needs no
// (B, H, L, L) buffer either.

enable subgroups;

// Invocations per workgroup.
override WG: u32 = 8u;
// Lanes of a subgroup that share the loading of keys (8; 4 where subgroups have 4 lanes).
override RG: u32 = 8u;
// Head dim Dh: a multiple of 4 (of 8 with ROPE), at most 64.
override DH: u32 = 16u;
// Rotary embeddings: the backward kernels rotate their gradients back (q' and k' arrive rotated).
override ROPE: bool = true;
override MASKED: bool = true;

struct Params {
  l: u32,        // L
  d: u32,        // D = H Dh: row length of q, k, v and out
  h: u32,        // H
  scale: f32,    // the q scale (fair-esm: Dh^-0.5), already in q'; dq gets it back
  // Element offset between batch rows of q', k', v and mask; 0 where that input broadcasts (batch 1).
  q_batch: u32,
  k_batch: u32,
  v_batch: u32,
  m_batch: u32,
  // B' H L: where the second half of `stats` (delta, backward) starts.
  stat_rows: u32,
}

// Finite stand-in for -inf (WGSL has no infinity literal).
const NEG_MAX: f32 = -3.4028234663852886e38;

// A head row as vec4 chunks (Dh / 4 used), and 4 rows transposed (Dh used: dim d of the 4 rows).
alias Row = array<vec4<f32>, 16>;
alias Rows4 = array<vec4<f32>, 64>;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q4: array<vec4<f32>>;         // (Bq, L, D) q' = rope(scale q)
@group(0) @binding(2) var<storage, read> k4: array<vec4<f32>>;         // (Bk, L, D) k' = rope(k)
@group(0) @binding(3) var<storage, read> v4: array<vec4<f32>>;         // (Bv, L, D) values
@group(0) @binding(4) var<storage, read> mask: array<f32>;             // (Bm, L) 1 keep, 0 masked
@group(0) @binding(5) var<storage, read> cs4: array<vec4<f32>>;        // (L, Dh) cos | sin (rotary.ts)
@group(0) @binding(6) var<storage, read_write> out4: array<vec4<f32>>; // (B', L, D) attention output
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;        // (2, B', H, L) log-sum-exp | unused

fn chunks() -> u32 {
  return DH / 4u;
}

// Rotates a head row in place: for pair j (dims j and j + Dh/2) at position t,
// (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) with `sign` on sin (-1: the inverse rotation).
fn rope_row(x: ptr<function, Row>, t: u32, sign: f32) {
  let half = DH / 8u;
  let row = t * chunks();
  for (var c = 0u; c < half; c++) {
    let co = cs4[row + c];
    let si = cs4[row + half + c] * sign;
    let x1 = (*x)[c];
    let x2 = (*x)[c + half];
    (*x)[c] = x1 * co - x2 * si;
    (*x)[c + half] = x2 * co + x1 * si;
  }
}

// Loads row `base` (a vec4 index) of q4, k4 or v4 (src 0-2).
fn load_row(x: ptr<function, Row>, src: u32, base: u32) {
  for (var c = 0u; c < chunks(); c++) {
    switch src {
      case 0u: { (*x)[c] = q4[base + c]; }
      case 1u: { (*x)[c] = k4[base + c]; }
      default: { (*x)[c] = v4[base + c]; }
    }
  }
}

// Writes a row into slot e of a transposed set.
fn transpose_in(xt: ptr<function, Rows4>, row: ptr<function, Row>, e: u32) {
  for (var c = 0u; c < chunks(); c++) {
    let x = (*row)[c];
    (*xt)[4u * c][e] = x.x;
    (*xt)[4u * c + 1u][e] = x.y;
    (*xt)[4u * c + 2u][e] = x.z;
    (*xt)[4u * c + 3u][e] = x.w;
  }
}

// Row e of a transposed set, times mul, rotated back for position t when ROPE and `rotate` (the vjp of
// the rotation).
fn transpose_out(row: ptr<function, Row>, xt: ptr<function, Rows4>, e: u32, t: u32, mul: f32, rotate: bool) {
  for (var c = 0u; c < chunks(); c++) {
    (*row)[c] = vec4<f32>((*xt)[4u * c][e], (*xt)[4u * c + 1u][e], (*xt)[4u * c + 2u][e], (*xt)[4u * c + 3u][e]) * mul;
  }
  if (ROPE && rotate) {
    rope_row(row, t, -1.0);
  }
}

// Dot products of the row held by lane t (shuffled) with the 4 transposed rows of xt: a vec4. The
// forward scores keys against queries; backward also scores queries against keys and output
// gradients against values.
fn score(xt: ptr<function, Rows4>, held: ptr<function, Row>, t: u32) -> vec4<f32> {
  var s = vec4<f32>(0.0);
  for (var c = 0u; c < chunks(); c++) {
    let y = subgroupShuffle((*held)[c], t);
    s += (*xt)[4u * c] * y.x + (*xt)[4u * c + 1u] * y.y + (*xt)[4u * c + 2u] * y.z + (*xt)[4u * c + 3u] * y.w;
  }
  return s;
}

// acc (4 transposed rows) += w (one weight per row) times the row held by lane t.
fn accumulate(acc: ptr<function, Rows4>, held: ptr<function, Row>, t: u32, w: vec4<f32>) {
  for (var c = 0u; c < chunks(); c++) {
    let y = subgroupShuffle((*held)[c], t);
    (*acc)[4u * c] += w * y.x;
    (*acc)[4u * c + 1u] += w * y.y;
    (*acc)[4u * c + 2u] += w * y.z;
    (*acc)[4u * c + 3u] += w * y.w;
  }
}

// accumulate for two sets at once, sharing the shuffles of the held row.
fn accumulate2(a: ptr<function, Rows4>, b: ptr<function, Rows4>, held: ptr<function, Row>, t: u32, wa: vec4<f32>, wb: vec4<f32>) {
  for (var c = 0u; c < chunks(); c++) {
    let y = subgroupShuffle((*held)[c], t);
    (*a)[4u * c] += wa * y.x;
    (*a)[4u * c + 1u] += wa * y.y;
    (*a)[4u * c + 2u] += wa * y.z;
    (*a)[4u * c + 3u] += wa * y.w;
    (*b)[4u * c] += wb * y.x;
    (*b)[4u * c + 1u] += wb * y.y;
    (*b)[4u * c + 2u] += wb * y.z;
    (*b)[4u * c + 3u] += wb * y.w;
  }
}

// Online-softmax state of 4 queries: running max m and running sum l (per vec4 lane).
struct Online {
  m: vec4<f32>,
  l: vec4<f32>,
}

// Loads queries i0 .. i0 + 3 (clamped to L) of batch b into a transposed set.
fn load_queries(qt: ptr<function, Rows4>, b: u32, col: u32, i0: u32) {
  var row: Row;
  for (var r = 0u; r < 4u; r++) {
    let i = min(i0 + r, p.l - 1u);
    load_row(&row, 0u, (b * p.q_batch + i * p.d + col) / 4u);
    transpose_in(qt, &row, r);
  }
}

// Folds a block's scores s (masked ones at NEG_MAX) into the running state: rescales acc and st.l to
// the new max and turns s into the block's unnormalised probabilities.
fn online_update(st: ptr<function, Online>, acc: ptr<function, Rows4>, s: ptr<function, array<vec4<f32>, 8>>, kf: ptr<function, array<f32, 8>>) {
  var mb = (*st).m;
  for (var t = 0u; t < RG; t++) {
    mb = max(mb, (*s)[t]);
  }
  let alpha = exp((*st).m - mb);
  (*st).m = mb;
  var l = (*st).l * alpha;
  for (var d = 0u; d < DH; d++) {
    (*acc)[d] *= alpha;
  }
  for (var t = 0u; t < RG; t++) {
    // Masked keys: exp(NEG_MAX - m) is 0 unless every key so far was masked (m = NEG_MAX); kf clears both.
    let pt = exp((*s)[t] - mb) * (*kf)[t];
    (*s)[t] = pt;
    l += pt;
  }
  (*st).l = l;
}

// Writes 4 queries' outputs (acc / l) and row log-sum-exp; a row whose keys are all masked has l = 0
// and gets zeros (as the unfused softmax gives).
fn store_queries(acc: ptr<function, Rows4>, st: Online, b: u32, head: u32, i0: u32) {
  let col = head * DH;
  let inv = select(vec4<f32>(0.0), 1.0 / st.l, st.l > vec4<f32>(0.0));
  let lrow = log(st.l) + st.m;
  var row: Row;
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + r;
    if (i < p.l) {
      transpose_out(&row, acc, r, i, inv[r], false);
      let base = ((b * p.l + i) * p.d + col) / 4u;
      for (var c = 0u; c < chunks(); c++) {
        out4[base + c] = row[c];
      }
      lse[(b * p.h + head) * p.l + i] = select(0.0, lrow[r], st.l[r] > 0.0);
    }
  }
}

// Forward: 8 queries per invocation as two transposed sets (a, b), so each shuffled key and value
// feeds 8 queries.
@compute @workgroup_size(WG)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
                     @builtin(subgroup_invocation_id) sid: u32) {
  let b = wid.z;
  let head = wid.y;
  let g = sid % RG;
  let i0 = (wid.x * WG + lid) * 8u;
  let ll = p.l - 1u;
  let col = head * DH;

  var qa: Rows4;
  var qb: Rows4;
  load_queries(&qa, b, col, i0);
  load_queries(&qb, b, col, i0 + 4u);
  var acca: Rows4;
  var accb: Rows4;
  var sta = Online(vec4<f32>(NEG_MAX), vec4<f32>(0.0));
  var stb = Online(vec4<f32>(NEG_MAX), vec4<f32>(0.0));
  var kq: Row;
  var vq: Row;
  var sa: array<vec4<f32>, 8>;
  var sb: array<vec4<f32>, 8>;
  var kf: array<f32, 8>;
  for (var j0 = 0u; j0 < p.l; j0 += RG) {
    // Lane g loads key and value j0 + g (clamped; keys past L are masked).
    let j = min(j0 + g, ll);
    load_row(&kq, 1u, (b * p.k_batch + j * p.d + col) / 4u);
    load_row(&vq, 2u, (b * p.v_batch + j * p.d + col) / 4u);
    var live = j0 + g < p.l;
    if (MASKED) {
      live = live && mask[b * p.m_batch + j] != 0.0;
    }
    let own = select(0.0, 1.0, live);
    for (var t = 0u; t < RG; t++) {
      kf[t] = subgroupShuffle(own, t);
      sa[t] = select(vec4<f32>(NEG_MAX), score(&qa, &kq, t), kf[t] != 0.0);
      sb[t] = select(vec4<f32>(NEG_MAX), score(&qb, &kq, t), kf[t] != 0.0);
    }
    online_update(&sta, &acca, &sa, &kf);
    online_update(&stb, &accb, &sb, &kf);
    for (var t = 0u; t < RG; t++) {
      accumulate2(&acca, &accb, &vq, t, sa[t], sb[t]);
    }
  }
  store_queries(&acca, sta, b, head, i0);
  store_queries(&accb, stb, b, head, i0 + 4u);
}

// ---- backward ------------------------------------------------------------------------------------

// Bindings 1-5 are the forward's.
@group(0) @binding(6) var<storage, read> d_o4: array<vec4<f32>>;          // (B', L, D) output gradient
@group(0) @binding(7) var<storage, read> o4: array<vec4<f32>>;            // (B', L, D) forward output
@group(0) @binding(8) var<storage, read_write> stats: array<f32>;         // (2, B', H, L) lse | delta
@group(0) @binding(9) var<storage, read_write> d_q4: array<vec4<f32>>;    // (B', L, D) query gradient

// Loads row `base` (a vec4 index) of the output gradient (kept out of load_row: the forward binds
// its output at binding 6).
fn load_dout(x: ptr<function, Row>, base: u32) {
  for (var c = 0u; c < chunks(); c++) {
    (*x)[c] = d_o4[base + c];
  }
}

// Per 4 queries: q' and do (transposed), lse and delta = do . o (also written for attention_dkv).
struct QueryGrad {
  lse: vec4<f32>,
  delta: vec4<f32>,
}

fn load_query_grads(qt: ptr<function, Rows4>, dout: ptr<function, Rows4>, b: u32, head: u32, i0: u32) -> QueryGrad {
  let col = head * DH;
  let srow = (b * p.h + head) * p.l;
  var row: Row;
  var qg = QueryGrad(vec4<f32>(0.0), vec4<f32>(0.0));
  for (var r = 0u; r < 4u; r++) {
    let i = min(i0 + r, p.l - 1u);
    load_row(&row, 0u, (b * p.q_batch + i * p.d + col) / 4u);
    transpose_in(qt, &row, r);
    let ob = ((b * p.l + i) * p.d + col) / 4u;
    load_dout(&row, ob);
    transpose_in(dout, &row, r);
    var dl = 0.0;
    for (var c = 0u; c < chunks(); c++) {
      dl += dot(row[c], o4[ob + c]);
    }
    qg.delta[r] = dl;
    qg.lse[r] = stats[srow + i];
    if (i0 + r < p.l) {
      stats[p.stat_rows + srow + i] = dl;
    }
  }
  return qg;
}

// ds (4 queries) for the key and value held by lane t: p = exp(s - lse) over kept keys,
// ds = p (do . v - delta).
fn query_ds(qt: ptr<function, Rows4>, dout: ptr<function, Rows4>, qg: QueryGrad, kq: ptr<function, Row>, vq: ptr<function, Row>, t: u32, keep: bool) -> vec4<f32> {
  // select, not a product: exp of a masked key's score may overflow, and inf * 0 is NaN.
  let pt = select(vec4<f32>(0.0), exp(score(qt, kq, t) - qg.lse), vec4<bool>(keep));
  return pt * (score(dout, vq, t) - qg.delta);
}

fn store_dq(dq: ptr<function, Rows4>, b: u32, head: u32, i0: u32) {
  var row: Row;
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + r;
    if (i < p.l) {
      transpose_out(&row, dq, r, i, p.scale, true);
      let base = ((b * p.l + i) * p.d + head * DH) / 4u;
      for (var c = 0u; c < chunks(); c++) {
        d_q4[base + c] = row[c];
      }
    }
  }
}

// dq for 8 queries per invocation (two sets, as the forward), streaming keys: dq' += ds k'.
@compute @workgroup_size(WG)
fn attention_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
                @builtin(subgroup_invocation_id) sid: u32) {
  let b = wid.z;
  let head = wid.y;
  let g = sid % RG;
  let i0 = (wid.x * WG + lid) * 8u;
  let ll = p.l - 1u;
  let col = head * DH;

  var qa: Rows4;
  var oa: Rows4;
  var qb: Rows4;
  var ob: Rows4;
  let ga = load_query_grads(&qa, &oa, b, head, i0);
  let gb = load_query_grads(&qb, &ob, b, head, i0 + 4u);
  var dqa: Rows4;
  var dqb: Rows4;
  var kq: Row;
  var vq: Row;
  for (var j0 = 0u; j0 < p.l; j0 += RG) {
    let j = min(j0 + g, ll);
    load_row(&kq, 1u, (b * p.k_batch + j * p.d + col) / 4u);
    load_row(&vq, 2u, (b * p.v_batch + j * p.d + col) / 4u);
    var live = j0 + g < p.l;
    if (MASKED) {
      live = live && mask[b * p.m_batch + j] != 0.0;
    }
    let own = select(0.0, 1.0, live);
    for (var t = 0u; t < RG; t++) {
      let keep = subgroupShuffle(own, t) != 0.0;
      let dsa = query_ds(&qa, &oa, ga, &kq, &vq, t, keep);
      let dsb = query_ds(&qb, &ob, gb, &kq, &vq, t, keep);
      accumulate2(&dqa, &dqb, &kq, t, dsa, dsb);
    }
  }
  store_dq(&dqa, b, head, i0);
  store_dq(&dqb, b, head, i0 + 4u);
}

@group(0) @binding(7) var<storage, read> st_in: array<f32>;               // (2, B', H, L) lse | delta
@group(0) @binding(8) var<storage, read_write> d_k4: array<vec4<f32>>;    // (B', L, D) key gradient
@group(0) @binding(9) var<storage, read_write> d_v4: array<vec4<f32>>;    // (B', L, D) value gradient

// dk and dv for 4 keys per invocation, streaming queries (q', do, lse, delta shuffled from the lane
// that loaded them): dv += p do, dk' += ds q'.
@compute @workgroup_size(WG)
fn attention_dkv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
                 @builtin(subgroup_invocation_id) sid: u32) {
  let b = wid.z;
  let head = wid.y;
  let g = sid % RG;
  let j0 = (wid.x * WG + lid) * 4u;
  let ll = p.l - 1u;
  let col = head * DH;
  let srow = (b * p.h + head) * p.l;

  var kt: Rows4;  // k' of the 4 keys, transposed
  var vt: Rows4;  // v of the 4 keys, transposed
  var row: Row;
  var keep4 = vec4<bool>(false);
  for (var r = 0u; r < 4u; r++) {
    let j = min(j0 + r, ll);
    load_row(&row, 1u, (b * p.k_batch + j * p.d + col) / 4u);
    transpose_in(&kt, &row, r);
    load_row(&row, 2u, (b * p.v_batch + j * p.d + col) / 4u);
    transpose_in(&vt, &row, r);
    var live = j0 + r < p.l;
    if (MASKED) {
      live = live && mask[b * p.m_batch + j] != 0.0;
    }
    keep4[r] = live;
  }

  var dk: Rows4;
  var dv: Rows4;
  var qq: Row;
  var oq: Row;
  for (var q0 = 0u; q0 < p.l; q0 += RG) {
    let i = min(q0 + g, ll);
    load_row(&qq, 0u, (b * p.q_batch + i * p.d + col) / 4u);
    load_dout(&oq, ((b * p.l + i) * p.d + col) / 4u);
    // Queries past L get no probability: their lse is pushed to the top of the range.
    let own_lse = select(-NEG_MAX, st_in[srow + i], q0 + g < p.l);
    let own_delta = st_in[p.stat_rows + srow + i];
    for (var t = 0u; t < RG; t++) {
      let lse_t = subgroupShuffle(own_lse, t);
      let delta_t = subgroupShuffle(own_delta, t);
      let pt = select(vec4<f32>(0.0), exp(score(&kt, &qq, t) - lse_t), keep4);
      accumulate(&dv, &oq, t, pt);
      let ds = pt * (score(&vt, &oq, t) - delta_t);
      accumulate(&dk, &qq, t, ds);
    }
  }

  for (var r = 0u; r < 4u; r++) {
    let j = j0 + r;
    if (j < p.l) {
      let base = ((b * p.l + j) * p.d + col) / 4u;
      transpose_out(&row, &dk, r, j, 1.0, true);
      for (var c = 0u; c < chunks(); c++) {
        d_k4[base + c] = row[c];
      }
      transpose_out(&row, &dv, r, j, 1.0, false);
      for (var c = 0u; c < chunks(); c++) {
        d_v4[base + c] = row[c];
      }
    }
  }
}
