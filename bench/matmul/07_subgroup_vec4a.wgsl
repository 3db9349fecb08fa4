// 07: 06 with a read as one vec4 per lane (4 deep in K): one load feeds 32 broadcasts.
// Lab only: K % 4 == 0.

enable subgroups;

struct Dims {
  m: u32,
  n: u32,
  k: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;  // (M, K/4)
@group(0) @binding(2) var<storage, read> b: array<f32>;        // (K, N)
@group(0) @binding(3) var<storage, read_write> c: array<f32>;  // (M, N)

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * 8u;
  let n0 = wid.x * 16u + li;
  let k4 = dims.k / 4u;
  let arow = min(m0 + li, dims.m - 1u) * k4;
  let c0 = min(n0, dims.n - 1u);
  let c1 = min(n0 + 8u, dims.n - 1u);
  var acc0: array<f32, 8>;
  var acc1: array<f32, 8>;
  for (var k = 0u; k < k4; k++) {
    let mine = a[arow + k];
    for (var kk = 0u; kk < 4u; kk++) {
      let row = (k * 4u + kk) * dims.n;
      let b0 = b[row + c0];
      let b1 = b[row + c1];
      let v = mine[kk];
      var ar: array<f32, 8>;
      ar[0] = subgroupBroadcast(v, 0u);
      ar[1] = subgroupBroadcast(v, 1u);
      ar[2] = subgroupBroadcast(v, 2u);
      ar[3] = subgroupBroadcast(v, 3u);
      ar[4] = subgroupBroadcast(v, 4u);
      ar[5] = subgroupBroadcast(v, 5u);
      ar[6] = subgroupBroadcast(v, 6u);
      ar[7] = subgroupBroadcast(v, 7u);
      for (var i = 0u; i < 8u; i++) {
        acc0[i] = fma(ar[i], b0, acc0[i]);
        acc1[i] = fma(ar[i], b1, acc1[i]);
      }
    }
  }
  for (var i = 0u; i < 8u; i++) {
    if (m0 + i < dims.m) {
      if (n0 < dims.n) { c[(m0 + i) * dims.n + n0] = acc0[i]; }
      if (n0 + 8u < dims.n) { c[(m0 + i) * dims.n + n0 + 8u] = acc1[i]; }
    }
  }
}
