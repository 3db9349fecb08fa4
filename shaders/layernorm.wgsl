// Layer normalisation over the last axis D, y = (x - mean) * rstd * gamma + beta, and its backward.
//
// Row kernels (layernorm_forward, layernorm_backward_x) use the layout of softmax.wgsl: WG / tpr
// rows per workgroup, tpr invocations per row (a power of two in a uniform), strided loops, then a
// tree in workgroup memory. The variance is two-pass (sum of squared deviations from the mean
// already found), biased as in PyTorch. The forward saves mean and rstd per row for backward.
//
// d_gamma and d_beta are column sums over all rows, done in two stages so that both D and the rows
// spread over invocations: layernorm_param_partial gives each (column, chunk of rows) one
// invocation, adjacent invocations reading adjacent columns; layernorm_param_reduce then sums the
// chunk partials of each column.

override WG: u32 = 256;

struct Rows {
  rows: u32,  // R = product of all axes but the last
  d: u32,     // D = row length (model dim)
  tpr: u32,   // invocations per row: a power of two <= WG
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Rows;
@group(0) @binding(1) var<storage, read> x: array<f32>;             // (R, D) input
@group(0) @binding(2) var<storage, read> gamma: array<f32>;         // (D) scale
@group(0) @binding(3) var<storage, read> beta: array<f32>;          // (D) shift
@group(0) @binding(4) var<storage, read_write> y: array<f32>;       // (R, D) output
@group(0) @binding(5) var<storage, read_write> mean_out: array<f32>; // (R) row means, for backward
@group(0) @binding(6) var<storage, read_write> rstd_out: array<f32>; // (R) 1 / sqrt(var + eps), for backward

var<workgroup> red: array<vec2<f32>, WG>;

// Sums (a, b) over the tpr invocations of each row segment; every invocation of the workgroup must
// call it (it holds barriers). The trailing barrier lets the next reduction reuse `red`.
fn segment_sum2(lid: u32, lane: u32, v: vec2<f32>) -> vec2<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = p.tpr / 2u; s > 0u; s = s / 2u) {
    if (lane < s) {
      red[lid] = red[lid] + red[lid + s];
    }
    workgroupBarrier();
  }
  let r = red[lid - lane];
  workgroupBarrier();
  return r;
}

// The row this invocation serves; may be >= rows in the last workgroup (it then only joins barriers).
fn row_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * (WG / p.tpr) + lid / p.tpr;
}

@compute @workgroup_size(WG)
fn layernorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg, lid);
  let lane = lid % p.tpr;
  let live = row < p.rows;
  let base = row * p.d;
  let inv_d = 1.0 / f32(p.d);

  var s = 0.0;
  if (live) {
    for (var j = lane; j < p.d; j += p.tpr) {
      s += x[base + j];
    }
  }
  let mean = segment_sum2(lid, lane, vec2<f32>(s, 0.0)).x * inv_d;

  var ss = 0.0;
  if (live) {
    for (var j = lane; j < p.d; j += p.tpr) {
      let c = x[base + j] - mean;
      ss += c * c;
    }
  }
  let rstd = inverseSqrt(segment_sum2(lid, lane, vec2<f32>(ss, 0.0)).x * inv_d + p.eps);

  if (live) {
    for (var j = lane; j < p.d; j += p.tpr) {
      y[base + j] = (x[base + j] - mean) * rstd * gamma[j] + beta[j];
    }
    if (lane == 0u) {
      mean_out[row] = mean;
      rstd_out[row] = rstd;
    }
  }
}

// Binding 0 is `p` again: segment_sum2 and row_of read p.tpr, so every entry point shares it.
@group(0) @binding(1) var<storage, read> bx: array<f32>;          // (R, D) forward input
@group(0) @binding(2) var<storage, read> bgamma: array<f32>;      // (D)
@group(0) @binding(3) var<storage, read> bmean: array<f32>;       // (R) saved means
@group(0) @binding(4) var<storage, read> brstd: array<f32>;       // (R) saved rstd
@group(0) @binding(5) var<storage, read> d_y: array<f32>;         // (R, D) upstream gradient
@group(0) @binding(6) var<storage, read_write> d_x: array<f32>;   // (R, D) gradient of x

// With xhat = (x - mean) * rstd and g = d_y * gamma:
//   d_x = rstd * (g - mean_j(g) - xhat * mean_j(g * xhat)),
// both row means found in one pass as a vec2 reduction.
@compute @workgroup_size(WG)
fn layernorm_backward_x(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg, lid);
  let lane = lid % p.tpr;
  let live = row < p.rows;
  let base = row * p.d;

  var mean = 0.0;
  var rstd = 0.0;
  var acc = vec2<f32>(0.0, 0.0);
  if (live) {
    mean = bmean[row];
    rstd = brstd[row];
    for (var j = lane; j < p.d; j += p.tpr) {
      let g = d_y[base + j] * bgamma[j];
      acc += vec2<f32>(g, g * (bx[base + j] - mean) * rstd);
    }
  }
  let sums = segment_sum2(lid, lane, acc) / f32(p.d);

  if (live) {
    for (var j = lane; j < p.d; j += p.tpr) {
      let g = d_y[base + j] * bgamma[j];
      let xhat = (bx[base + j] - mean) * rstd;
      d_x[base + j] = rstd * (g - sums.x - xhat * sums.y);
    }
  }
}

struct Cols {
  rows: u32,    // R
  d: u32,       // D
  chunk: u32,   // rows per chunk
  chunks: u32,  // K = ceil(R / chunk)
}

@group(0) @binding(0) var<uniform> c: Cols;
@group(0) @binding(1) var<storage, read> px: array<f32>;           // (R, D) forward input
@group(0) @binding(2) var<storage, read> pmean: array<f32>;        // (R) saved means
@group(0) @binding(3) var<storage, read> prstd: array<f32>;        // (R) saved rstd
@group(0) @binding(4) var<storage, read> pd_y: array<f32>;         // (R, D) upstream gradient
@group(0) @binding(5) var<storage, read_write> partial: array<f32>; // (2, K, D) chunk sums of d_y * xhat, then of d_y

// Grid (ceil(D / WG), K): invocation (column j, chunk k) sums its chunk's rows of column j.
@compute @workgroup_size(WG)
fn layernorm_param_partial(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let k = gid.y;
  if (j >= c.d || k >= c.chunks) { return; }
  let end = min(c.rows, (k + 1u) * c.chunk);
  var acc = vec2<f32>(0.0, 0.0);
  for (var r = k * c.chunk; r < end; r++) {
    let g = pd_y[r * c.d + j];
    acc += vec2<f32>(g * (px[r * c.d + j] - pmean[r]) * prstd[r], g);
  }
  partial[k * c.d + j] = acc.x;
  partial[(c.chunks + k) * c.d + j] = acc.y;
}

@group(0) @binding(0) var<uniform> f: Cols;
@group(0) @binding(1) var<storage, read> fpartial: array<f32>;      // (2, K, D) from layernorm_param_partial
@group(0) @binding(2) var<storage, read_write> d_gamma: array<f32>; // (D)
@group(0) @binding(3) var<storage, read_write> d_beta: array<f32>;  // (D)

@compute @workgroup_size(WG)
fn layernorm_param_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * WG;
  if (j >= f.d) { return; }
  var acc = vec2<f32>(0.0, 0.0);
  for (var k = 0u; k < f.chunks; k++) {
    acc += vec2<f32>(fpartial[k * f.d + j], fpartial[(f.chunks + k) * f.d + j]);
  }
  d_gamma[j] = acc.x;
  d_beta[j] = acc.y;
}
