// Batched matmul with either operand transposed, a fused bias and an optional fused epilogue:
//   c (B, M, N) = epi(op(a) (B, M, K) . op(b) (B, K, N) + bias (N)),
// epi = identity, exact GELU (a linear layer followed by its activation), or + res (B, M, N) (a
// residual connection). Epilogues serve inference (engine/ops/matmul.ts `fusedLinear`): they save a
// pass over c, which on lavapipe costs as much as a tenth of the product it follows.
// op(a) = a (B, M, K), or a (B, K, M) read transposed; op(b) = b (B, K, N), or b (B, N, K) read transposed.
// Shapes, batch strides and the tile order arrive in uniforms; TRANS_A/B, HAS_BIAS, VEC_A/B and the tile
// sizes are override constants, so one pipeline serves every shape of a given layout.
//
// Tiling. A workgroup computes TM rows x (4 WG) columns of c. Invocation i owns 4 adjacent columns and
// all TM rows: TM vec4 accumulators. K advances 4 at a time; each row's accumulator is updated once per
// step with 4 products (acc += a0 b0 + a1 b1 + a2 b2 + a3 b3). Every invocation needs the same values of
// a, so they are loaded once per subgroup and shared: lane g (g < RG) loads rows g, g + RG, ... (4 K
// values each), and subgroupShuffle hands row r to every lane. b is the per-lane operand.
//
// Why this shape (the lab is bench/matmul/, the numbers bench/README.md). On lavapipe (Mesa's CPU
// Vulkan driver) an invocation is one lane of an 8-wide SIMD register. Inside a loop every storage or
// workgroup-memory load is done lane by lane (a bounds check, a branch and an insert: ~5 cycles per
// lane), even when all lanes read the same address, while a subgroup shuffle is one vpermps. So the
// kernel minimises loads per multiply: a is loaded once per subgroup instead of once per lane, a tall
// tile (32 rows) reuses each b value 32 times, and vec4 loads cut the per-load overhead where the
// contiguous dim allows. The 128 accumulators spill to the stack; an L1 load and store per 4 products
// is far cheaper than a load of a or b. Workgroup memory would not help (its loads are also per lane,
// and barriers split the shader into coroutines). The register tile is written out because Mesa does
// not unroll a 32-iteration loop over it, and a dynamically indexed array lives in scratch memory.
// Bounds: rows and columns past M, N are clamped on load and skipped on store; K steps past K read 0.
//
// History (GFLOP per CPU-second at 1024^3, bench/README.md has the full tables):
//   01 4x4 tile, global loads 2.4 | 02 workgroup-memory 64x64 tiles 1.6 | 03 uniform a addresses 1.2
//   (loads stay per lane) | 04 vec4 loads 3.0 | 05 a shared by subgroupBroadcast 7.0 | 06-08 other small
//   tiles 3.8-6.0 | 09 32x4 tile in loops 3.2 (not unrolled) | 10 32x4 written out 10.3 | 11 + vec4
//   loads 13.0 | promoted 14.0: 11 with transposes (vec4 along the contiguous dim of each layout), bias,
//   batch broadcast, any M/N/K, subgroups of 4+ lanes via RG, and row tiles walked first when b's rows
//   are a multiple of 8 KiB apart (cache-set conflicts: +25% at N = 2048).

enable subgroups;

// Invocations per workgroup; each owns 4 adjacent columns of c.
override WG: u32 = 8u;
// Rows of c per workgroup: 8, 16, 24 or 32.
override TM: u32 = 32u;
// Lanes of a subgroup that share the loading of a's rows (8; 4 where subgroups have 4 lanes).
override RG: u32 = 8u;
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
// vec4 loads (a4, b4) instead of scalar ones; set when the operand's contiguous dim is a multiple of 4.
override VEC_A: bool = false;
override VEC_B: bool = false;
// K is a multiple of 4: every 4-step of K is whole, so b's rows need no clamp (the dX = dY . W case).
override K4: bool = false;
// 0: c = product + bias; 1: c = gelu(product + bias); 2: c = product + bias + res.
override EPILOGUE: u32 = 0u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  // 1: workgroup x walks row tiles (consecutive workgroups share a panel of b); 0: x walks column tiles.
  rows_first: u32,
  // Output batch dims (up to 4, innermost last, unused ones 1) and the element strides of a and b per
  // batch dim (0 where that operand broadcasts).
  batch_dims: vec4<u32>,
  a_batch: vec4<u32>,
  b_batch: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;        // (B, M, K), or (B, K, M) with TRANS_A
@group(0) @binding(2) var<storage, read> b: array<f32>;        // (B, K, N), or (B, N, K) with TRANS_B
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // (N); any read-only buffer when !HAS_BIAS
@group(0) @binding(4) var<storage, read_write> c: array<f32>;  // (B, M, N)
@group(0) @binding(5) var<storage, read> a4: array<vec4<f32>>; // a again, 4 elements per item
@group(0) @binding(6) var<storage, read> b4: array<vec4<f32>>; // b again, 4 elements per item
@group(0) @binding(7) var<storage, read> res: array<f32>;      // (B, M, N) added by EPILOGUE 2; else any buffer

const INV_SQRT2: f32 = 0.70710678118654752;

// erf with |error| < 1.2e-7, the same fit as elementwise.wgsl's (so fused and unfused GELU agree).
fn erf_f32(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let r = 1.0 - t * exp(poly);
  return select(-r, r, x >= 0.0);
}

// The epilogue of one output value at flat index o.
fn epilogue(w: f32, o: u32) -> f32 {
  if (EPILOGUE == 1u) {
    return 0.5 * w * (1.0 + erf_f32(w * INV_SQRT2));
  }
  if (EPILOGUE == 2u) {
    return w + res[o];
  }
  return w;
}

// Element of op(a) at (row, kq); kq is clamped so reads past K stay in bounds (callers zero them).
fn a_at(base: u32, row: u32, kq: u32) -> f32 {
  let kc = min(kq, p.k - 1u);
  if (TRANS_A) {
    return a[base + kc * p.m + row];
  }
  return a[base + row * p.k + kc];
}

// The values of a this lane holds for K steps k..k+3, in slots that row_values() reads back.
// Scalar loads and !TRANS_A vec4: slot i = row g + i RG, its 4 K values.
// TRANS_A vec4: slots 4s..4s+3 = rows 4 RG s + 4 g .. + 3 (a vec4 along M) at K steps k..k+3.
fn load_a(held: ptr<function, array<vec4<f32>, 8>>, base: u32, m0: u32, g: u32, k: u32) {
  let ml = p.m - 1u;
  let live = k + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.k);
  if (VEC_A && TRANS_A) {
    let kl = p.k - 1u;
    for (var s = 0u; s < (TM + 4u * RG - 1u) / (4u * RG); s++) {
      let q = (base + min(m0 + 4u * (RG * s + g), ml - 3u)) / 4u;
      let stride = p.m / 4u;
      (*held)[4u * s] = select(vec4<f32>(0.0), a4[q + min(k, kl) * stride], live.x);
      (*held)[4u * s + 1u] = select(vec4<f32>(0.0), a4[q + min(k + 1u, kl) * stride], live.y);
      (*held)[4u * s + 2u] = select(vec4<f32>(0.0), a4[q + min(k + 2u, kl) * stride], live.z);
      (*held)[4u * s + 3u] = select(vec4<f32>(0.0), a4[q + min(k + 3u, kl) * stride], live.w);
    }
    return;
  }
  for (var i = 0u; i < TM / RG; i++) {
    let row = min(m0 + g + i * RG, ml);
    if (VEC_A) {
      (*held)[i] = a4[(base + row * p.k + k) / 4u];
    } else {
      let v = vec4<f32>(a_at(base, row, k), a_at(base, row, k + 1u), a_at(base, row, k + 2u), a_at(base, row, k + 3u));
      (*held)[i] = select(vec4<f32>(0.0), v, live);
    }
  }
}

// Row r's 4 K values, fetched from the lane of this subgroup that loaded them.
fn row_values(held: ptr<function, array<vec4<f32>, 8>>, r: u32) -> vec4<f32> {
  if (VEC_A && TRANS_A) {
    let s = 4u * (r / (4u * RG));
    let lane = (r / 4u) % RG;
    let e = r % 4u;
    return vec4<f32>(subgroupShuffle((*held)[s][e], lane), subgroupShuffle((*held)[s + 1u][e], lane),
                     subgroupShuffle((*held)[s + 2u][e], lane), subgroupShuffle((*held)[s + 3u][e], lane));
  }
  return subgroupShuffle((*held)[r / RG], r % RG);
}

fn b_at(base: u32, kq: u32, col: u32) -> f32 {
  let kc = min(kq, p.k - 1u);
  if (TRANS_B) {
    return b[base + col * p.k + kc];
  }
  return b[base + kc * p.n + col];
}

// Rows k..k+3 of op(b) at this lane's 4 columns, zero past K (so a clamped read never meets an Inf).
fn load_b(bk: ptr<function, array<vec4<f32>, 4>>, base: u32, k: u32, cols: vec4<u32>) {
  if (VEC_B && TRANS_B) {
    // K is a multiple of 4 here: one vec4 per column holds its 4 K values; transpose in registers.
    let c0 = b4[(base + cols.x * p.k + k) / 4u];
    let c1 = b4[(base + cols.y * p.k + k) / 4u];
    let c2 = b4[(base + cols.z * p.k + k) / 4u];
    let c3 = b4[(base + cols.w * p.k + k) / 4u];
    (*bk)[0] = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
    (*bk)[1] = vec4<f32>(c0.y, c1.y, c2.y, c3.y);
    (*bk)[2] = vec4<f32>(c0.z, c1.z, c2.z, c3.z);
    (*bk)[3] = vec4<f32>(c0.w, c1.w, c2.w, c3.w);
    return;
  }
  if (VEC_B && K4) {
    // N and K multiples of 4: four aligned rows, no clamping.
    let r0 = (base + k * p.n + cols.x) / 4u;
    let rn = p.n / 4u;
    (*bk)[0] = b4[r0];
    (*bk)[1] = b4[r0 + rn];
    (*bk)[2] = b4[r0 + 2u * rn];
    (*bk)[3] = b4[r0 + 3u * rn];
    return;
  }
  for (var kk = 0u; kk < 4u; kk++) {
    let kq = k + kk;
    var v: vec4<f32>;
    if (VEC_B) {
      // N is a multiple of 4, so the clamped columns are one aligned group.
      v = b4[(base + min(kq, p.k - 1u) * p.n + cols.x) / 4u];
    } else {
      v = vec4<f32>(b_at(base, kq, cols.x), b_at(base, kq, cols.y), b_at(base, kq, cols.z), b_at(base, kq, cols.w));
    }
    (*bk)[kk] = select(vec4<f32>(0.0), v, kq < p.k);
  }
}

// acc += row r of op(a) (4 K values) times rows k..k+3 of op(b).
fn mac(held: ptr<function, array<vec4<f32>, 8>>, bk: ptr<function, array<vec4<f32>, 4>>, r: u32) -> vec4<f32> {
  let av = row_values(held, r);
  return av.x * (*bk)[0] + av.y * (*bk)[1] + av.z * (*bk)[2] + av.w * (*bk)[3];
}

fn store_row(base: u32, row: u32, n0: u32, v: vec4<f32>, bv: vec4<f32>) {
  if (row >= p.m) {
    return;
  }
  let o = base + row * p.n + n0;
  let w = v + bv;
  if (n0 < p.n) { c[o] = epilogue(w.x, o); }
  if (n0 + 1u < p.n) { c[o + 1u] = epilogue(w.y, o + 1u); }
  if (n0 + 2u < p.n) { c[o + 2u] = epilogue(w.z, o + 2u); }
  if (n0 + 3u < p.n) { c[o + 3u] = epilogue(w.w, o + 3u); }
}

@compute @workgroup_size(WG)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
          @builtin(subgroup_invocation_id) sid: u32) {
  // Batch offsets: decompose the batch index over up to 4 dims.
  var rest = wid.z;
  var a_base = 0u;
  var b_base = 0u;
  for (var d = 3; d >= 0; d--) {
    let coord = rest % p.batch_dims[d];
    rest /= p.batch_dims[d];
    a_base += coord * p.a_batch[d];
    b_base += coord * p.b_batch[d];
  }
  let c_base = wid.z * p.m * p.n;

  let rows_first = p.rows_first != 0u;
  let m0 = select(wid.y, wid.x, rows_first) * TM;
  let n0 = (select(wid.x, wid.y, rows_first) * WG + lid) * 4u;
  let nl = p.n - 1u;
  // Columns past N are clamped (computed, not stored); with VEC_B the whole group moves to N - 4.
  var cols = vec4<u32>(min(n0, nl), min(n0 + 1u, nl), min(n0 + 2u, nl), min(n0 + 3u, nl));
  if (VEC_B && !TRANS_B) {
    cols = vec4<u32>(min(n0, p.n - 4u)) + vec4<u32>(0u, 1u, 2u, 3u);
  }
  let g = sid % RG;

  var acc: array<vec4<f32>, 32>;
  var held: array<vec4<f32>, 8>;
  var bk: array<vec4<f32>, 4>;
  for (var k = 0u; k < p.k; k += 4u) {
    load_b(&bk, b_base, k, cols);
    load_a(&held, a_base, m0, g, k);
    // The TM conditions fold away at pipeline creation.
    acc[0] += mac(&held, &bk, 0u);
    acc[1] += mac(&held, &bk, 1u);
    acc[2] += mac(&held, &bk, 2u);
    acc[3] += mac(&held, &bk, 3u);
    acc[4] += mac(&held, &bk, 4u);
    acc[5] += mac(&held, &bk, 5u);
    acc[6] += mac(&held, &bk, 6u);
    acc[7] += mac(&held, &bk, 7u);
    if (TM > 8u) {
      acc[8] += mac(&held, &bk, 8u);
      acc[9] += mac(&held, &bk, 9u);
      acc[10] += mac(&held, &bk, 10u);
      acc[11] += mac(&held, &bk, 11u);
      acc[12] += mac(&held, &bk, 12u);
      acc[13] += mac(&held, &bk, 13u);
      acc[14] += mac(&held, &bk, 14u);
      acc[15] += mac(&held, &bk, 15u);
    }
    if (TM > 16u) {
      acc[16] += mac(&held, &bk, 16u);
      acc[17] += mac(&held, &bk, 17u);
      acc[18] += mac(&held, &bk, 18u);
      acc[19] += mac(&held, &bk, 19u);
      acc[20] += mac(&held, &bk, 20u);
      acc[21] += mac(&held, &bk, 21u);
      acc[22] += mac(&held, &bk, 22u);
      acc[23] += mac(&held, &bk, 23u);
    }
    if (TM > 24u) {
      acc[24] += mac(&held, &bk, 24u);
      acc[25] += mac(&held, &bk, 25u);
      acc[26] += mac(&held, &bk, 26u);
      acc[27] += mac(&held, &bk, 27u);
      acc[28] += mac(&held, &bk, 28u);
      acc[29] += mac(&held, &bk, 29u);
      acc[30] += mac(&held, &bk, 30u);
      acc[31] += mac(&held, &bk, 31u);
    }
  }

  var bv = vec4<f32>(0.0);
  if (HAS_BIAS) {
    bv = vec4<f32>(bias[min(n0, nl)], bias[min(n0 + 1u, nl)], bias[min(n0 + 2u, nl)], bias[min(n0 + 3u, nl)]);
  }
  store_row(c_base, m0, n0, acc[0], bv);
  store_row(c_base, m0 + 1u, n0, acc[1], bv);
  store_row(c_base, m0 + 2u, n0, acc[2], bv);
  store_row(c_base, m0 + 3u, n0, acc[3], bv);
  store_row(c_base, m0 + 4u, n0, acc[4], bv);
  store_row(c_base, m0 + 5u, n0, acc[5], bv);
  store_row(c_base, m0 + 6u, n0, acc[6], bv);
  store_row(c_base, m0 + 7u, n0, acc[7], bv);
  if (TM > 8u) {
    store_row(c_base, m0 + 8u, n0, acc[8], bv);
    store_row(c_base, m0 + 9u, n0, acc[9], bv);
    store_row(c_base, m0 + 10u, n0, acc[10], bv);
    store_row(c_base, m0 + 11u, n0, acc[11], bv);
    store_row(c_base, m0 + 12u, n0, acc[12], bv);
    store_row(c_base, m0 + 13u, n0, acc[13], bv);
    store_row(c_base, m0 + 14u, n0, acc[14], bv);
    store_row(c_base, m0 + 15u, n0, acc[15], bv);
  }
  if (TM > 16u) {
    store_row(c_base, m0 + 16u, n0, acc[16], bv);
    store_row(c_base, m0 + 17u, n0, acc[17], bv);
    store_row(c_base, m0 + 18u, n0, acc[18], bv);
    store_row(c_base, m0 + 19u, n0, acc[19], bv);
    store_row(c_base, m0 + 20u, n0, acc[20], bv);
    store_row(c_base, m0 + 21u, n0, acc[21], bv);
    store_row(c_base, m0 + 22u, n0, acc[22], bv);
    store_row(c_base, m0 + 23u, n0, acc[23], bv);
  }
  if (TM > 24u) {
    store_row(c_base, m0 + 24u, n0, acc[24], bv);
    store_row(c_base, m0 + 25u, n0, acc[25], bv);
    store_row(c_base, m0 + 26u, n0, acc[26], bv);
    store_row(c_base, m0 + 27u, n0, acc[27], bv);
    store_row(c_base, m0 + 28u, n0, acc[28], bv);
    store_row(c_base, m0 + 29u, n0, acc[29], bv);
    store_row(c_base, m0 + 30u, n0, acc[30], bv);
    store_row(c_base, m0 + 31u, n0, acc[31], bv);
  }
}
