// Cross-entropy of logits against integer labels, PyTorch semantics, reduced to one scalar on the GPU.
//
//   ce_rows:     per row i (layout of softmax.wgsl: WG / tpr rows per workgroup, tpr invocations per
//                row), lse_i = logsumexp(logits_i) (max subtracted first) and, when label y_i counts,
//                (w[y_i] * (lse_i - logits_i[y_i]), w[y_i]); (0, 0) otherwise.
//   ce_reduce:   one workgroup sums those pairs over the rows: loss = sum_loss * norm, where norm is
//                1 / sum_w for 'mean' (0 when no row counts) and 1 for 'sum'. norm is kept for backward.
//   ce_backward: d_logits = (softmax - onehot(y)) * w[y] * norm * d_loss, one invocation per element.
//
// A label counts when it is not ignore_index and lies in [0, C). Out-of-range labels cannot be
// reported without a host round trip, so such rows contribute nothing (to the loss, the weight sum
// and the gradient); the float64 reference does the same.

override WG: u32 = 256;
// True when class weights are bound; otherwise binding 3 holds a placeholder that is never read.
override WEIGHTED: bool = false;

struct Params {
  n: u32,             // N = rows
  c: u32,             // C = classes
  tpr: u32,           // invocations per row in ce_rows: a power of two <= WG
  ignore_index: i32,
  mean: u32,          // 1: 'mean' reduction, 0: 'sum'
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

const NEG_MAX: f32 = -3.4028234663852886e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;         // (N, C)
@group(0) @binding(2) var<storage, read> labels: array<i32>;         // (N) class indices
@group(0) @binding(3) var<storage, read> weights: array<f32>;        // (C) class weights (WEIGHTED only)
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;      // (N) logsumexp per row, for backward
@group(0) @binding(5) var<storage, read_write> terms: array<vec2<f32>>; // (N) (weighted nll, weight) per row

var<workgroup> red: array<vec2<f32>, WG>;

// Whether a label enters the loss: not ignore_index and a valid class.
fn counts(y: i32) -> bool {
  return y != p.ignore_index && y >= 0 && y < i32(p.c);
}

// Combines v over the tpr invocations of each row segment: component x by max, y by sum. Every
// invocation of the workgroup must call it (it holds barriers).
fn segment_max_sum(lid: u32, lane: u32, v: vec2<f32>) -> vec2<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = p.tpr / 2u; s > 0u; s = s / 2u) {
    if (lane < s) {
      let o = red[lid + s];
      red[lid] = vec2<f32>(max(red[lid].x, o.x), red[lid].y + o.y);
    }
    workgroupBarrier();
  }
  let r = red[lid - lane];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn ce_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * (WG / p.tpr) + lid / p.tpr;
  let lane = lid % p.tpr;
  let live = row < p.n;
  let base = row * p.c;

  var m = NEG_MAX;
  if (live) {
    for (var j = lane; j < p.c; j += p.tpr) {
      m = max(m, logits[base + j]);
    }
  }
  m = segment_max_sum(lid, lane, vec2<f32>(m, 0.0)).x;

  var s = 0.0;
  if (live) {
    for (var j = lane; j < p.c; j += p.tpr) {
      s += exp(logits[base + j] - m);
    }
  }
  // Only the sum component matters here; the max component just rides along.
  let l = m + log(segment_max_sum(lid, lane, vec2<f32>(0.0, s)).y);

  if (live && lane == 0u) {
    let y = labels[row];
    var t = vec2<f32>(0.0, 0.0);
    if (counts(y)) {
      var w = 1.0;
      if (WEIGHTED) {
        w = weights[y];
      }
      t = vec2<f32>(w * (l - logits[base + u32(y)]), w);
    }
    lse[row] = l;
    terms[row] = t;
  }
}

@group(0) @binding(1) var<storage, read> rterms: array<vec2<f32>>;  // (N) from ce_rows
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;    // (1) the scalar loss
@group(0) @binding(3) var<storage, read_write> norm: array<f32>;    // (1) loss scale, for backward

// One workgroup: strided partial sums, then a tree (binding 0 is `p`, with n and mean).
@compute @workgroup_size(WG)
fn ce_reduce(@builtin(local_invocation_index) lid: u32) {
  var acc = vec2<f32>(0.0, 0.0);
  for (var i = lid; i < p.n; i += WG) {
    acc += rterms[i];
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      red[lid] = red[lid] + red[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let total = red[0];
    // PyTorch gives NaN (0 / 0) when no row counts under 'mean'; 0 keeps a training step finite.
    var k = 1.0;
    if (p.mean == 1u) {
      k = select(0.0, 1.0 / total.y, total.y != 0.0);
    }
    loss[0] = total.x * k;
    norm[0] = k;
  }
}

@group(0) @binding(1) var<storage, read> blogits: array<f32>;        // (N, C) forward input
@group(0) @binding(2) var<storage, read> blabels: array<i32>;        // (N)
@group(0) @binding(3) var<storage, read> bweights: array<f32>;       // (C) (WEIGHTED only)
@group(0) @binding(4) var<storage, read> blse: array<f32>;           // (N) saved logsumexp
@group(0) @binding(5) var<storage, read> bnorm: array<f32>;          // (1) saved loss scale
@group(0) @binding(6) var<storage, read> d_loss: array<f32>;         // (1) upstream gradient
@group(0) @binding(7) var<storage, read_write> d_logits: array<f32>; // (N, C)

@compute @workgroup_size(WG)
fn ce_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n * p.c) { return; }
  let row = i / p.c;
  let col = i % p.c;
  let y = blabels[row];
  var w = 0.0;
  if (counts(y)) {
    w = 1.0;
    if (WEIGHTED) {
      w = bweights[y];
    }
  }
  let sm = exp(blogits[i] - blse[row]);
  let onehot = select(0.0, 1.0, i32(col) == y);
  d_logits[i] = (sm - onehot) * w * bnorm[0] * d_loss[0];
}
