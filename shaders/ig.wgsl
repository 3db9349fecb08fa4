// Integrated gradients (Dai et al., ACL 2022) and neuron statistics for the knowledge-neuron study.
//
// One example, one module (e.g. layer 3's key projection) of width W over L token positions:
//   ig_scale       the M scaled copies of its activation a as one batch, for the quadrature nodes
//                  alpha_k: x[k, l, w] = base[w] + alpha_k * (a[l, w] - base[w]) at the scaled
//                  positions [pos_lo, pos_hi), a[l, w] elsewhere (ig_scale4: four neurons at a time).
//   ig_accumulate  gradient times input with the quadrature weights, summed over the scaled positions:
//                  c[w] = sum_l (a[l, w] - base[w]) * sum_k weight_k * g[k, l, w], added to a row of the
//                  per-neuron score buffer (so scores stay on the GPU until a block of examples is done)
//                  and to a per-example scratch row `ex` for the completeness check.
//   ig_record      completeness bookkeeping: sum_w ex[w], f(x) and f(baseline) into a stats row.
// And for activation scores:
//   neuron_sum     score[row_b, w] += sum_l pw[b, l] * a[b, l, w] (or |a|), pw the position weights.
//
// Nodes live in one table of (alpha, weight) pairs; a chunk of M rows uses nodes node0 .. node0 + M - 1,
// so the IG steps can be split into chunks (Captum's internal batch) without new uploads. A node of
// weight 0 (alpha 0: the baseline row) is evaluated for the completeness check and adds nothing.
//
// Parallelism is one thread per neuron: each thread loops over positions and steps, so the sums are
// sequential per neuron and every score element has exactly one writer (no atomics).

override WG: u32 = 256;
// neuron_sum: 1 sums |a| instead of a.
override ABS: u32 = 0;

struct Scale {
  m: u32,       // rows (nodes) in this chunk
  l: u32,       // token positions
  w: u32,       // module width
  pos_lo: u32,  // scaled positions [pos_lo, pos_hi)
  pos_hi: u32,
  node0: u32,   // first node of the chunk in the node table
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> su: Scale;
@group(0) @binding(1) var<storage, read> s_a: array<f32>;          // (L, W) actual activation
@group(0) @binding(2) var<storage, read> s_base: array<f32>;       // (W) baseline per neuron
@group(0) @binding(3) var<storage, read> s_nodes: array<f32>;      // (K, 2) node table: alpha, weight
@group(0) @binding(4) var<storage, read_write> s_x: array<f32>;    // (M, L, W) scaled copies

@compute @workgroup_size(WG)
fn ig_scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let per_row = su.l * su.w;
  if (i >= su.m * per_row) { return; }
  let k = i / per_row;
  let lw = i % per_row;
  let pos = lw / su.w;
  let a = s_a[lw];
  if (pos < su.pos_lo || pos >= su.pos_hi) {
    s_x[i] = a;
    return;
  }
  let b = s_base[lw % su.w];
  s_x[i] = b + s_nodes[(su.node0 + k) * 2u] * (a - b);
}

// ig_scale four neurons per invocation (W a multiple of 4; su4.w is still W): a quarter of the
// invocations and their index arithmetic, which dominate this store-bound kernel on CPU adapters.
@group(0) @binding(0) var<uniform> su4: Scale;
@group(0) @binding(1) var<storage, read> s4_a: array<vec4<f32>>;        // (L, W / 4)
@group(0) @binding(2) var<storage, read> s4_base: array<vec4<f32>>;     // (W / 4)
@group(0) @binding(3) var<storage, read> s4_nodes: array<f32>;          // (K, 2)
@group(0) @binding(4) var<storage, read_write> s4_x: array<vec4<f32>>;  // (M, L, W / 4)

@compute @workgroup_size(WG)
fn ig_scale4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * WG;
  let w4 = su4.w / 4u;
  let per_row = su4.l * w4;
  if (j >= su4.m * per_row) { return; }
  let k = j / per_row;
  let lw = j % per_row;
  let pos = lw / w4;
  let a = s4_a[lw];
  if (pos < su4.pos_lo || pos >= su4.pos_hi) {
    s4_x[j] = a;
    return;
  }
  let b = s4_base[lw % w4];
  s4_x[j] = b + s4_nodes[(su4.node0 + k) * 2u] * (a - b);
}

struct Accumulate {
  m: u32,
  l: u32,
  w: u32,
  pos_lo: u32,
  pos_hi: u32,
  node0: u32,
  score_off: u32,  // element offset of this example's row and this (module, layer) in the score buffer
  reset: u32,      // 1: ex = c (first chunk), 0: ex += c
}

@group(0) @binding(0) var<uniform> au: Accumulate;
@group(0) @binding(1) var<storage, read> a_g: array<f32>;            // (M, L, W) d f / d x at each node
@group(0) @binding(2) var<storage, read> a_a: array<f32>;            // (L, W) actual activation
@group(0) @binding(3) var<storage, read> a_base: array<f32>;         // (W) baseline
@group(0) @binding(4) var<storage, read> a_nodes: array<f32>;        // (K, 2) node table
@group(0) @binding(5) var<storage, read_write> a_score: array<f32>;  // (R, N) scores, one row per example
@group(0) @binding(6) var<storage, read_write> a_ex: array<f32>;     // (W) this example's attribution

@compute @workgroup_size(WG)
fn ig_accumulate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  if (w >= au.w) { return; }
  let b = a_base[w];
  var c = 0.0;
  for (var pos = au.pos_lo; pos < au.pos_hi; pos++) {
    // The weighted sum over steps first: one multiply by (a - base) per position.
    var gk = 0.0;
    for (var k = 0u; k < au.m; k++) {
      gk += a_nodes[(au.node0 + k) * 2u + 1u] * a_g[(k * au.l + pos) * au.w + w];
    }
    c += (a_a[pos * au.w + w] - b) * gk;
  }
  a_score[au.score_off + w] += c;
  if (au.reset == 1u) {
    a_ex[w] = c;
  } else {
    a_ex[w] += c;
  }
}

struct Record {
  w: u32,
  stat: u32,      // stats row: (sum of attributions, f(x), f(baseline))
  px_index: u32,  // element of px holding f(x)
  pb_index: u32,  // element of pb holding f(baseline)
}

@group(0) @binding(0) var<uniform> ru: Record;
@group(0) @binding(1) var<storage, read> r_ex: array<f32>;            // (W) one example's attributions
@group(0) @binding(2) var<storage, read> r_px: array<f32>;            // (1, C) probabilities at x
@group(0) @binding(3) var<storage, read> r_pb: array<f32>;            // (M, C) probabilities of the baseline chunk
@group(0) @binding(4) var<storage, read_write> r_stats: array<f32>;   // (S, 3)

var<workgroup> partial: array<f32, WG>;

// One workgroup: a strided sum over W, then a tree reduction (WG is a power of two).
@compute @workgroup_size(WG)
fn ig_record(@builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  for (var w = lid.x; w < ru.w; w += WG) { s += r_ex[w]; }
  partial[lid.x] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half = half / 2u) {
    if (lid.x < half) { partial[lid.x] += partial[lid.x + half]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    r_stats[ru.stat * 3u] = partial[0];
    r_stats[ru.stat * 3u + 1u] = r_px[ru.px_index];
    r_stats[ru.stat * 3u + 2u] = r_pb[ru.pb_index];
  }
}

struct Sum {
  b: u32,
  l: u32,
  w: u32,
  n: u32,    // score row length (all neurons)
  off: u32,  // offset of this (module, layer) within a row
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> nu: Sum;
@group(0) @binding(1) var<storage, read> n_x: array<f32>;            // (B, L, W) module output
@group(0) @binding(2) var<storage, read> n_pw: array<f32>;           // (B, L) position weights
@group(0) @binding(3) var<storage, read> n_rows: array<i32>;         // (B) score row of each sequence
@group(0) @binding(4) var<storage, read_write> n_score: array<f32>;  // (R, N)

@compute @workgroup_size(WG)
fn neuron_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  if (w >= nu.w) { return; }
  for (var b = 0u; b < nu.b; b++) {
    var s = 0.0;
    for (var pos = 0u; pos < nu.l; pos++) {
      let p = n_pw[b * nu.l + pos];
      if (p != 0.0) {
        let v = n_x[(b * nu.l + pos) * nu.w + w];
        s += p * select(v, abs(v), ABS == 1u);
      }
    }
    let row = u32(n_rows[b]);
    n_score[row * nu.n + nu.off + w] += s;
  }
}
