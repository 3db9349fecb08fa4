// Optimizer kernels: the fused AdamW update, and global gradient-norm clipping.
//
// adamw_step follows torch.optim.AdamW (amsgrad off) operation by operation, in float32:
//   p = p * (1 - lr wd)                         decoupled weight decay, before the moments
//   m = m + (1 - b1) (g - m)                    torch's lerp(m, g, 1 - b1)
//   v = v b2 + (1 - b2) g g
//   p = p - step_size * (m / (sqrt(v) / sqrt(1 - b2^t) + eps)),  step_size = lr / (1 - b1^t)
// Scalars that depend only on lr and the step count are computed by the host in float64, as torch
// computes them in Python floats. Everything is updated in place: no allocation, no readback.
//
// Clipping (torch.nn.utils.clip_grad_norm_): sumsq_partial writes per-workgroup sums of g^2 of each
// gradient into its own slots of one partials buffer; norm_finish sums every slot in a fixed order
// (so the norm is reproducible) into norm = sqrt(sum); clip_scale multiplies each gradient by
// min(1, max_norm / (norm + 1e-6)) read from that buffer, so the norm never visits the host.

override WG: u32 = 256;

struct Step {
  n: u32,
  decay: f32,       // 1 - lr * weight_decay
  step_size: f32,   // lr / (1 - beta1^t)
  bc2_sqrt: f32,    // sqrt(1 - beta2^t)
  beta2: f32,
  w1: f32,          // 1 - beta1
  w2: f32,          // 1 - beta2
  eps: f32,
}

@group(0) @binding(0) var<uniform> st: Step;
@group(0) @binding(1) var<storage, read> grad: array<f32>;          // (n) a parameter's gradient, any shape
@group(0) @binding(2) var<storage, read_write> param: array<f32>;   // (n) the parameter, updated in place
@group(0) @binding(3) var<storage, read_write> m1: array<f32>;      // (n) first moment
@group(0) @binding(4) var<storage, read_write> m2: array<f32>;      // (n) second moment

@compute @workgroup_size(WG)
fn adamw_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= st.n) { return; }
  let g = grad[i];
  let p = param[i] * st.decay;
  let m = m1[i] + st.w1 * (g - m1[i]);
  let v = m2[i] * st.beta2 + st.w2 * g * g;
  m1[i] = m;
  m2[i] = v;
  param[i] = p - st.step_size * (m / (sqrt(v) / st.bc2_sqrt + st.eps));
}

// ---- gradient-norm clipping -------------------------------------------------------------------------

struct Partial {
  n: u32,      // elements of this gradient
  slot: u32,   // first slot of this gradient in the partials buffer
  slots: u32,  // workgroups (and slots) for this gradient, <= 65535
  _pad: u32,
}

@group(0) @binding(0) var<uniform> pa: Partial;
@group(0) @binding(1) var<storage, read> p_grad: array<f32>;            // (n) one gradient
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;    // (S) all gradients' slots

var<workgroup> red: array<f32, WG>;

// Tree sum of red[0..WG) into red[0] (WG a power of two). Every invocation must call it.
fn tree_sum(lid: u32) {
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn sumsq_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = wid.x * WG + lid; i < pa.n; i += pa.slots * WG) {
    let g = p_grad[i];
    acc += g * g;
  }
  red[lid] = acc;
  tree_sum(lid);
  if (lid == 0u) { partials[pa.slot + wid.x] = red[0]; }
}

struct Finish {
  count: u32,     // S: slots in use
  max_norm: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> fi: Finish;
@group(0) @binding(1) var<storage, read> f_partials: array<f32>;     // (S)
@group(0) @binding(2) var<storage, read_write> norm: array<f32>;     // (1) global L2 norm

@compute @workgroup_size(WG)
fn norm_finish(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < fi.count; i += WG) {
    acc += f_partials[i];
  }
  red[lid] = acc;
  tree_sum(lid);
  if (lid == 0u) { norm[0] = sqrt(red[0]); }
}

@group(0) @binding(0) var<uniform> sc: Finish;                      // count = n elements of this gradient
@group(0) @binding(1) var<storage, read> s_norm: array<f32>;        // (1)
@group(0) @binding(2) var<storage, read_write> s_grad: array<f32>;  // (n) one gradient, scaled in place

@compute @workgroup_size(WG)
fn clip_scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= sc.count) { return; }
  let coef = min(1.0, sc.max_norm / (s_norm[0] + 1e-6));
  s_grad[i] = s_grad[i] * coef;
}
