// 05: one subgroup (8 lanes) per workgroup covers 8 rows x 32 columns. Each lane loads one vec4 of
// its own row of a (4 deep in K) and subgroupBroadcast hands every row to every lane; b is read as
// one vec4 (4 columns) per lane per k. Lab only: K, N % 4 == 0 and subgroup size 8.
enable subgroups;

struct Dims {
  m: u32,
  n: u32,
  k: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;        // (M, K/4)
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;        // (K, N/4)
@group(0) @binding(3) var<storage, read_write> c: array<vec4<f32>>;  // (M, N/4)

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m0 = wid.y * 8u;
  let n4 = wid.x * 8u + li;
  let k4 = dims.k / 4u;
  let n4s = dims.n / 4u;
  let arow = min(m0 + li, dims.m - 1u) * k4;
  let bcol = min(n4, n4s - 1u);
  var acc: array<vec4<f32>, 8>;
  for (var k = 0u; k < k4; k++) {
    let mine = a[arow + k];
    var ar: array<vec4<f32>, 8>;
    ar[0] = subgroupBroadcast(mine, 0u);
    ar[1] = subgroupBroadcast(mine, 1u);
    ar[2] = subgroupBroadcast(mine, 2u);
    ar[3] = subgroupBroadcast(mine, 3u);
    ar[4] = subgroupBroadcast(mine, 4u);
    ar[5] = subgroupBroadcast(mine, 5u);
    ar[6] = subgroupBroadcast(mine, 6u);
    ar[7] = subgroupBroadcast(mine, 7u);
    for (var kk = 0u; kk < 4u; kk++) {
      let bv = b[(k * 4u + kk) * n4s + bcol];
      for (var i = 0u; i < 8u; i++) {
        acc[i] = fma(vec4<f32>(ar[i][kk]), bv, acc[i]);
      }
    }
  }
  for (var i = 0u; i < 8u; i++) {
    if (m0 + i < dims.m && n4 < n4s) {
      c[(m0 + i) * n4s + n4] = acc[i];
    }
  }
}
