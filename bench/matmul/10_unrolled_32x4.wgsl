// 10: 32 rows x 4 columns per lane written out by hand (no loops over the register tile, so every
// accumulator is a named value; the 09 loops were not unrolled). a via subgroupShuffle from lane r % 8,
// K by 4, scalar loads. Lab only: K % 4 == 0, subgroup size 8.

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

fn b_row(k: u32, n0: u32) -> vec4<f32> {
  let row = k * dims.n;
  let nl = dims.n - 1u;
  return vec4<f32>(b[row + min(n0, nl)], b[row + min(n0 + 1u, nl)], b[row + min(n0 + 2u, nl)], b[row + min(n0 + 3u, nl)]);
}

fn a_run(m: u32, k: u32) -> vec4<f32> {
  let o = min(m, dims.m - 1u) * dims.k + k;
  return vec4<f32>(a[o], a[o + 1u], a[o + 2u], a[o + 3u]);
}

// Row r of a (4 K values, held by lane r % 8) times the 4 rows of b.
fn mac(held: vec4<f32>, lane: u32, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
  let av = subgroupShuffle(held, lane);
  return av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
}

fn store_row(row: u32, n0: u32, v: vec4<f32>) {
  if (row < dims.m) {
    for (var j = 0u; j < 4u; j++) {
      if (n0 + j < dims.n) {
        c[row * dims.n + n0 + j] = v[j];
      }
    }
  }
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) li: u32) {
  let m0 = wid.y * 32u;
  let n0 = wid.x * 32u + li * 4u;
  var acc: array<vec4<f32>, 32>;
  var held: array<vec4<f32>, 4>;
  for (var k = 0u; k < dims.k; k += 4u) {
    let b0 = b_row(k, n0);
    let b1 = b_row(k + 1u, n0);
    let b2 = b_row(k + 2u, n0);
    let b3 = b_row(k + 3u, n0);
    held[0] = a_run(m0 + li, k);
    held[1] = a_run(m0 + li + 8u, k);
    held[2] = a_run(m0 + li + 16u, k);
    held[3] = a_run(m0 + li + 24u, k);
    acc[0] += mac(held[0], 0u, b0, b1, b2, b3);
    acc[1] += mac(held[0], 1u, b0, b1, b2, b3);
    acc[2] += mac(held[0], 2u, b0, b1, b2, b3);
    acc[3] += mac(held[0], 3u, b0, b1, b2, b3);
    acc[4] += mac(held[0], 4u, b0, b1, b2, b3);
    acc[5] += mac(held[0], 5u, b0, b1, b2, b3);
    acc[6] += mac(held[0], 6u, b0, b1, b2, b3);
    acc[7] += mac(held[0], 7u, b0, b1, b2, b3);
    acc[8] += mac(held[1], 0u, b0, b1, b2, b3);
    acc[9] += mac(held[1], 1u, b0, b1, b2, b3);
    acc[10] += mac(held[1], 2u, b0, b1, b2, b3);
    acc[11] += mac(held[1], 3u, b0, b1, b2, b3);
    acc[12] += mac(held[1], 4u, b0, b1, b2, b3);
    acc[13] += mac(held[1], 5u, b0, b1, b2, b3);
    acc[14] += mac(held[1], 6u, b0, b1, b2, b3);
    acc[15] += mac(held[1], 7u, b0, b1, b2, b3);
    acc[16] += mac(held[2], 0u, b0, b1, b2, b3);
    acc[17] += mac(held[2], 1u, b0, b1, b2, b3);
    acc[18] += mac(held[2], 2u, b0, b1, b2, b3);
    acc[19] += mac(held[2], 3u, b0, b1, b2, b3);
    acc[20] += mac(held[2], 4u, b0, b1, b2, b3);
    acc[21] += mac(held[2], 5u, b0, b1, b2, b3);
    acc[22] += mac(held[2], 6u, b0, b1, b2, b3);
    acc[23] += mac(held[2], 7u, b0, b1, b2, b3);
    acc[24] += mac(held[3], 0u, b0, b1, b2, b3);
    acc[25] += mac(held[3], 1u, b0, b1, b2, b3);
    acc[26] += mac(held[3], 2u, b0, b1, b2, b3);
    acc[27] += mac(held[3], 3u, b0, b1, b2, b3);
    acc[28] += mac(held[3], 4u, b0, b1, b2, b3);
    acc[29] += mac(held[3], 5u, b0, b1, b2, b3);
    acc[30] += mac(held[3], 6u, b0, b1, b2, b3);
    acc[31] += mac(held[3], 7u, b0, b1, b2, b3);
  }
  store_row(m0 + 0u, n0, acc[0]);
  store_row(m0 + 1u, n0, acc[1]);
  store_row(m0 + 2u, n0, acc[2]);
  store_row(m0 + 3u, n0, acc[3]);
  store_row(m0 + 4u, n0, acc[4]);
  store_row(m0 + 5u, n0, acc[5]);
  store_row(m0 + 6u, n0, acc[6]);
  store_row(m0 + 7u, n0, acc[7]);
  store_row(m0 + 8u, n0, acc[8]);
  store_row(m0 + 9u, n0, acc[9]);
  store_row(m0 + 10u, n0, acc[10]);
  store_row(m0 + 11u, n0, acc[11]);
  store_row(m0 + 12u, n0, acc[12]);
  store_row(m0 + 13u, n0, acc[13]);
  store_row(m0 + 14u, n0, acc[14]);
  store_row(m0 + 15u, n0, acc[15]);
  store_row(m0 + 16u, n0, acc[16]);
  store_row(m0 + 17u, n0, acc[17]);
  store_row(m0 + 18u, n0, acc[18]);
  store_row(m0 + 19u, n0, acc[19]);
  store_row(m0 + 20u, n0, acc[20]);
  store_row(m0 + 21u, n0, acc[21]);
  store_row(m0 + 22u, n0, acc[22]);
  store_row(m0 + 23u, n0, acc[23]);
  store_row(m0 + 24u, n0, acc[24]);
  store_row(m0 + 25u, n0, acc[25]);
  store_row(m0 + 26u, n0, acc[26]);
  store_row(m0 + 27u, n0, acc[27]);
  store_row(m0 + 28u, n0, acc[28]);
  store_row(m0 + 29u, n0, acc[29]);
  store_row(m0 + 30u, n0, acc[30]);
  store_row(m0 + 31u, n0, acc[31]);
}
