// 02: classic GPU tiling (as tfjs): 64x64 output tile in a 16x16 workgroup, 4x4 per invocation,
// K steps of 16 staged through workgroup memory with two barriers per step.

struct Dims {
  m: u32,
  n: u32,
  k: u32,
  _pad: u32,
}

const TS: u32 = 64u;
const TK: u32 = 16u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;        // (M, K)
@group(0) @binding(2) var<storage, read> b: array<f32>;        // (K, N)
@group(0) @binding(3) var<storage, read_write> c: array<f32>;  // (M, N)

var<workgroup> a_tile: array<f32, 1024>;  // (TS=64 rows of M, TK=16 of K)
var<workgroup> b_tile: array<f32, 1024>;  // (TK=16 of K, TS=64 cols of N)

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * TS;
  let n0 = wid.x * TS;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < dims.k; k0 += TK) {
    for (var e = li; e < 1024u; e += 256u) {
      let am = e / TK;
      let ak = e % TK;
      let ga = select(0.0, a[min(m0 + am, dims.m - 1u) * dims.k + min(k0 + ak, dims.k - 1u)], k0 + ak < dims.k);
      a_tile[e] = ga;
      let bk = e / TS;
      let bn = e % TS;
      let gb = select(0.0, b[min(k0 + bk, dims.k - 1u) * dims.n + min(n0 + bn, dims.n - 1u)], k0 + bk < dims.k);
      b_tile[e] = gb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      var bv: array<f32, 4>;
      for (var j = 0u; j < 4u; j++) {
        bv[j] = b_tile[kk * TS + lid.x * 4u + j];
      }
      for (var i = 0u; i < 4u; i++) {
        let av = a_tile[(lid.y * 4u + i) * TK + kk];
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] = fma(av, bv[j], acc[i * 4u + j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + lid.y * 4u + i;
      let n = n0 + lid.x * 4u + j;
      if (m < dims.m && n < dims.n) {
        c[m * dims.n + n] = acc[i * 4u + j];
      }
    }
  }
}
