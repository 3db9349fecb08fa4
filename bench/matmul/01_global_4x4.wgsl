// 01: 16x16 workgroup, 4x4 outputs per invocation, every operand read straight from global memory.
//
// Lab contract (all variants): c (M, N) = a (M, K) . b (K, N), shapes in `dims`, entry `main`.
// Grid: x over N tiles, y over M tiles (tile sizes in bench/matmul/variants.ts).

struct Dims {
  m: u32,
  n: u32,
  k: u32,
  _pad: u32,
}

const TM: u32 = 4u;
const TN: u32 = 4u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;        // (M, K)
@group(0) @binding(2) var<storage, read> b: array<f32>;        // (K, N)
@group(0) @binding(3) var<storage, read_write> c: array<f32>;  // (M, N)

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * TM;
  let n0 = gid.x * TN;
  var acc: array<f32, 16>;
  for (var k = 0u; k < dims.k; k++) {
    var bv: array<f32, 4>;
    for (var j = 0u; j < TN; j++) {
      bv[j] = b[k * dims.n + min(n0 + j, dims.n - 1u)];
    }
    for (var i = 0u; i < TM; i++) {
      let av = a[min(m0 + i, dims.m - 1u) * dims.k + k];
      for (var j = 0u; j < TN; j++) {
        acc[i * TN + j] = fma(av, bv[j], acc[i * TN + j]);
      }
    }
  }
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      if (m0 + i < dims.m && n0 + j < dims.n) {
        c[(m0 + i) * dims.n + n0 + j] = acc[i * TN + j];
      }
    }
  }
}
