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

// vec4 twins of the two row kernels for D a multiple of 4 (the model's D): lavapipe loads lane by
// lane, each element bounds-checked, and a vec4 load shares the per-lane part among 4 elements.
// Same bindings as above, read 4 elements per item; same sums in the same order per lane and
// component, then the components are added.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;             // (R, D / 4)
@group(0) @binding(2) var<storage, read> gamma4: array<vec4<f32>>;         // (D / 4)
@group(0) @binding(3) var<storage, read> beta4: array<vec4<f32>>;          // (D / 4)
@group(0) @binding(4) var<storage, read_write> y4: array<vec4<f32>>;       // (R, D / 4)

fn hsum(v: vec4<f32>) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

@compute @workgroup_size(WG)
fn layernorm_forward4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg, lid);
  let lane = lid % p.tpr;
  let live = row < p.rows;
  let d4 = p.d / 4u;
  let base = row * d4;
  let inv_d = 1.0 / f32(p.d);

  var s = vec4<f32>(0.0);
  if (live) {
    for (var j = lane; j < d4; j += p.tpr) {
      s += x4[base + j];
    }
  }
  let mean = segment_sum2(lid, lane, vec2<f32>(hsum(s), 0.0)).x * inv_d;

  var ss = vec4<f32>(0.0);
  if (live) {
    for (var j = lane; j < d4; j += p.tpr) {
      let c = x4[base + j] - mean;
      ss += c * c;
    }
  }
  let rstd = inverseSqrt(segment_sum2(lid, lane, vec2<f32>(hsum(ss), 0.0)).x * inv_d + p.eps);

  if (live) {
    for (var j = lane; j < d4; j += p.tpr) {
      y4[base + j] = (x4[base + j] - mean) * rstd * gamma4[j] + beta4[j];
    }
    if (lane == 0u) {
      mean_out[row] = mean;
      rstd_out[row] = rstd;
    }
  }
}

@group(0) @binding(1) var<storage, read> bx4: array<vec4<f32>>;         // (R, D / 4) forward input
@group(0) @binding(2) var<storage, read> bgamma4: array<vec4<f32>>;     // (D / 4)
@group(0) @binding(5) var<storage, read> d_y4: array<vec4<f32>>;        // (R, D / 4) upstream gradient
@group(0) @binding(6) var<storage, read_write> d_x4: array<vec4<f32>>;  // (R, D / 4) gradient of x

@compute @workgroup_size(WG)
fn layernorm_backward_x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg, lid);
  let lane = lid % p.tpr;
  let live = row < p.rows;
  let d4 = p.d / 4u;
  let base = row * d4;

  var mean = 0.0;
  var rstd = 0.0;
  var acc_g = vec4<f32>(0.0);
  var acc_gx = vec4<f32>(0.0);
  if (live) {
    mean = bmean[row];
    rstd = brstd[row];
    for (var j = lane; j < d4; j += p.tpr) {
      let g = d_y4[base + j] * bgamma4[j];
      acc_g += g;
      acc_gx += g * (bx4[base + j] - mean) * rstd;
    }
  }
  let sums = segment_sum2(lid, lane, vec2<f32>(hsum(acc_g), hsum(acc_gx))) / f32(p.d);

  if (live) {
    for (var j = lane; j < d4; j += p.tpr) {
      let g = d_y4[base + j] * bgamma4[j];
      let xhat = (bx4[base + j] - mean) * rstd;
      d_x4[base + j] = rstd * (g - sums.x - xhat * sums.y);
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
