// Elementwise ops: unary maps with their fused backward, and binary ops with broadcasting.
//
// OP selects the function (an override constant, so each op is its own pipeline and the switch folds
// away); shapes arrive in uniforms. Grids may be 2-D when n exceeds 65535 workgroups: the linear index
// is gid.x + gid.y * (num_workgroups.x * WG).
//
// Unary codes: 0 neg, 1 exp, 2 log, 3 sqrt, 4 rsqrt, 5 tanh, 6 gelu (exact erf), 7 relu, 8 sigmoid,
// 9 square, 10 pow (alpha = exponent), 11 affine (alpha * x + beta).
// Binary codes: 0 add, 1 sub, 2 mul, 3 div.

override WG: u32 = 256;
override OP: u32 = 0;

struct Unary {
  n: u32,
  alpha: f32,
  beta: f32,
  _pad: u32,
}

// Broadcast binary: out has `rank` dims; a and b are read through strides (0 on broadcast axes).
struct Binary {
  n: u32,
  rank: u32,
  _pad0: u32,
  _pad1: u32,
  dims: array<vec4<u32>, 2>,      // out shape, up to 8 axes
  a_strides: array<vec4<u32>, 2>, // element strides of a, 0 where a broadcasts
  b_strides: array<vec4<u32>, 2>,
}

const INV_SQRT2: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268;

// erf with |error| < 1.2e-7 (Chebyshev fit of erfc, Numerical Recipes' erfcc): exact-erf GELU in f32.
fn erf_f32(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let r = 1.0 - t * exp(poly);
  return select(-r, r, x >= 0.0);
}

// x^a for any sign of x when a is an integer (WGSL pow is undefined for x < 0).
fn pow_signed(x: f32, a: f32) -> f32 {
  let m = pow(abs(x), a);
  let odd = a == floor(a) && (i32(a) & 1) == 1;
  return select(m, -m, x < 0.0 && odd);
}

fn unary_f(x: f32, alpha: f32, beta: f32) -> f32 {
  switch OP {
    case 0u: { return -x; }
    case 1u: { return exp(x); }
    case 2u: { return log(x); }
    case 3u: { return sqrt(x); }
    case 4u: { return inverseSqrt(x); }
    case 5u: { return tanh(x); }
    case 6u: { return 0.5 * x * (1.0 + erf_f32(x * INV_SQRT2)); }
    case 7u: { return max(x, 0.0); }
    case 8u: { return 1.0 / (1.0 + exp(-x)); }
    case 9u: { return x * x; }
    case 10u: { return pow_signed(x, alpha); }
    default: { return alpha * x + beta; }
  }
}

// d f / d x, given the input x and the output y = f(x).
fn unary_df(x: f32, y: f32, alpha: f32) -> f32 {
  switch OP {
    case 0u: { return -1.0; }
    case 1u: { return y; }
    case 2u: { return 1.0 / x; }
    case 3u: { return 0.5 / y; }
    case 4u: { return -0.5 * y * y * y; }
    case 5u: { return 1.0 - y * y; }
    case 6u: { return 0.5 * (1.0 + erf_f32(x * INV_SQRT2)) + x * INV_SQRT_2PI * exp(-0.5 * x * x); }
    case 7u: { return select(0.0, 1.0, x > 0.0); }
    case 8u: { return y * (1.0 - y); }
    case 9u: { return 2.0 * x; }
    case 10u: { return alpha * pow_signed(x, alpha - 1.0); }
    default: { return alpha; }
  }
}

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@group(0) @binding(0) var<uniform> u: Unary;
@group(0) @binding(1) var<storage, read> ux: array<f32>;        // (n) input
@group(0) @binding(2) var<storage, read_write> uy: array<f32>;  // (n) output

@compute @workgroup_size(WG)
fn unary_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= u.n) { return; }
  uy[i] = unary_f(ux[i], u.alpha, u.beta);
}

@group(0) @binding(0) var<uniform> ub: Unary;
@group(0) @binding(1) var<storage, read> bx: array<f32>;         // (n) forward input x
@group(0) @binding(2) var<storage, read> by: array<f32>;         // (n) forward output y
@group(0) @binding(3) var<storage, read> d_y: array<f32>;        // (n) upstream gradient
@group(0) @binding(4) var<storage, read_write> d_x: array<f32>;  // (n) gradient of x

@compute @workgroup_size(WG)
fn unary_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= ub.n) { return; }
  d_x[i] = d_y[i] * unary_df(bx[i], by[i], ub.alpha);
}

// Four elements per invocation (n a multiple of 4): on CPU adapters (lavapipe) the per-invocation cost
// dominates these memory-light kernels, and vec4 loads halve it (measured 2x on 344k elements).
@group(0) @binding(0) var<uniform> u4: Unary;                          // n: vec4 count
@group(0) @binding(1) var<storage, read> ux4: array<vec4<f32>>;        // (n) input
@group(0) @binding(2) var<storage, read_write> uy4: array<vec4<f32>>;  // (n) output

fn unary_f4(x: vec4<f32>, alpha: f32, beta: f32) -> vec4<f32> {
  return vec4<f32>(unary_f(x.x, alpha, beta), unary_f(x.y, alpha, beta), unary_f(x.z, alpha, beta), unary_f(x.w, alpha, beta));
}

@compute @workgroup_size(WG)
fn unary_forward4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= u4.n) { return; }
  uy4[i] = unary_f4(ux4[i], u4.alpha, u4.beta);
}

@group(0) @binding(0) var<uniform> ub4: Unary;                          // n: vec4 count
@group(0) @binding(1) var<storage, read> bx4: array<vec4<f32>>;         // (n) forward input x
@group(0) @binding(2) var<storage, read> by4: array<vec4<f32>>;         // (n) forward output y
@group(0) @binding(3) var<storage, read> d_y4: array<vec4<f32>>;        // (n) upstream gradient
@group(0) @binding(4) var<storage, read_write> d_x4: array<vec4<f32>>;  // (n) gradient of x

@compute @workgroup_size(WG)
fn unary_backward4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= ub4.n) { return; }
  let x = bx4[i];
  let y = by4[i];
  let a = ub4.alpha;
  d_x4[i] = d_y4[i] * vec4<f32>(unary_df(x.x, y.x, a), unary_df(x.y, y.y, a), unary_df(x.z, y.z, a), unary_df(x.w, y.w, a));
}

fn binary_f(a: f32, b: f32) -> f32 {
  switch OP {
    case 0u: { return a + b; }
    case 1u: { return a - b; }
    case 2u: { return a * b; }
    default: { return a / b; }
  }
}

@group(0) @binding(0) var<uniform> bp: Binary;
@group(0) @binding(1) var<storage, read> ba: array<f32>;         // a, broadcast to out
@group(0) @binding(2) var<storage, read> bb: array<f32>;         // b, broadcast to out
@group(0) @binding(3) var<storage, read_write> bout: array<f32>; // (n) out

@compute @workgroup_size(WG)
fn binary_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= bp.n) { return; }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var k = i32(bp.rank) - 1; k >= 0; k--) {
    let d = bp.dims[k / 4][k % 4];
    let c = rem % d;
    rem = rem / d;
    ia += c * bp.a_strides[k / 4][k % 4];
    ib += c * bp.b_strides[k / 4][k % 4];
  }
  bout[i] = binary_f(ba[ia], bb[ib]);
}

// Block-broadcast fast path: each operand's non-broadcast axes form one contiguous block of out's
// axes, so its element for out[i] is (i / inner) % size (inner: elements of out's axes after the
// block; size: the operand's element count). Covers batch 1 against batch M (inner 1), per-position
// weights (1, L, 1) against (M, L, D) (inner D) and trailing biases, without the rank loop.
struct Tile {
  n: u32,
  a_inner: u32,
  a_size: u32,
  b_inner: u32,
  b_size: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> tp: Tile;
@group(0) @binding(1) var<storage, read> ta: array<f32>;         // a (a_size), block-broadcast to out
@group(0) @binding(2) var<storage, read> tb: array<f32>;         // b (b_size), block-broadcast to out
@group(0) @binding(3) var<storage, read_write> tout: array<f32>; // (n) out

@compute @workgroup_size(WG)
fn binary_tile(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= tp.n) { return; }
  tout[i] = binary_f(ta[(i / tp.a_inner) % tp.a_size], tb[(i / tp.b_inner) % tp.b_size]);
}

// binary_tile four elements at a time (n: vec4 count of out). Each operand is either `vec` (inner 1,
// size a multiple of 4: its vec4 j % (size / 4)) or `splat` (inner a multiple of 4: the four elements
// share one value, element ((4 j) / inner) % size). Operands are bound twice, as vec4 and as f32.
struct Tile4 {
  n: u32,
  a_inner: u32,
  a_size: u32,
  a_splat: u32,
  b_inner: u32,
  b_size: u32,
  b_splat: u32,
  _pad0: u32,
}

@group(0) @binding(0) var<uniform> t4: Tile4;
@group(0) @binding(1) var<storage, read> t4a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> t4b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> t4out: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> t4a1: array<f32>;
@group(0) @binding(5) var<storage, read> t4b1: array<f32>;

@compute @workgroup_size(WG)
fn binary_tile4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = linear_index(gid, nwg);
  if (j >= t4.n) { return; }
  var a: vec4<f32>;
  if (t4.a_splat == 1u) { a = vec4<f32>(t4a1[((4u * j) / t4.a_inner) % t4.a_size]); } else { a = t4a[j % (t4.a_size / 4u)]; }
  var b: vec4<f32>;
  if (t4.b_splat == 1u) { b = vec4<f32>(t4b1[((4u * j) / t4.b_inner) % t4.b_size]); } else { b = t4b[j % (t4.b_size / 4u)]; }
  t4out[j] = binary_f4(a, b);
}

fn binary_f4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  switch OP {
    case 0u: { return a + b; }
    case 1u: { return a - b; }
    case 2u: { return a * b; }
    default: { return a / b; }
  }
}

@group(0) @binding(0) var<uniform> f4: Unary;                           // n: vec4 count (alpha, beta unused)
@group(0) @binding(1) var<storage, read> f4a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> f4b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> f4out: array<vec4<f32>>;

// Same shape, four elements per invocation.
@compute @workgroup_size(WG)
fn binary_flat4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= f4.n) { return; }
  f4out[i] = binary_f4(f4a[i], f4b[i]);
}

// Same-shape fast path: no index arithmetic.
@compute @workgroup_size(WG)
fn binary_flat(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= bp.n) { return; }
  bout[i] = binary_f(ba[i], bb[i]);
}
