// 06: 05 sized for the register file: 8 rows x 2 columns per lane (16 accumulators). Each lane loads
// its own row's a[m][k] (scalar) and 8 subgroupBroadcasts share it; b is 2 scalar loads per k.

enable subgroups;

struct Dims {
  m: u32,
  n: u32,
  k: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;        // (M, K)
@group(0) @binding(2) var<storage, read> b: array<f32>;        // (K, N)
@group(0) @binding(3) var<storage, read_write> c: array<f32>;  // (M, N)

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * 8u;
  let n0 = wid.x * 16u + li;
  let arow = min(m0 + li, dims.m - 1u) * dims.k;
  let c0 = min(n0, dims.n - 1u);
  let c1 = min(n0 + 8u, dims.n - 1u);
  var acc0: array<f32, 8>;
  var acc1: array<f32, 8>;
  for (var k = 0u; k < dims.k; k++) {
    let mine = a[arow + k];
    let b0 = b[k * dims.n + c0];
    let b1 = b[k * dims.n + c1];
    var ar: array<f32, 8>;
    ar[0] = subgroupBroadcast(mine, 0u);
    ar[1] = subgroupBroadcast(mine, 1u);
    ar[2] = subgroupBroadcast(mine, 2u);
    ar[3] = subgroupBroadcast(mine, 3u);
    ar[4] = subgroupBroadcast(mine, 4u);
    ar[5] = subgroupBroadcast(mine, 5u);
    ar[6] = subgroupBroadcast(mine, 6u);
    ar[7] = subgroupBroadcast(mine, 7u);
    for (var i = 0u; i < 8u; i++) {
      acc0[i] = fma(ar[i], b0, acc0[i]);
      acc1[i] = fma(ar[i], b1, acc1[i]);
    }
  }
  for (var i = 0u; i < 8u; i++) {
    if (m0 + i < dims.m) {
      if (n0 < dims.n) { c[(m0 + i) * dims.n + n0] = acc0[i]; }
      if (n0 + 8u < dims.n) { c[(m0 + i) * dims.n + n0 + 8u] = acc1[i]; }
    }
  }
}
