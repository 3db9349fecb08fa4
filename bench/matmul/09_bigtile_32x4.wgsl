// 09: big register tile per lane: 32 rows x 4 contiguous columns, K unrolled by 4 so each accumulator
// is updated once per 4 products; a reaches every lane by subgroupShuffle from the lane that loaded it.
// Written with loops over the tile, which Mesa's NIR did not unroll (the shader has 16 multiplies, not
// 512): the accumulator array is indexed dynamically and lives in scratch memory. Lesson: write the
// register tile out. Lab only: subgroup size 8, K % 4 == 0.

enable subgroups;

struct Dims {
  m: u32,
  n: u32,
  k: u32,
  _pad: u32,
}

const TM: u32 = 32u;
const SG: u32 = 8u;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;        // (M, K)
@group(0) @binding(2) var<storage, read> b: array<f32>;        // (K, N)
@group(0) @binding(3) var<storage, read_write> c: array<f32>;  // (M, N)

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) li: u32) {
  let m0 = wid.y * TM;
  let n0 = wid.x * 32u + li * 4u;
  var cols: array<u32, 4>;
  for (var j = 0u; j < 4u; j++) {
    cols[j] = min(n0 + j, dims.n - 1u);
  }
  var rows: array<u32, 4>;
  for (var i = 0u; i < TM / SG; i++) {
    rows[i] = min(m0 + li + i * SG, dims.m - 1u) * dims.k;
  }
  var acc: array<vec4<f32>, TM>;
  for (var k = 0u; k < dims.k; k += 4u) {
    var bk: array<vec4<f32>, 4>;
    for (var kk = 0u; kk < 4u; kk++) {
      let row = (k + kk) * dims.n;
      bk[kk] = vec4<f32>(b[row + cols[0]], b[row + cols[1]], b[row + cols[2]], b[row + cols[3]]);
    }
    var mine: array<vec4<f32>, 4>;
    for (var i = 0u; i < TM / SG; i++) {
      mine[i] = vec4<f32>(a[rows[i] + k], a[rows[i] + k + 1u], a[rows[i] + k + 2u], a[rows[i] + k + 3u]);
    }
    for (var r = 0u; r < TM; r++) {
      let av = subgroupShuffle(mine[r / SG], r % SG);
      acc[r] += av.x * bk[0] + av.y * bk[1] + av.z * bk[2] + av.w * bk[3];
    }
  }
  for (var r = 0u; r < TM; r++) {
    let m = m0 + r;
    if (m < dims.m) {
      for (var j = 0u; j < 4u; j++) {
        if (n0 + j < dims.n) {
          c[m * dims.n + n0 + j] = acc[r][j];
        }
      }
    }
  }
}
