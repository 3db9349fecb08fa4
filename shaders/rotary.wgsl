// Rotary position embedding, non-interleaved ("rotate half"), as fair-esm's esm/rotary_embedding.py:
//   out = x * cos(emb) + rotate_half(x) * sin(emb),  rotate_half(x) = cat(-x2, x1),
// with x1 = x[..., :Dh/2], x2 = x[..., Dh/2:] and emb = cat(freqs, freqs). Per pair (x1[k], x2[k]):
//   out1 = x1 cos - x2 sin,  out2 = x2 cos + x1 sin.
//
// The cos/sin table comes from the host (float64, rounded to f32) because shader sin/cos are not
// accurate enough on every adapter (SwiftShader's sin is off by up to 2e-4).
// Backward is the inverse rotation, i.e. the same map with sin negated: sin_sign = -1.

override WG: u32 = 256;

struct Rotary {
  n: u32,         // pairs: R * L * Dh/2, R = product of the leading axes (B * H)
  l: u32,         // L
  half: u32,      // Dh / 2
  sin_sign: f32,  // +1 forward, -1 backward
}

@group(0) @binding(0) var<uniform> u: Rotary;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (R, L, Dh); d_y in backward
@group(0) @binding(2) var<storage, read> cs: array<f32>;         // (L, Dh): cos in [:, :Dh/2], sin in [:, Dh/2:]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // (R, L, Dh); d_x in backward

@compute @workgroup_size(WG)
fn rotary_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= u.n) { return; }
  let k = i % u.half;
  let row = i / u.half;          // r * L + t
  let t = row % u.l;
  let base = row * 2u * u.half;  // start of x[r, t, :]
  let c = cs[t * 2u * u.half + k];
  let s = cs[t * 2u * u.half + u.half + k] * u.sin_sign;
  let x1 = x[base + k];
  let x2 = x[base + u.half + k];
  out[base + k] = x1 * c - x2 * s;
  out[base + u.half + k] = x2 * c + x1 * s;
}
