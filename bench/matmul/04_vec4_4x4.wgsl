// 04: 01 with vec4 loads: a read 4 deep along K, b 4 wide along N (lab only: needs K, N % 4 == 0).

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

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n4 = gid.x;
  let k4 = dims.k / 4u;
  let n4s = dims.n / 4u;
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < k4; k++) {
    var av: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i++) {
      av[i] = a[min(m0 + i, dims.m - 1u) * k4 + k];
    }
    for (var kk = 0u; kk < 4u; kk++) {
      let bv = b[(k * 4u + kk) * n4s + min(n4, n4s - 1u)];
      for (var i = 0u; i < 4u; i++) {
        acc[i] = fma(vec4<f32>(av[i][kk]), bv, acc[i]);
      }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    if (m0 + i < dims.m && n4 < n4s) {
      c[(m0 + i) * n4s + n4] = acc[i];
    }
  }
}
