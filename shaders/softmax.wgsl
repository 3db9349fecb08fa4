// Softmax over the last axis, with an optional key-padding mask, and its fused backward.
//
// Layout: x is seen as R rows of N. A workgroup of WG invocations serves WG / tpr rows, tpr
// invocations per row (tpr a power of two chosen by the host from N, in a uniform so one pipeline
// serves every shape). Each invocation walks its row with stride tpr; the tpr partial results are
// then combined by a tree in workgroup memory. The host aims at ~32 elements per invocation, so a
// workgroup holds several rows (N = 1024: 8 rows of 32 invocations; N = 8: 256 rows of one).
//
// Masked entries (mask == 0) are left out of the max and the sum and get probability exactly 0; a
// fully masked row is all zeros (its sum is 0, and 1 / 0 is never formed).

override WG: u32 = 256;
// True when a mask is bound; otherwise binding 2 holds a placeholder that is never read.
override MASKED: bool = false;

struct Rows {
  rows: u32,            // R = product of all axes but the last
  n: u32,               // N = row length
  tpr: u32,             // invocations per row: a power of two <= WG
  rows_per_batch: u32,  // R / B: consecutive rows that share one mask row
}

// Finite stand-in for -inf (WGSL has no infinity literal).
const NEG_MAX: f32 = -3.4028234663852886e38;

@group(0) @binding(0) var<uniform> p: Rows;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // (B, ..., N) = (R, N) scores
@group(0) @binding(2) var<storage, read> mask: array<f32>;     // (B, N) 1 keep, 0 masked (MASKED only)
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // (R, N) probabilities

var<workgroup> red: array<f32, WG>;

// Max of v over the tpr invocations of each row segment; every invocation of the workgroup must
// call it (it holds barriers). The trailing barrier lets the next reduction reuse `red`.
fn segment_max(lid: u32, lane: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = p.tpr / 2u; s > 0u; s = s / 2u) {
    if (lane < s) {
      red[lid] = max(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  let r = red[lid - lane];
  workgroupBarrier();
  return r;
}

// Sum of v over each row segment; same contract as segment_max.
fn segment_sum(lid: u32, lane: u32, v: f32) -> f32 {
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

fn kept(b: u32, j: u32) -> bool {
  if (MASKED) {
    return mask[b * p.n + j] != 0.0;
  }
  return true;
}

@compute @workgroup_size(WG)
fn softmax_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg, lid);
  let lane = lid % p.tpr;
  let live = row < p.rows;
  let base = row * p.n;
  let b = row / max(p.rows_per_batch, 1u);

  var m = NEG_MAX;
  if (live) {
    for (var j = lane; j < p.n; j += p.tpr) {
      if (kept(b, j)) {
        m = max(m, x[base + j]);
      }
    }
  }
  m = segment_max(lid, lane, m);

  // y holds the unnormalised exponentials between the two passes: one exp per element, and each
  // invocation rereads only what it wrote itself, so no barrier is needed for them.
  var s = 0.0;
  if (live) {
    for (var j = lane; j < p.n; j += p.tpr) {
      var e = 0.0;
      if (kept(b, j)) {
        e = exp(x[base + j] - m);
      }
      y[base + j] = e;
      s += e;
    }
  }
  s = segment_sum(lid, lane, s);

  let inv = select(0.0, 1.0 / s, s > 0.0);
  if (live) {
    for (var j = lane; j < p.n; j += p.tpr) {
      y[base + j] = y[base + j] * inv;
    }
  }
}

// Binding 0 is `p` again: the segment reductions read p.tpr, so both entry points share it.
@group(0) @binding(1) var<storage, read> by: array<f32>;         // (R, N) forward output
@group(0) @binding(2) var<storage, read> d_y: array<f32>;        // (R, N) upstream gradient
@group(0) @binding(3) var<storage, read_write> d_x: array<f32>;  // (R, N) gradient of the scores

// d_x = y * (d_y - sum_j(d_y * y)) per row. Masked entries have y = 0, so they get 0 without the mask.
@compute @workgroup_size(WG)
fn softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg, lid);
  let lane = lid % p.tpr;
  let live = row < p.rows;
  let base = row * p.n;

  var dot = 0.0;
  if (live) {
    for (var j = lane; j < p.n; j += p.tpr) {
      dot += d_y[base + j] * by[base + j];
    }
  }
  dot = segment_sum(lid, lane, dot);

  if (live) {
    for (var j = lane; j < p.n; j += p.tpr) {
      let yj = by[base + j];
      d_x[base + j] = yj * (d_y[base + j] - dot);
    }
  }
}
