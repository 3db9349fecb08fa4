// 03: row panel. All invocations of a workgroup share TM rows of a, so a's addresses are uniform; the
// hope was one scalar load + broadcast for a and a gather only for b. Measured: no such luck. Mesa
// 25.0's lavapipe takes its uniform-load path only for addresses built from constants and push
// constants, never inside a loop, so every load here is still done lane by lane.
// Invocation i owns column n0 + i; no workgroup memory, no barriers.

struct Dims {
  m: u32,
  n: u32,
  k: u32,
  _pad: u32,
}

const TM: u32 = 8u;
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;        // (M, K)
@group(0) @binding(2) var<storage, read> b: array<f32>;        // (K, N)
@group(0) @binding(3) var<storage, read_write> c: array<f32>;  // (M, N)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * TM;
  let n = wid.x * WG + li;
  let nc = min(n, dims.n - 1u);
  var rows: array<u32, TM>;
  for (var i = 0u; i < TM; i++) {
    rows[i] = min(m0 + i, dims.m - 1u) * dims.k;
  }
  var acc: array<f32, TM>;
  for (var k = 0u; k < dims.k; k++) {
    let bv = b[k * dims.n + nc];
    for (var i = 0u; i < TM; i++) {
      acc[i] = fma(a[rows[i] + k], bv, acc[i]);
    }
  }
  if (n < dims.n) {
    for (var i = 0u; i < TM; i++) {
      if (m0 + i < dims.m) {
        c[(m0 + i) * dims.n + n] = acc[i];
      }
    }
  }
}
