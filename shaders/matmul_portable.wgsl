// Portable batched matmul for adapters without the `subgroups` feature: the contract of matmul.wgsl
// (same uniforms, bindings 0-4 and 7, TRANS_A/B, HAS_BIAS and EPILOGUE overrides), the classic GPU tiling.
//   c (B, M, N) = epi(op(a) (B, M, K) . op(b) (B, K, N) + bias (N)), epi: identity, GELU or + res
//
// A workgroup of 8 x 8 invocations computes a 32 x 32 tile of c, 4 x 4 per invocation. K advances 16
// at a time: the workgroup stages a 32 x 16 panel of op(a) and a 16 x 32 panel of op(b) in workgroup
// memory (4 KiB), each invocation loading 8 values of each, then every invocation reads its 4 rows
// and 4 columns from there. This is the layout tfjs uses (variant 02 of bench/matmul/): on lavapipe it
// runs at about a tenth of matmul.wgsl's rate, so it exists for correctness where subgroups are
// missing, not for speed. Loads past M, N or K read 0; stores past M or N are skipped.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
// 0: c = product + bias; 1: c = gelu(product + bias); 2: c = product + bias + res.
override EPILOGUE: u32 = 0u;

// Tile edge (rows and columns of c per workgroup) and K depth of a staged panel.
const T: u32 = 32u;
const KT: u32 = 16u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  // 1: workgroup x walks row tiles; 0: x walks column tiles (as matmul.wgsl).
  rows_first: u32,
  batch_dims: vec4<u32>,
  a_batch: vec4<u32>,
  b_batch: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;        // (B, M, K), or (B, K, M) with TRANS_A
@group(0) @binding(2) var<storage, read> b: array<f32>;        // (B, K, N), or (B, N, K) with TRANS_B
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // (N); any read-only buffer when !HAS_BIAS
@group(0) @binding(4) var<storage, read_write> c: array<f32>;  // (B, M, N)
@group(0) @binding(7) var<storage, read> res: array<f32>;      // (B, M, N) added by EPILOGUE 2; else any buffer

var<workgroup> ta: array<f32, 512>;  // (T, KT) panel of op(a)
var<workgroup> tb: array<f32, 512>;  // (KT, T) panel of op(b)

// op(a)[row, kq], 0 outside (M, K).
fn a_val(base: u32, row: u32, kq: u32) -> f32 {
  if (row >= p.m || kq >= p.k) {
    return 0.0;
  }
  if (TRANS_A) {
    return a[base + kq * p.m + row];
  }
  return a[base + row * p.k + kq];
}

// op(b)[kq, col], 0 outside (K, N).
fn b_val(base: u32, kq: u32, col: u32) -> f32 {
  if (kq >= p.k || col >= p.n) {
    return 0.0;
  }
  if (TRANS_B) {
    return b[base + col * p.k + kq];
  }
  return b[base + kq * p.n + col];
}

const INV_SQRT2: f32 = 0.70710678118654752;

// erf with |error| < 1.2e-7, the same fit as elementwise.wgsl's (so fused and unfused GELU agree).
fn erf_f32(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let r = 1.0 - t * exp(poly);
  return select(-r, r, x >= 0.0);
}

fn store_row(base: u32, row: u32, n0: u32, v: vec4<f32>) {
  if (row >= p.m) {
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    let col = n0 + j;
    if (col < p.n) {
      var w = v[j];
      if (HAS_BIAS) {
        w += bias[col];
      }
      let o = base + row * p.n + col;
      if (EPILOGUE == 1u) {
        w = 0.5 * w * (1.0 + erf_f32(w * INV_SQRT2));
      } else if (EPILOGUE == 2u) {
        w += res[o];
      }
      c[o] = w;
    }
  }
}

@compute @workgroup_size(8, 8)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  var rest = wid.z;
  var a_base = 0u;
  var b_base = 0u;
  for (var d = 3; d >= 0; d--) {
    let coord = rest % p.batch_dims[d];
    rest /= p.batch_dims[d];
    a_base += coord * p.a_batch[d];
    b_base += coord * p.b_batch[d];
  }
  let rows_first = p.rows_first != 0u;
  let m0 = select(wid.y, wid.x, rows_first) * T;
  let n0 = select(wid.x, wid.y, rows_first) * T;
  let tr = lid.y * 4u;
  let tc = lid.x * 4u;

  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.k; k0 += KT) {
    for (var e = 0u; e < 8u; e++) {
      let i = li + 64u * e;
      ta[i] = a_val(a_base, m0 + i / KT, k0 + i % KT);
      tb[i] = b_val(b_base, k0 + i / T, n0 + i % T);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < KT; kk++) {
      let bv = vec4<f32>(tb[kk * T + tc], tb[kk * T + tc + 1u], tb[kk * T + tc + 2u], tb[kk * T + tc + 3u]);
      acc[0] += ta[tr * KT + kk] * bv;
      acc[1] += ta[(tr + 1u) * KT + kk] * bv;
      acc[2] += ta[(tr + 2u) * KT + kk] * bv;
      acc[3] += ta[(tr + 3u) * KT + kk] * bv;
    }
    workgroupBarrier();
  }

  let c_base = wid.z * p.m * p.n;
  for (var r = 0u; r < 4u; r++) {
    store_row(c_base, m0 + tr + r, n0 + tc, acc[r]);
  }
}
