// 08: 4 rows x 4 contiguous columns per lane (b as one vec4 per k). a as one vec4 per lane covering
// 4 rows x 8 k (lanes 0-3: rows 0-3 at k..k+3, lanes 4-7: k+4..k+7), shared by broadcasts.
// Lab only: K % 8 == 0, N % 4 == 0.

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
  let m0 = wid.y * 4u;
  let n4 = wid.x * 8u + li;
  let k4 = dims.k / 4u;
  let n4s = dims.n / 4u;
  let arow = min(m0 + (li & 3u), dims.m - 1u) * k4 + (li >> 2u);
  let bcol = min(n4, n4s - 1u);
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < k4; k += 2u) {
    let mine = a[arow + k];
    for (var h = 0u; h < 2u; h++) {
      for (var kk = 0u; kk < 4u; kk++) {
        let bv = b[(k * 4u + h * 4u + kk) * n4s + bcol];
        let v = mine[kk];
        var ar: array<f32, 4>;
        if (h == 0u) {
          ar[0] = subgroupBroadcast(v, 0u);
          ar[1] = subgroupBroadcast(v, 1u);
          ar[2] = subgroupBroadcast(v, 2u);
          ar[3] = subgroupBroadcast(v, 3u);
        } else {
          ar[0] = subgroupBroadcast(v, 4u);
          ar[1] = subgroupBroadcast(v, 5u);
          ar[2] = subgroupBroadcast(v, 6u);
          ar[3] = subgroupBroadcast(v, 7u);
        }
        for (var i = 0u; i < 4u; i++) {
          acc[i] = fma(vec4<f32>(ar[i]), bv, acc[i]);
        }
      }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    if (m0 + i < dims.m && n4 < n4s) {
      c[(m0 + i) * n4s + n4] = acc[i];
    }
  }
}
